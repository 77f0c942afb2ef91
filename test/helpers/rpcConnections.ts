import WebSocket from "ws";
import type { ChatStreamEvent } from "../../src/shared/contract/chat.js";
import type { MardukApi } from "../../src/shared/contract/index.js";
import {
  createInMemoryTransportPair,
  createRpcClient,
  createRpcServer,
  createWebSocketTransport,
  RPC_KEY_PROTOCOL_PREFIX,
  RPC_WEBSOCKET_PROTOCOL,
  type RpcClient,
} from "../../src/shared/rpc/index.js";

/** A contract client and how to close it. */
export interface ContractConnection {
  api: RpcClient;
  close(): Promise<void>;
}

/** The contract of `api` through the in-memory transport pair. */
export function connectInMemory(api: MardukApi): ContractConnection {
  const [clientSide, serverSide] = createInMemoryTransportPair();
  const server = createRpcServer(api, serverSide);
  const client = createRpcClient(clientSide);
  return {
    api: client,
    async close() {
      client.dispose();
      server.dispose();
      clientSide.close();
    },
  };
}

/** Options of {@link openRpcSocket}. */
export interface RpcSocketOptions {
  /** Sent as the `marduk-key.<key>` sub-protocol. */
  keyProtocol?: string;
  /** Sent as `?key=`. */
  keyQuery?: string;
  headers?: Record<string, string>;
}

/** The outcome of a WebSocket handshake: open, or refused with an HTTP status. */
export type SocketOutcome = { socket: WebSocket } | { status: number; body: string };

/** Opens `ws://<server>/rpc` with the `ws` package (a real client on a real socket). */
export function openRpcSocket(serverUrl: string, options: RpcSocketOptions = {}): Promise<SocketOutcome> {
  const url = new URL("/rpc", serverUrl.replace(/^http/, "ws"));
  if (options.keyQuery !== undefined) url.searchParams.set("key", options.keyQuery);
  const protocols = [RPC_WEBSOCKET_PROTOCOL, ...(options.keyProtocol !== undefined ? [RPC_KEY_PROTOCOL_PREFIX + options.keyProtocol] : [])];
  const socket = new WebSocket(url, protocols, { headers: options.headers });
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve({ socket }));
    socket.once("unexpected-response", (_request, response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    socket.once("error", reject);
  });
}

/** The contract over a real WebSocket to a real server. */
export async function connectWebSocket(serverUrl: string, options: RpcSocketOptions = {}): Promise<ContractConnection> {
  const outcome = await openRpcSocket(serverUrl, options);
  if (!("socket" in outcome)) throw new Error(`The RPC socket was refused: HTTP ${outcome.status} ${outcome.body}`);
  const { socket } = outcome;
  const client = createRpcClient(createWebSocketTransport(socket));
  return {
    api: client,
    async close() {
      client.dispose();
      if (socket.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.close();
      });
    },
  };
}

/** Records every chat event and waits for the end of a generation. */
export function recordChat(api: MardukApi) {
  const events: ChatStreamEvent[] = [];
  const waiters = new Set<() => void>();
  const stop = api.chat.onEvent((event) => {
    events.push(event);
    for (const waiter of [...waiters]) waiter();
  });
  const waitFor = (predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (predicate()) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`Timed out waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });
  const of = (generationId: string) => events.filter((event) => event.generationId === generationId);
  return {
    events,
    stop,
    /** The generation's deltas' text, and the event that ended it (done or error). */
    async finished(generationId: string) {
      await waitFor(() => of(generationId).some((event) => event.type !== "delta"), `the end of ${generationId}`);
      const mine = of(generationId);
      const deltas = mine.flatMap((event) => (event.type === "delta" ? [event.text] : []));
      return { deltas, end: mine.find((event) => event.type !== "delta")!, events: mine };
    },
    /** Resolves at the generation's first delta. */
    firstDelta(generationId: string) {
      return waitFor(() => of(generationId).some((event) => event.type === "delta"), `a delta of ${generationId}`);
    },
  };
}
