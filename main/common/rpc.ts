/**
 * Wire format of the service contract (./api). The same messages travel over Electron IPC, a worker's
 * MessagePort and the web host's WebSocket.
 *
 * Encoding: `[u32 LE headerBytes][header: UTF-8 JSON][padding to 8][binary blobs, each 8-byte aligned]`.
 * ArrayBuffers and typed arrays anywhere in the message are moved to the binary section and replaced in the
 * JSON by `{"$blob": n, "type": "Float32Array"}`, so voxel data is never JSON-encoded.
 */
import { DelineateError, type SerializedError } from './errors';
import type { Progress } from './progress';

export type RpcMessage =
  | { t: 'req'; id: number; method: string; params: unknown }
  | { t: 'res'; id: number; result: unknown }
  | { t: 'err'; id: number; error: SerializedError }
  | { t: 'progress'; id: number; progress: Progress }
  | { t: 'cancel'; id: number }
  | { t: 'cancelled'; id: number };

const TYPED_ARRAYS = {
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  Uint8ClampedArray,
} as const;
type TypedArrayName = keyof typeof TYPED_ARRAYS;

interface BlobRef {
  $blob: number;
  type: TypedArrayName | 'ArrayBuffer';
}

function isBlobRef(v: unknown): v is BlobRef {
  return typeof v === 'object' && v !== null && typeof (v as BlobRef).$blob === 'number' && 'type' in v;
}

/** Encode a message; typed arrays and ArrayBuffers go to the binary section. */
export function encodeMessage(message: RpcMessage): ArrayBuffer {
  const blobs: Uint8Array[] = [];
  const header = JSON.stringify(message, function (this: unknown, _key: string, value: unknown) {
    if (value instanceof ArrayBuffer) {
      blobs.push(new Uint8Array(value));
      return { $blob: blobs.length - 1, type: 'ArrayBuffer' } satisfies BlobRef;
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const name = value.constructor.name as TypedArrayName;
      if (!(name in TYPED_ARRAYS)) throw new DelineateError('PROTOCOL', `Cannot encode ${name}`);
      blobs.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      return { $blob: blobs.length - 1, type: name } satisfies BlobRef;
    }
    return value;
  });
  const headerBytes = new TextEncoder().encode(header);
  const align = (n: number) => (n + 7) & ~7;
  let total = align(4 + headerBytes.length + 4 * blobs.length + 4);
  const offsets: number[] = [];
  for (const b of blobs) {
    offsets.push(total);
    total = align(total + b.byteLength);
  }
  const out = new ArrayBuffer(total);
  const view = new DataView(out);
  const bytes = new Uint8Array(out);
  view.setUint32(0, headerBytes.length, true);
  bytes.set(headerBytes, 4);
  // Blob table: count, then each blob's byte length.
  let p = 4 + headerBytes.length;
  view.setUint32(p, blobs.length, true);
  p += 4;
  blobs.forEach((b, i) => {
    view.setUint32(p + 4 * i, b.byteLength, true);
    bytes.set(b, offsets[i]!);
  });
  return out;
}

/** Decode a message made by {@link encodeMessage}. Typed arrays are views on `buffer` (no copy). */
export function decodeMessage(buffer: ArrayBuffer): RpcMessage {
  if (buffer.byteLength < 8) throw new DelineateError('PROTOCOL', 'RPC message too short');
  const view = new DataView(buffer);
  const headerLength = view.getUint32(0, true);
  if (4 + headerLength + 4 > buffer.byteLength) throw new DelineateError('PROTOCOL', 'RPC header overruns message');
  const header = new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength));
  let p = 4 + headerLength;
  const count = view.getUint32(p, true);
  p += 4;
  if (p + 4 * count > buffer.byteLength) throw new DelineateError('PROTOCOL', 'RPC blob table overruns message');
  const align = (n: number) => (n + 7) & ~7;
  let offset = align(p + 4 * count);
  const blobs: { offset: number; length: number }[] = [];
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(p + 4 * i, true);
    if (offset + length > buffer.byteLength) throw new DelineateError('PROTOCOL', 'RPC blob overruns message');
    blobs.push({ offset, length });
    offset = align(offset + length);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(header, (_key, value: unknown) => {
      if (!isBlobRef(value)) return value;
      const blob = blobs[value.$blob];
      if (!blob) throw new DelineateError('PROTOCOL', `RPC blob ${value.$blob} missing`);
      if (value.type === 'ArrayBuffer') return buffer.slice(blob.offset, blob.offset + blob.length);
      const Ctor = TYPED_ARRAYS[value.type];
      if (!Ctor) throw new DelineateError('PROTOCOL', `Unknown array type ${String(value.type)}`);
      return new Ctor(buffer, blob.offset, blob.length / Ctor.BYTES_PER_ELEMENT);
    });
  } catch (e) {
    if (e instanceof DelineateError) throw e;
    throw new DelineateError('PROTOCOL', 'RPC header is not valid JSON', { cause: e });
  }
  return validateMessage(parsed);
}

/** Check the shape of a decoded message (payload validation of the method's params happens in the dispatcher). */
export function validateMessage(m: unknown): RpcMessage {
  if (typeof m !== 'object' || m === null) throw new DelineateError('PROTOCOL', 'RPC message is not an object');
  const o = m as Record<string, unknown>;
  if (typeof o.id !== 'number' || !Number.isInteger(o.id) || o.id < 0)
    throw new DelineateError('PROTOCOL', 'RPC message has no valid id', { subject: 'id' });
  switch (o.t) {
    case 'req':
      if (typeof o.method !== 'string') throw new DelineateError('PROTOCOL', 'RPC request has no method', { subject: 'method' });
      return o as RpcMessage;
    case 'res':
    case 'err':
    case 'progress':
    case 'cancel':
    case 'cancelled':
      return o as RpcMessage;
    default:
      throw new DelineateError('PROTOCOL', `Unknown RPC message type ${JSON.stringify(o.t)}`, { subject: 't' });
  }
}

/** The routing fields of a message, read from its JSON header only (binary blobs are not touched or copied). */
export interface RpcHeader {
  t: RpcMessage['t'];
  id: number;
  /** Present on requests. */
  method?: string;
}

/**
 * Read only the routing fields of an encoded message (type, id, method) without resolving its binary blobs.
 * Used by relays (job supervisor, IPC validation) that forward the original buffer untouched.
 * Throws a PROTOCOL {@link DelineateError} for anything that is not a well-formed message header.
 */
export function peekMessage(buffer: ArrayBuffer): RpcHeader {
  if (!(buffer instanceof ArrayBuffer)) throw new DelineateError('PROTOCOL', 'RPC message is not an ArrayBuffer');
  if (buffer.byteLength < 8) throw new DelineateError('PROTOCOL', 'RPC message too short');
  const headerLength = new DataView(buffer).getUint32(0, true);
  if (4 + headerLength + 4 > buffer.byteLength) throw new DelineateError('PROTOCOL', 'RPC header overruns message');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength)));
  } catch (e) {
    throw new DelineateError('PROTOCOL', 'RPC header is not valid JSON', { cause: e });
  }
  const m = validateMessage(parsed);
  return m.t === 'req' ? { t: m.t, id: m.id, method: m.method } : { t: m.t, id: m.id };
}

/**
 * Best-effort id of a message whose header may be malformed (to address a PROTOCOL error reply to the sender).
 * Returns undefined when no id can be read.
 */
export function tryReadId(buffer: unknown): number | undefined {
  try {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 8) return undefined;
    const headerLength = new DataView(buffer).getUint32(0, true);
    if (4 + headerLength > buffer.byteLength) return undefined;
    const o = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength))) as { id?: unknown };
    return typeof o.id === 'number' && Number.isInteger(o.id) && o.id >= 0 ? o.id : undefined;
  } catch {
    return undefined;
  }
}
