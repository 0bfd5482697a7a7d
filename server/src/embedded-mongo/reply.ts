import { BSON, type Document } from "bson";
import { ErrorCodes } from "./errors.js";
import { MAX_REPLY_BYTES } from "./wire.js";

/**
 * The command's error for a reply over BSON's size limit (say, an aggregation result of 20 MB), as
 * mongod answers it: not a reason to drop the connection.
 */
export function replyTooLarge(reply: Document): Document {
  const size = BSON.calculateObjectSize(reply);
  const errmsg = `BSONObj size: ${size} (0x${size.toString(16).toUpperCase()}) is invalid. Size must be between 0 and ${MAX_REPLY_BYTES}(16MB)`;
  return { ok: 0, errmsg, code: ErrorCodes.BSONObjectTooLarge, codeName: "BSONObjectTooLarge" };
}

/**
 * A reply as the bytes of one BSON document. Encoding it is also what keeps the caller from holding
 * references into the engine's stored documents.
 */
export function replyBytes(reply: Document): Uint8Array {
  let body: Uint8Array;
  try {
    body = BSON.serialize(reply);
  } catch (err) {
    // BSON's own buffer ends a little above 16 MB: a bigger reply fails to encode at all.
    if (err instanceof RangeError || BSON.calculateObjectSize(reply) > MAX_REPLY_BYTES) return BSON.serialize(replyTooLarge(reply));
    throw err;
  }
  return body.length > MAX_REPLY_BYTES ? BSON.serialize(replyTooLarge(reply)) : body;
}
