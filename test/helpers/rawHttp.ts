import http from "node:http";
import net from "node:net";

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request with full control of the headers (fetch forbids setting Host and Origin),
 * for the security tests.
 */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? "GET", headers: options.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    if (options.body !== undefined) request.write(options.body);
    request.end();
  });
}

/** A TCP connection to a server that writes whatever it is told, byte by byte if need be. */
export interface RawConnection {
  socket: net.Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server closes the connection: what it sent, and after how long (ms since connecting). */
  closed: Promise<{ data: string; afterMs: number }>;
  /** Writes `text` one byte every `intervalMs` until it is all sent or the connection closes. */
  dribble(text: string, intervalMs: number): void;
}

/** Opens a raw connection to `url`'s host and port (for slow-client tests). */
export function rawConnection(url: string): Promise<RawConnection> {
  const target = new URL(url);
  const started = Date.now();
  const socket = net.connect(Number(target.port), target.hostname);
  let data = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (data += chunk));
  socket.on("error", () => undefined);
  const closed = new Promise<{ data: string; afterMs: number }>((resolve) => socket.once("close", () => resolve({ data, afterMs: Date.now() - started })));
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("connect", () =>
      resolve({
        socket,
        received: () => data,
        closed,
        dribble(text, intervalMs) {
          let sent = 0;
          const timer = setInterval(() => {
            if (socket.destroyed || sent >= text.length) {
              clearInterval(timer);
              return;
            }
            socket.write(text[sent++]!);
          }, intervalMs);
          socket.once("close", () => clearInterval(timer));
        },
      }),
    );
  });
}
