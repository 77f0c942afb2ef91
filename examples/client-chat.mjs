// A chat with a running Marduk Local server through the SDK:
//   npm run build:node && npx marduk-local serve   (in another terminal)
//   node examples/client-chat.mjs [model] [question]
// MARDUK_URL (default http://127.0.0.1:11435) and MARDUK_API_KEY are read from the environment.
import { LlamaCppClient, ModelNotFoundError } from "marduk-local/client";

const [model = "fixture", question = "Write one sentence about foxes."] = process.argv.slice(2);
const client = new LlamaCppClient({ baseUrl: process.env.MARDUK_URL, apiKey: process.env.MARDUK_API_KEY });
try {
  await client.initialize({ model, onProgress: (progress) => console.error(`[${progress.status}]`) });
  for await (const event of client.streamResponse({ messages: [{ role: "user", content: question }], maxTokens: 200 })) {
    if (event.type === "text") process.stdout.write(event.delta);
    if (event.type === "done") console.error(`\n[${event.response.usage?.completionTokens ?? "?"} tokens from ${event.response.provider ?? "?"}]`);
  }
} catch (error) {
  if (error instanceof ModelNotFoundError) console.error(`No model ${model}: pull one with \`marduk-local pull\` first.`);
  else console.error(error);
  process.exitCode = 1;
} finally {
  await client.cleanup();
}
