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
