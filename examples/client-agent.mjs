// The agent loop: the model calls a local tool, gets its result back and answers.
//   node examples/client-agent.mjs [model]
// MARDUK_URL (default http://127.0.0.1:11435) and MARDUK_API_KEY are read from the environment.
import { LlamaCppClient } from "marduk-local/client";

const [model = "fixture"] = process.argv.slice(2);
const client = new LlamaCppClient({ baseUrl: process.env.MARDUK_URL, apiKey: process.env.MARDUK_API_KEY });

const tools = [
  {
    name: "get_weather",
    description: "The current weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    // A real tool would call a service here; a throw would reach the model as {"error": "..."}.
    handler: async ({ city }) => ({ city, celsius: 21, sky: "clear" }),
  },
];

try {
  await client.initialize({ model });
  const result = await client.runWithTools({ messages: [{ role: "user", content: "What is the weather in Paris?" }], maxTokens: 200 }, tools, {
    maxSteps: 4,
    onStep: (step) => {
      for (const { call, content } of step.toolResults) console.error(`[step ${step.index}] ${call.name}(${call.arguments}) -> ${content}`);
    },
  });
  console.log(result.response.text);
  console.error(`[${result.steps.length} steps, stopped by ${result.stoppedBy}]`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await client.cleanup();
}
