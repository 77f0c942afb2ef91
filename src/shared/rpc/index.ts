/** The contract's transport-agnostic RPC: server, client, and the transports. */
export type * from "./protocol.js";
export { CONTRACT_MEMBERS, findContractCall, findContractEvent, type CallName, type ContractMemberRef, type EventName } from "./contractMembers.js";
export { createRpcServer, DEFAULT_MAX_SUBSCRIPTIONS, type RpcServer, type RpcServerOptions } from "./createRpcServer.js";
export { createRpcClient, type RpcClient, type RpcClientOptions } from "./createRpcClient.js";
export { RpcError, INTERNAL_ERROR_MESSAGE, parseErrorPayload, toErrorPayload } from "./rpcErrors.js";
export { parseRpcMessage } from "./parseRpcMessage.js";
export { createInMemoryTransportPair } from "./inMemoryTransport.js";
export {
  createWebSocketTransport,
  RPC_KEY_PROTOCOL_PREFIX,
  RPC_WEBSOCKET_PATH,
  RPC_WEBSOCKET_PROTOCOL,
  type WebSocketLike,
  type WebSocketTransportOptions,
} from "./webSocketTransport.js";
export { createBridgeTransport, ELECTRON_RPC_CHANNEL } from "./bridgeTransport.js";
