export { DeleteClient, RECONNECT_CODES, newClientMsgId, tokenExpiry } from "./client.js";
export type {
  CallArgs, CallOptions, ClientState, DeleteClientOptions, EventFrame, EventHandler, EventName, SeqStorage,
  WebSocketConstructor, WebSocketLike,
} from "./client.js";
export { ClientError, ClosedError, TimeoutError } from "./errors.js";
export { DeleteRest } from "./rest.js";
export type { PhotoFile, RestOptions } from "./rest.js";
export { CLOSE_CODES } from "./protocol.js";
export type * from "./protocol.js";
