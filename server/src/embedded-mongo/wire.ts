import { BSON, type Document } from "bson";

/** Opcodes of the MongoDB wire protocol that this engine speaks. */
export const OpCode = { REPLY: 1, QUERY: 2004, MSG: 2013, COMPRESSED: 2012 } as const;

const HEADER_SIZE = 16;
const MSG_FLAG_CHECKSUM_PRESENT = 1 << 0;
const MSG_FLAG_MORE_TO_COME = 1 << 1;

/** Values exactly as stored (no Long → number promotion) so documents round-trip unchanged. */
export const DESERIALIZE_OPTIONS = { promoteLongs: false, promoteValues: true, promoteBuffers: false } as const;

export interface MessageHeader {
  messageLength: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export interface IncomingCommand {
  header: MessageHeader;
  /** The command document with any OP_MSG document sequences folded in as arrays. */
  command: Document;
  /** Legacy OP_QUERY requests are answered with OP_REPLY. */
  legacy: boolean;
  /** OP_MSG moreToCome: the client expects no reply (unacknowledged write). */
  noReply: boolean;
}

export function readHeader(buf: Buffer): MessageHeader {
  return {
    messageLength: buf.readInt32LE(0),
    requestId: buf.readInt32LE(4),
    responseTo: buf.readInt32LE(8),
    opCode: buf.readInt32LE(12),
  };
}

/** Splits a growing byte stream into whole wire messages. */
export class MessageSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    const messages: Buffer[] = [];
    // Join the chunks only once a whole message has arrived: joining on every chunk made a 48 MB
    // message (some 750 socket reads) cost quadratic copying, seconds of a blocked engine.
    if (this.pending.length > 1) {
      const head = this.pending[0].length >= 4 ? this.pending[0] : Buffer.concat(this.pending, Math.min(4, this.pendingLength));
      if (head.length >= 4 && this.pendingLength < head.readInt32LE(0)) return messages;
    }
    let buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLength);
    while (buf.length >= 4) {
      const length = buf.readInt32LE(0);
      if (length < HEADER_SIZE || buf.length < length) break;
      messages.push(buf.subarray(0, length));
      buf = buf.subarray(length);
    }
    this.pending = buf.length ? [buf] : [];
    this.pendingLength = buf.length;
    return messages;
  }
}

export function parseMessage(message: Buffer): IncomingCommand {
  const header = readHeader(message);
  if (header.opCode === OpCode.MSG) return parseOpMsg(header, message);
  if (header.opCode === OpCode.QUERY) return parseOpQuery(header, message);
  throw new Error(`unsupported wire opcode ${header.opCode}`);
}

function parseOpMsg(header: MessageHeader, message: Buffer): IncomingCommand {
  const flags = message.readUInt32LE(HEADER_SIZE);
  const end = flags & MSG_FLAG_CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let offset = HEADER_SIZE + 4;
  let command: Document | undefined;
  const sequences: Record<string, Document[]> = {};
  while (offset < end) {
    const kind = message[offset];
    offset += 1;
    if (kind === 0) {
      const size = message.readInt32LE(offset);
      command = BSON.deserialize(message.subarray(offset, offset + size), DESERIALIZE_OPTIONS);
      offset += size;
    } else if (kind === 1) {
      const size = message.readInt32LE(offset);
      const sectionEnd = offset + size;
      let cursor = offset + 4;
      const idEnd = message.indexOf(0, cursor);
      const identifier = message.toString("utf8", cursor, idEnd);
      cursor = idEnd + 1;
      const docs: Document[] = [];
      while (cursor < sectionEnd) {
        const docSize = message.readInt32LE(cursor);
        if (identifier === "documents" && docSize > MAX_DOCUMENT_BYTES) {
          docs.push(new OversizedDocument(docSize) as unknown as Document);
          cursor += docSize;
          continue;
        }
        docs.push(BSON.deserialize(message.subarray(cursor, cursor + docSize), DESERIALIZE_OPTIONS));
        cursor += docSize;
      }
      sequences[identifier] = docs;
      offset = sectionEnd;
    } else {
      throw new Error(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!command) throw new Error("OP_MSG without a body section");
  for (const [identifier, docs] of Object.entries(sequences)) command[identifier] = docs;
  return { header, command, legacy: false, noReply: (flags & MSG_FLAG_MORE_TO_COME) !== 0 };
}

function parseOpQuery(header: MessageHeader, message: Buffer): IncomingCommand {
  let offset = HEADER_SIZE + 4; // flags
  const nameEnd = message.indexOf(0, offset);
  const fullCollectionName = message.toString("utf8", offset, nameEnd);
  offset = nameEnd + 1 + 8; // numberToSkip, numberToReturn
  const size = message.readInt32LE(offset);
  let query = BSON.deserialize(message.subarray(offset, offset + size), DESERIALIZE_OPTIONS);
  // Legacy drivers may wrap the command as {$query: {...}, $readPreference: ...}.
  if (query.$query && typeof query.$query === "object") query = query.$query as Document;
  const db = fullCollectionName.split(".")[0];
  return { header, command: { ...query, $db: query.$db ?? db }, legacy: true, noReply: false };
}

/** mongod's limit on one stored document. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/**
 * An inserted document over the limit, kept as its size only: decoding 16 MB only to refuse it made
 * the refusal take seconds. The insert answers it with mongod's error for that document.
 */
export class OversizedDocument {
  constructor(readonly size: number) {}
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE);
  buf.writeInt32LE(length, 0);
  buf.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  buf.writeInt32LE(responseTo, 8);
  buf.writeInt32LE(opCode, 12);
  return buf;
}

/** mongod never sends a reply document above 16 MiB + 16 KiB; drivers may refuse bigger ones. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024 + 16 * 1024;

function serializeReply(reply: Document): Uint8Array {
  const body = BSON.serialize(reply);
  if (body.length > MAX_REPLY_BYTES) throw new RangeError(`reply of ${body.length} bytes`);
  return body;
}

export function encodeOpMsgReply(responseTo: number, reply: Document): Buffer {
  const body = serializeReply(reply);
  const flagsAndKind = Buffer.alloc(5); // flags 0, section kind 0
  const length = HEADER_SIZE + flagsAndKind.length + body.length;
  return Buffer.concat([header(length, responseTo, OpCode.MSG), flagsAndKind, body], length);
}

export function encodeOpReply(responseTo: number, reply: Document): Buffer {
  const body = serializeReply(reply);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(8, 0); // responseFlags: AwaitCapable
  // cursorID (8 bytes) = 0, startingFrom = 0
  fields.writeInt32LE(1, 16); // numberReturned
  const length = HEADER_SIZE + fields.length + body.length;
  return Buffer.concat([header(length, responseTo, OpCode.REPLY), fields, body], length);
}
