/** Copy-paste examples of calling the local API, with the right base URL and model. */
export interface Snippet {
  id: "curl" | "javascript" | "python";
  label: string;
  language: string;
  code: string;
}

export interface SnippetOptions {
  /** The server's URL, e.g. http://127.0.0.1:11435 (the OpenAI base URL is this + "/v1"). */
  serverUrl: string;
  /** A model id to put in the examples. */
  modelId: string;
  /** The server needs a key: the examples read it from MARDUK_API_KEY. */
  requiresApiKey: boolean;
}

/** The OpenAI-compatible base URL of a server URL. */
export function openAiBaseUrl(serverUrl: string): string {
  return `${serverUrl.replace(/\/+$/, "")}/v1`;
}

export function buildSnippets({ serverUrl, modelId, requiresApiKey }: SnippetOptions): Snippet[] {
  const baseUrl = openAiBaseUrl(serverUrl);
  const model = JSON.stringify(modelId);
  const curlAuth = requiresApiKey ? `  -H "Authorization: Bearer $MARDUK_API_KEY" \\\n` : "";
  return [
    {
      id: "curl",
      label: "curl",
      language: "bash",
      code:
        `curl ${baseUrl}/chat/completions \\\n` +
        `  -H "Content-Type: application/json" \\\n` +
        curlAuth +
        `  -d '${JSON.stringify({ model: modelId, messages: [{ role: "user", content: "Hello!" }] })}'`,
    },
    {
      id: "javascript",
      label: "JavaScript (openai)",
      language: "javascript",
      code: [
        `import OpenAI from "openai";`,
        ``,
        `const client = new OpenAI({`,
        `  baseURL: "${baseUrl}",`,
        `  apiKey: ${requiresApiKey ? "process.env.MARDUK_API_KEY" : `"not-needed"`},`,
        `});`,
        ``,
        `const stream = await client.chat.completions.create({`,
        `  model: ${model},`,
        `  messages: [{ role: "user", content: "Hello!" }],`,
        `  stream: true,`,
        `});`,
        `for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");`,
      ].join("\n"),
    },
    {
      id: "python",
      label: "Python (openai)",
      language: "python",
      code: [
        requiresApiKey ? `import os\nfrom openai import OpenAI` : `from openai import OpenAI`,
        ``,
        `client = OpenAI(base_url="${baseUrl}", api_key=${requiresApiKey ? `os.environ["MARDUK_API_KEY"]` : `"not-needed"`})`,
        ``,
        `stream = client.chat.completions.create(`,
        `    model=${model},`,
        `    messages=[{"role": "user", "content": "Hello!"}],`,
        `    stream=True,`,
        `)`,
        `for chunk in stream:`,
        `    print(chunk.choices[0].delta.content or "", end="", flush=True)`,
      ].join("\n"),
    },
  ];
}
