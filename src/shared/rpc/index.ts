/** The contract's transport-agnostic RPC: server, client, and the transports. */
export type * from "./protocol.js";
export {
  CONTRACT_MEMBERS,
  findContractCall,
  findContractEvent,
  indexRpcMembers,
  type CallName,
  type ContractMemberRef,
  type EventName,
  type RpcMemberIndex,
  type RpcMemberRef,
  type RpcMembers,
} from "./contractMembers.js";
export { createRpcServer, createRpcServerFor, DEFAULT_MAX_SUBSCRIPTIONS, type RpcServer, type RpcServerOptions } from "./createRpcServer.js";
export { createRpcClient, createRpcClientFor, type RpcClient, type RpcClientOf, type RpcClientOptions } from "./createRpcClient.js";
export { RpcError, INTERNAL_ERROR_MESSAGE, parseErrorPayload, toErrorPayload } from "./rpcErrors.js";
export { parseRpcMessage } from "./parseRpcMessage.js";
export { createInMemoryTransportPair } from "./inMemoryTransport.js";
export {
  createWebSocketTransport,
  RPC_CLOSE_CODES,
  RPC_KEY_PROTOCOL_PREFIX,
  RPC_WEBSOCKET_PATH,
  RPC_WEBSOCKET_PROTOCOL,
  type WebSocketLike,
  type WebSocketTransportOptions,
} from "./webSocketTransport.js";
export { createBridgeTransport, ELECTRON_RPC_CHANNEL } from "./bridgeTransport.js";
export { createProcessChannelTransport, type ProcessChannelLike, type ProcessChannelTransportOptions } from "./processChannelTransport.js";
