import type { ErrorPayload } from "../errorCodes.js";

/**
 * The messages of the contract's RPC, the same over every transport.
 * `method` and `event` are `group.name`, e.g. `chat.send`, `chat.onEvent`.
 */
export type RpcMessage =
  | { type: "call"; id: number; method: string; params: unknown }
  | { type: "result"; id: number; result: unknown }
  | { type: "error"; id: number; error: ErrorPayload }
  | { type: "subscribe"; id: number; event: string }
  | { type: "unsubscribe"; id: number }
  | { type: "event"; id: number; payload: unknown };

/** Carries RPC messages between one client and one server. */
export interface RpcTransport {
  send(message: RpcMessage): void;
  /** Registers the receiver; returns a function that removes it. */
  onMessage(listener: (message: RpcMessage) => void): () => void;
  /** Called when the other side goes away. */
  onClose(listener: () => void): () => void;
  close(): void;
}

/**
 * What the Electron preload exposes on `window.marduk` through contextBridge: a message pipe
 * for the contract's RPC and nothing else (no Node, no file system, no arbitrary channels).
 */
export interface ElectronRpcBridge {
  send(message: RpcMessage): void;
  onMessage(listener: (message: RpcMessage) => void): () => void;
}
