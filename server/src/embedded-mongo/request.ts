import type { Document } from "bson";
import { parseMessage } from "./wire.js";

/** What the driver hands its connection: an OP_MSG (or, before the handshake, OP_QUERY) request. */
export interface DriverRequest {
  moreToCome: boolean;
  toBin(): Uint8Array[];
}

export interface EngineCommand {
  /** A document of the engine's own: nothing in it is shared with the caller's objects. */
  command: Document;
  /** An unacknowledged write (w: 0): run it, answer nothing. */
  noReply: boolean;
}

/**
 * The request as the engine would have received it over the socket: encoded by the driver with the
 * client's own options (toBSON, ignoreUndefined, serializeFunctions, document sequences) and decoded
 * by the engine's wire reader (oversized inserts, legacy OP_QUERY). The engine stores what it is
 * given, so it must get values the app can no longer change; this encoding is what gives it those.
 */
export function engineCommandOf(message: DriverRequest): EngineCommand {
  const { command, noReply } = parseMessage(Buffer.concat(message.toBin()));
  return { command, noReply };
}
