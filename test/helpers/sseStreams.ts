/**
 * Reads a streamed (SSE) answer to its end as text, calling `onFirstContent` once, as soon as the
 * first content delta has arrived (e.g. to kill the model's host mid-stream).
 */
export async function readStreamWith(response: Response, onFirstContent: () => void): Promise<string> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let called = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += value;
    if (!called && text.includes('"content"')) {
      called = true;
      onFirstContent();
    }
  }
}

/** The one-line conversation the model host tests send. */
export const HELLO = [{ role: "user" as const, content: "Hi" }];

/** Posts a greedy chat completion (never from the response cache: it must reach a model) and reads its JSON answer. */
export async function postChat(
  url: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: { error?: { code: string; message: string }; choices?: { message: { content: string } }[] } }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: HELLO, temperature: 0, cache: false, ...body }),
  });
  return { status: response.status, body: (await response.json()) as never };
}
