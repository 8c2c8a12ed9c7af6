/**
 * Minimal reader/writer for ONNX model files (protobuf `onnx.ModelProto`) and the load-time graph rewrites the
 * engine uses. Only the fields the rewrites touch are interpreted; every other field is kept byte for byte, so a
 * rewritten model differs from its source only where a rewrite changed it.
 *
 * Rewrites: {@link rewriteStridedConvTranspose} — 3-D kernel = stride ConvTranspose as pointwise Conv + DepthToSpace
 * (faster on the CPU, and runnable on the WebGPU provider; see its doc). {@link splitPointwiseHead} — a network whose output is produced by a final pointwise (1×1×1 or 1×1)
 * Conv (nnU-Net's segmentation head, any many-class U-Net) is cut into a *body* (everything up to the head's
 * input features) and *heads*, each the same Conv restricted to a contiguous range of output classes. The engine
 * then never needs the whole `classes × patch` output at once: onnxruntime-node always copies an output into a new
 * JS ArrayBuffer while ONNX Runtime still holds its own, so a 100-class 128³ tile otherwise costs 2 × 0.84 GB.
 * A pointwise Conv computes every output channel from the same input channels independently, so the split
 * outputs equal the unsplit ones bit for bit (checked by test/unit/inference/onnx-graph.test.ts on real
 * network exports).
 */

/** One protobuf field: number, wire type and raw value (varint as bigint, fixed as bytes, length-delimited as bytes). */
export interface PbField {
  no: number;
  wt: 0 | 1 | 2 | 5;
  /** varint (wt 0): the value; wt 1/2/5: the payload bytes (a view into the source). */
  v: bigint | Uint8Array;
}

/** A decoded protobuf message: its fields in file order. */
export type PbMessage = PbField[];

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

/** Decode one protobuf message (fields only; nested messages stay bytes until asked for). Throws on malformed input. */
export function pbDecode(buf: Uint8Array): PbMessage {
  const out: PbMessage = [];
  let p = 0;
  /** A varint as a number while it fits 49 bits (keys, lengths, dims: all of them in practice), else as a bigint. */
  const varint = (): number | bigint => {
    let r = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (p >= buf.length) throw new Error('truncated varint');
      const b = buf[p++]!;
      r += (b & 0x7f) * mul;
      if (!(b & 0x80)) return r;
      mul *= 128;
    }
    let big = BigInt(r);
    let shift = 49n;
    for (;;) {
      if (p >= buf.length) throw new Error('truncated varint');
      const b = buf[p++]!;
      big |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return big;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  };
  while (p < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wt = key & 7;
    if (wt === 0) out.push({ no, wt, v: BigInt(varint()) });
    else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (p + n > buf.length) throw new Error('truncated fixed field');
      out.push({ no, wt, v: buf.subarray(p, p + n) });
      p += n;
    } else if (wt === 2) {
      const n = Number(varint());
      if (p + n > buf.length) throw new Error('truncated length-delimited field');
      out.push({ no, wt, v: buf.subarray(p, p + n) });
      p += n;
    } else throw new Error(`unsupported wire type ${wt}`);
  }
  return out;
}

/** A length-delimited field built here whose value is a message still to be encoded (encoded once, in place). */
export interface PbNested {
  no: number;
  wt: 2;
  v: PbOut;
}

/** A message to encode: decoded fields (copied byte for byte) and nested messages built here. */
export type PbOutField = PbField | PbNested;
export type PbOut = readonly PbOutField[];

const isNested = (f: PbField | PbNested): f is PbNested => f.wt === 2 && !(f.v instanceof Uint8Array);

function varintSize(x: bigint | number): number {
  let v = typeof x === 'bigint' ? BigInt.asUintN(64, x) : x;
  let n = 1;
  if (typeof v === 'bigint') {
    while (v >= 0x80n) {
      v >>= 7n;
      n++;
    }
    return n;
  }
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(x: bigint | number, out: Uint8Array, at: number): number {
  if (typeof x === 'number' && x >= 0 && x <= Number.MAX_SAFE_INTEGER) {
    let v = x;
    while (v >= 0x80) {
      out[at++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    out[at++] = v;
    return at;
  }
  let v = BigInt.asUintN(64, BigInt(x));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out[at++] = b;
  } while (v);
  return at;
}

/** Encoded size of a message; the size of every nested message is remembered in `sizes` for the write pass. */
function measure(msg: PbOut, sizes: Map<PbOut, number>): number {
  let total = 0;
  for (const f of msg) {
    total += varintSize((f.no << 3) | f.wt);
    if (f.wt === 0) total += varintSize(f.v as bigint);
    else if (isNested(f)) {
      const n = measure(f.v, sizes);
      total += varintSize(n) + n;
    } else {
      const b = f.v as Uint8Array;
      total += (f.wt === 2 ? varintSize(b.length) : 0) + b.length;
    }
  }
  sizes.set(msg, total);
  return total;
}

function writeMessage(msg: PbOut, sizes: Map<PbOut, number>, out: Uint8Array, at: number): number {
  for (const f of msg) {
    at = writeVarint((f.no << 3) | f.wt, out, at);
    if (f.wt === 0) at = writeVarint(f.v as bigint, out, at);
    else if (isNested(f)) {
      at = writeVarint(sizes.get(f.v)!, out, at);
      at = writeMessage(f.v, sizes, out, at);
    } else {
      const b = f.v as Uint8Array;
      if (f.wt === 2) at = writeVarint(b.length, out, at);
      out.set(b, at);
      at += b.length;
    }
  }
  return at;
}

/**
 * Encode a message (the inverse of {@link pbDecode}). Nested messages built here are encoded straight into the
 * one output buffer: a rewritten 123 MB model is copied once, not once per nesting level (2 × 100 ms saved).
 */
export function pbEncode(msg: PbOut): Uint8Array {
  const sizes = new Map<PbOut, number>();
  const total = measure(msg, sizes);
  const out = new Uint8Array(total);
  const end = writeMessage(msg, sizes, out, 0);
  if (end !== total) throw new Error(`protobuf encoder wrote ${end} of ${total} bytes`);
  return out;
}

const bytesField = (no: number, v: Uint8Array | PbOut): PbField | PbNested => (v instanceof Uint8Array ? { no, wt: 2, v } : { no, wt: 2, v });
const strField = (no: number, s: string): PbField => ({ no, wt: 2, v: utf8enc.encode(s) });
const intField = (no: number, v: number | bigint): PbField => ({ no, wt: 0, v: BigInt(v) });
const fieldsOf = (m: PbMessage, no: number): PbField[] => m.filter((f) => f.no === no);
const strOf = (f: PbField): string => utf8.decode(f.v as Uint8Array);
const firstStr = (m: PbMessage, no: number): string | undefined => {
  const f = m.find((x) => x.no === no && x.wt === 2);
  return f ? strOf(f) : undefined;
};
const firstInt = (m: PbMessage, no: number): bigint | undefined => {
  const f = m.find((x) => x.no === no && x.wt === 0);
  return f ? (f.v as bigint) : undefined;
};

/** Repeated int64 field values, packed or not (signed). */
function ints(m: PbMessage, no: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fieldsOf(m, no)) {
    if (f.wt === 0) out.push(BigInt.asIntN(64, f.v as bigint));
    else if (f.wt === 2) for (const g of pbDecode(packedAsFields(f.v as Uint8Array))) out.push(BigInt.asIntN(64, g.v as bigint));
  }
  return out;
}

/** Re-key a packed varint payload as a sequence of field-1 varints so pbDecode can read it. */
function packedAsFields(payload: Uint8Array): Uint8Array {
  const out: number[] = [];
  let p = 0;
  while (p < payload.length) {
    out.push(0x08);
    let b: number;
    do {
      b = payload[p++]!;
      out.push(b);
    } while (b & 0x80 && p < payload.length);
  }
  return Uint8Array.from(out);
}

// ---- ONNX field numbers (onnx/onnx.proto3)
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const GRAPH_VALUE_INFO = 13;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTR_NAME = 1;
const ATTR_I = 3;
const ATTR_S = 4;
const ATTR_T = 5;
const ATTR_INTS = 8;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_DATA_LOCATION = 14;
const VI_NAME = 1;
const VI_TYPE = 2;
const TYPE_TENSOR = 1;
const TT_ELEM_TYPE = 1;
const TT_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const FLOAT = 1n;

/**
 * A float32 initializer: dims, its bytes as stored (little-endian float32) and its values. The values are a view
 * of the model's bytes where those are 4-byte aligned, else a copy made when first asked for; never written to.
 * Why no copies: on the 2-core VMs measured here a fresh 9 MB buffer costs 10–60 ms in page faults, and the
 * rewrite of the bench's 9 MB network copied its weights four times (60–190 ms on a first call).
 */
interface FloatInit {
  dims: number[];
  bytes: Uint8Array;
  readonly values: Float32Array;
}

function readFloatInit(t: PbMessage): FloatInit | undefined {
  if (firstInt(t, TENSOR_DATA_TYPE) !== FLOAT || firstInt(t, TENSOR_DATA_LOCATION) === 1n) return undefined;
  const dims = ints(t, TENSOR_DIMS).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const raw = t.find((f) => f.no === TENSOR_RAW_DATA);
  if (raw) {
    const bytes = raw.v as Uint8Array;
    if (bytes.length !== n * 4) return undefined;
    let values: Float32Array | undefined;
    return {
      dims,
      bytes,
      get values(): Float32Array {
        if (!values) {
          if (bytes.byteOffset % 4 === 0) values = new Float32Array(bytes.buffer, bytes.byteOffset, n);
          else {
            values = new Float32Array(n);
            new Uint8Array(values.buffer).set(bytes);
          }
        }
        return values;
      },
    };
  }
  const packed = t.filter((f) => f.no === TENSOR_FLOAT_DATA);
  const chunks: number[] = [];
  for (const f of packed) {
    const b = f.v as Uint8Array;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i + 4 <= b.length; i += 4) chunks.push(dv.getFloat32(i, true));
  }
  if (chunks.length !== n) return undefined;
  const values = Float32Array.from(chunks);
  return { dims, bytes: new Uint8Array(values.buffer), values };
}

/** A float32 TensorProto; `values` (or their little-endian bytes) are referenced, not copied: the encoder copies them once. */
function floatInit(name: string, dims: number[], values: Float32Array | Uint8Array): PbOutField[] {
  const raw = values instanceof Uint8Array ? values : new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return [...dims.map((d) => intField(TENSOR_DIMS, d)), intField(TENSOR_DATA_TYPE, FLOAT), strField(TENSOR_NAME, name), bytesField(TENSOR_RAW_DATA, raw)];
}

/** ValueInfoProto of a float tensor with the given dims (omitted dims: unknown shape). */
function floatValueInfo(name: string, dims?: readonly number[]): PbOutField[] {
  const tt: PbOutField[] = [intField(TT_ELEM_TYPE, FLOAT)];
  if (dims) tt.push(bytesField(TT_SHAPE, dims.map((d) => bytesField(SHAPE_DIM, [intField(DIM_VALUE, d)]))));
  return [strField(VI_NAME, name), bytesField(VI_TYPE, [bytesField(TYPE_TENSOR, tt)])];
}

/** The result of {@link splitPointwiseHead}. */
export interface SplitHead {
  /** The body model (graph output = the head's input features), or null when the head reads the graph input directly. */
  body: Uint8Array | null;
  /** Name of the body's output (the features), or of the graph input when `body` is null. */
  featuresName: string;
  /** Feature channels C (the head's input channels). */
  featureChannels: number;
  /** One model per class range: input `featuresName` [1, C, ...spatial], output `outputName` [1, count, ...spatial]. */
  heads: { firstClass: number; count: number; model: Uint8Array }[];
}

/**
 * Cut a model whose output `outputName` comes from a final pointwise Conv (weights [A, C, 1, 1(, 1)], group 1,
 * strides/dilations 1, no padding) into a body and heads of at most `maxClassesPerHead` classes each, sizes as
 * even as possible and never a single class (MLAS runs a one-row GEMM through its own M=1 kernel, whose sums
 * differ in the last bit from the blocked kernel's; ranges of ≥ 2 classes reproduce the whole Conv exactly).
 * `spatial` (the tile's spatial dims) makes the heads' input shape static. Returns null when the model does not
 * end that way (the engine then runs it whole) or stores its weights outside the file.
 */
export function splitPointwiseHead(model: Uint8Array, outputName: string, maxClassesPerHead: number, spatial: readonly number[]): SplitHead | null {
  const m = pbDecode(model);
  const gi = m.findIndex((f) => f.no === MODEL_GRAPH);
  if (gi < 0) return null;
  const g = pbDecode(m[gi]!.v as Uint8Array);
  const nodes = g.map((f, i) => ({ f, i })).filter(({ f }) => f.no === GRAPH_NODE).map(({ f, i }) => ({ i, n: pbDecode(f.v as Uint8Array) }));
  const head = nodes.find(({ n }) => fieldsOf(n, NODE_OUTPUT).some((o) => strOf(o) === outputName));
  if (!head) return null;
  const hn = head.n;
  if (firstStr(hn, NODE_OP_TYPE) !== 'Conv' || (firstStr(hn, NODE_DOMAIN) ?? '') !== '') return null;
  if (fieldsOf(hn, NODE_OUTPUT).length !== 1) return null;
  const ins = fieldsOf(hn, NODE_INPUT).map(strOf);
  const [xName, wName, bName] = ins;
  if (!xName || !wName) return null;
  for (const a of fieldsOf(hn, NODE_ATTRIBUTE).map((f) => pbDecode(f.v as Uint8Array))) {
    const name = firstStr(a, ATTR_NAME);
    const list = ints(a, ATTR_INTS).map(Number);
    if (name === 'group' && Number(firstInt(a, ATTR_I) ?? 1n) !== 1) return null;
    if ((name === 'kernel_shape' || name === 'strides' || name === 'dilations') && list.some((v) => v !== 1)) return null;
    if (name === 'pads' && list.some((v) => v !== 0)) return null;
    if (name === 'auto_pad') {
      const s = a.find((f) => f.no === ATTR_S);
      const mode = s ? strOf(s) : 'NOTSET';
      if (mode !== 'NOTSET' && mode !== 'VALID') return null;
    }
  }
  const inits = g.map((f, i) => ({ f, i })).filter(({ f }) => f.no === GRAPH_INITIALIZER).map(({ f, i }) => ({ i, t: pbDecode(f.v as Uint8Array) }));
  const findInit = (name: string): { i: number; t: PbMessage } | undefined => inits.find(({ t }) => firstStr(t, TENSOR_NAME) === name);
  const wInit = findInit(wName);
  const bInit = bName ? findInit(bName) : undefined;
  if (!wInit || (bName && !bInit)) return null;
  const w = readFloatInit(wInit.t);
  const b = bInit ? readFloatInit(bInit.t) : undefined;
  if (!w || (bInit && !b)) return null;
  if (w.dims.length !== spatial.length + 2 || w.dims.slice(2).some((d) => d !== 1)) return null;
  const [A, C] = w.dims as [number, number];
  if (b && (b.dims.length !== 1 || b.dims[0] !== A)) return null;
  // Other users of the head's weights would break if they were removed from the body.
  const usedElsewhere = (name: string): boolean => nodes.some(({ n, i }) => i !== head.i && fieldsOf(n, NODE_INPUT).some((x) => strOf(x) === name));
  const graphInputs = fieldsOf(g, GRAPH_INPUT).map((f) => firstStr(pbDecode(f.v as Uint8Array), VI_NAME));
  const fromInput = graphInputs.includes(xName) && !inits.some(({ t }) => firstStr(t, TENSOR_NAME) === xName);

  // ---- body: the graph without the head node (and its weights), output = the features
  let body: Uint8Array | null = null;
  if (!fromInput) {
    const drop = new Set<number>([head.i]);
    if (!usedElsewhere(wName)) drop.add(wInit.i);
    if (bInit && !usedElsewhere(bName!)) drop.add(bInit.i);
    const viOfX = g.filter((f) => f.no === GRAPH_VALUE_INFO).find((f) => firstStr(pbDecode(f.v as Uint8Array), VI_NAME) === xName);
    const bg: PbOutField[] = [];
    let outputDone = false;
    g.forEach((f, i) => {
      if (drop.has(i)) return;
      if (f.no === GRAPH_OUTPUT) {
        if (!outputDone) bg.push(viOfX ? { ...viOfX, no: GRAPH_OUTPUT } : bytesField(GRAPH_OUTPUT, floatValueInfo(xName)));
        outputDone = true;
        return;
      }
      bg.push(f);
    });
    body = pbEncode(m.map((f, i) => (i === gi ? bytesField(MODEL_GRAPH, bg) : f)));
  }

  // ---- heads: the same Conv on a class range (attributes kept as they are)
  const attrs = fieldsOf(hn, NODE_ATTRIBUTE);
  if (A < 2) return null;
  let nHeads = Math.ceil(A / Math.max(2, Math.floor(maxClassesPerHead)));
  nHeads = Math.min(nHeads, Math.floor(A / 2));
  const heads: SplitHead['heads'] = [];
  for (let h = 0, first = 0; h < nHeads; h++) {
    const count = Math.floor(A / nHeads) + (h < A % nHeads ? 1 : 0);
    const wk = w.values.subarray(first * C, (first + count) * C);
    const node: PbOutField[] = [strField(NODE_INPUT, xName), strField(NODE_INPUT, 'head_w'), ...(b ? [strField(NODE_INPUT, 'head_b')] : []), strField(NODE_OUTPUT, outputName), strField(NODE_OP_TYPE, 'Conv'), ...attrs];
    const hg: PbOutField[] = [
      bytesField(GRAPH_NODE, node),
      strField(2, 'pointwise_head'),
      bytesField(GRAPH_INITIALIZER, floatInit('head_w', [count, C, ...w.dims.slice(2)], wk)),
      ...(b ? [bytesField(GRAPH_INITIALIZER, floatInit('head_b', [count], b.values.subarray(first, first + count)))] : []),
      bytesField(GRAPH_INPUT, floatValueInfo(xName, [1, C, ...spatial])),
      bytesField(GRAPH_OUTPUT, floatValueInfo(outputName, [1, count, ...spatial])),
    ];
    heads.push({ firstClass: first, count, model: pbEncode(m.map((f, i) => (i === gi ? bytesField(MODEL_GRAPH, hg) : f))) });
    first += count;
  }
  return { body, featuresName: xName, featureChannels: C, heads };
}

// ---- ConvTranspose with kernel = stride → pointwise Conv + DepthToSpace

const int64Init = (name: string, values: readonly number[]): PbOutField[] => {
  const raw = new Uint8Array(values.length * 8);
  const dv = new DataView(raw.buffer);
  values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
  return [intField(TENSOR_DIMS, values.length), intField(TENSOR_DATA_TYPE, 7), strField(TENSOR_NAME, name), bytesField(TENSOR_RAW_DATA, raw)];
};
const node = (op: string, inputs: readonly string[], outputs: readonly string[], attrs: PbOutField[][] = []): PbOutField[] => [
  ...inputs.map((i) => strField(NODE_INPUT, i)),
  ...outputs.map((o) => strField(NODE_OUTPUT, o)),
  strField(NODE_OP_TYPE, op),
  ...attrs.map((a) => bytesField(NODE_ATTRIBUTE, a)),
];
const ATTR_TYPE = 20;
const attrInt = (name: string, v: number): PbOutField[] => [strField(ATTR_NAME, name), intField(ATTR_I, v), intField(ATTR_TYPE, 2)];
const attrInts = (name: string, vs: readonly number[]): PbOutField[] => [strField(ATTR_NAME, name), ...vs.map((v) => intField(ATTR_INTS, v)), intField(ATTR_TYPE, 7)];

/**
 * Rewrite every 3-D ConvTranspose whose kernel equals its stride (in-plane 2×2, through-plane 1 or 2; no padding,
 * dilation, output padding or groups — nnU-Net's and most U-Nets' upsampling) into pointwise Convs + DepthToSpace
 * + Reshapes. Why: ONNX Runtime's CPU ConvTranspose is a GEMM followed by a scalar col2im on one thread (78 ms of a
 * 600 ms pass of the bench's PlainConvUNet on one thread, 75 ms with two), while the same arithmetic as a pointwise
 * Conv is a plain GEMM and the interleave is one DepthToSpace copy (≈ 20 ms in all). Each output value is the same
 * single GEMM dot product over the input channels plus the bias, so the outputs are identical bit for bit (checked
 * in test/unit/inference/onnx-graph.test.ts). Spatial sizes come from Shape ops (ONNX Runtime folds them for static
 * inputs), so dynamic-shape exports work too. Returns null when no node qualifies or weights are external.
 *
 * Layout: input X [N, Cin, D, H, W], weights [Cin, Co, kd, 2, 2]. A pointwise Conv per through-plane offset dz
 * produces 4·Co channels ordered (dy, dx, co) (DepthToSpace's default DCR order); on [N, 4Co, D·H, W] DepthToSpace(2) yields
 * [N, Co, 2·D·H, 2W] = rows d·2H + 2h + dy. For kd = 2 the two dz results are stacked as [N, Co, D, 2, 4HW] and
 * reshaped to [N, Co, 2D, 2H, 2W].
 */
export function rewriteStridedConvTranspose(model: Uint8Array): { model: Uint8Array; rewritten: number } | null {
  const m = pbDecode(model);
  const gi = m.findIndex((f) => f.no === MODEL_GRAPH);
  if (gi < 0) return null;
  const g = pbDecode(m[gi]!.v as Uint8Array);
  const inits = new Map<string, { i: number; t: PbMessage }>();
  g.forEach((f, i) => {
    if (f.no !== GRAPH_INITIALIZER) return;
    const t = pbDecode(f.v as Uint8Array);
    const name = firstStr(t, TENSOR_NAME);
    if (name !== undefined) inits.set(name, { i, t });
  });
  const graphInputs = new Set(fieldsOf(g, GRAPH_INPUT).map((f) => firstStr(pbDecode(f.v as Uint8Array), VI_NAME)));
  const uses = new Map<string, number>();
  const nodes = g.map((f, i) => ({ f, i })).filter(({ f }) => f.no === GRAPH_NODE).map(({ f, i }) => ({ f, i, n: pbDecode(f.v as Uint8Array) }));
  for (const { n } of nodes) for (const x of fieldsOf(n, NODE_INPUT)) uses.set(strOf(x), (uses.get(strOf(x)) ?? 0) + 1);

  const replace = new Map<number, PbOutField[]>();
  const dropInit = new Set<number>();
  const addInits: PbOutField[] = [];
  let k = 0;
  for (const { i, n } of nodes) {
    if (firstStr(n, NODE_OP_TYPE) !== 'ConvTranspose' || (firstStr(n, NODE_DOMAIN) ?? '') !== '') continue;
    const [xName, wName, bName] = fieldsOf(n, NODE_INPUT).map(strOf);
    const outs = fieldsOf(n, NODE_OUTPUT).map(strOf);
    if (!xName || !wName || outs.length !== 1) continue;
    const wInit = inits.get(wName);
    const bInit = bName ? inits.get(bName) : undefined;
    if (!wInit || (bName && !bInit)) continue;
    const w = readFloatInit(wInit.t);
    const b = bInit ? readFloatInit(bInit.t) : undefined;
    if (!w || (bInit && !b)) continue;
    // 3-D only: a 2-D pointwise Conv gets ONNX Runtime's NCHWc kernels, whose sums differ in the last bit, and 2-D
    // ConvTranspose is not slow (bundled 2d model: 20.9 vs 21.3 ms per 160² tile, one thread).
    const rank = w.dims.length - 2;
    if (rank !== 3) continue;
    const kernel = w.dims.slice(2);
    let ok = kernel[2] === 2 && kernel[1] === 2 && (kernel[0] === 1 || kernel[0] === 2);
    for (const a of fieldsOf(n, NODE_ATTRIBUTE).map((f) => pbDecode(f.v as Uint8Array))) {
      const name = firstStr(a, ATTR_NAME);
      const list = ints(a, ATTR_INTS).map(Number);
      if (name === 'group' && Number(firstInt(a, ATTR_I) ?? 1n) !== 1) ok = false;
      else if (name === 'strides' && list.some((s, d) => s !== kernel[d])) ok = false;
      else if (name === 'kernel_shape' && list.some((s, d) => s !== kernel[d])) ok = false;
      else if (name === 'dilations' && list.some((v) => v !== 1)) ok = false;
      else if ((name === 'pads' || name === 'output_padding') && list.some((v) => v !== 0)) ok = false;
      else if (name === 'output_shape') ok = false;
      else if (name === 'auto_pad') {
        const s = a.find((f) => f.no === ATTR_S);
        const mode = s ? strOf(s) : 'NOTSET';
        if (mode !== 'NOTSET' && mode !== 'VALID') ok = false;
      }
    }
    // Strides must be given (default 1 would mean an overlapping kernel, not handled here).
    if (!fieldsOf(n, NODE_ATTRIBUTE).some((f) => firstStr(pbDecode(f.v as Uint8Array), ATTR_NAME) === 'strides')) ok = false;
    if (!ok) continue;
    const [Cin, Co] = w.dims as [number, number];
    if (b && (b.dims.length !== 1 || b.dims[0] !== Co)) continue;
    const kd = kernel[0]!;
    const p = `__ct${k++}_`;
    const out: PbOutField[] = [];
    const emit = (op: string, inputs: string[], outputs: string[], attrs: PbOutField[][] = []): void => void out.push(bytesField(GRAPH_NODE, node(op, inputs, outputs, attrs)));
    const pwKernel = [1, 1, 1];
    const bias4 = b ? new Float32Array(4 * Co) : undefined;
    if (b && bias4) for (let q = 0; q < 4; q++) bias4.set(b.values, q * Co);
    if (bias4) addInits.push(bytesField(GRAPH_INITIALIZER, floatInit(`${p}b`, [4 * Co], bias4)));
    const kHW = 4;
    const parts: string[] = [];
    for (let dz = 0; dz < kd; dz++) {
      // Pointwise weights [4·Co, Cin, 1, 1(, 1)], row (dy·2 + dx)·Co + co = W[ci, co, dz, dy, dx].
      const pw = new Float32Array(4 * Co * Cin);
      for (let ci = 0; ci < Cin; ci++)
        for (let co = 0; co < Co; co++)
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++) pw[((dy * 2 + dx) * Co + co) * Cin + ci] = w.values[(((ci * Co + co) * kd + dz) * 2 + dy) * 2 + dx]!;
      addInits.push(bytesField(GRAPH_INITIALIZER, floatInit(`${p}w${dz}`, [4 * Co, Cin, ...pwKernel], pw)));
      emit('Conv', [xName, `${p}w${dz}`, ...(bias4 ? [`${p}b`] : [])], [`${p}pw${dz}`], [attrInts('kernel_shape', pwKernel)]);
      parts.push(`${p}pw${dz}`);
    }
    {
      // Sizes from the input's shape: N, D, H, W (folded to constants by ONNX Runtime for static inputs).
      emit('Shape', [xName], [`${p}s`]);
      const slice1 = (name: string, at: number): void => {
        addInits.push(bytesField(GRAPH_INITIALIZER, int64Init(`${p}i${at}`, [at])));
        emit('Gather', [`${p}s`, `${p}i${at}`], [name], [attrInt('axis', 0)]);
      };
      slice1(`${p}N`, 0);
      slice1(`${p}D`, 2);
      slice1(`${p}H`, 3);
      slice1(`${p}W`, 4);
      const c = (name: string, v: number): string => {
        addInits.push(bytesField(GRAPH_INITIALIZER, int64Init(`${p}${name}`, [v])));
        return `${p}${name}`;
      };
      const c4Co = c('c4Co', kHW * Co);
      const cCo = c('cCo', Co);
      const c1 = c('c1', 1);
      const c2 = c('c2', 2);
      emit('Mul', [`${p}D`, `${p}H`], [`${p}DH`]);
      emit('Concat', [`${p}N`, c4Co, `${p}DH`, `${p}W`], [`${p}shape4`], [attrInt('axis', 0)]);
      if (kd === 2) {
        const c4 = c('c4', 4);
        emit('Mul', [`${p}H`, `${p}W`], [`${p}HW`]);
        emit('Mul', [`${p}HW`, c4], [`${p}HW4`]);
        emit('Concat', [`${p}N`, cCo, `${p}D`, c1, `${p}HW4`], [`${p}shapeStack`], [attrInt('axis', 0)]);
      }
      const d2s: string[] = [];
      parts.forEach((part, dz) => {
        emit('Reshape', [part, `${p}shape4`], [`${part}_r`]);
        emit('DepthToSpace', [`${part}_r`], [`${part}_d2s`], [attrInt('blocksize', 2)]);
        d2s.push(`${part}_d2s`);
        if (kd === 2) {
          emit('Reshape', [`${part}_d2s`, `${p}shapeStack`], [`${part}_st`]);
          d2s[dz] = `${part}_st`;
        }
      });
      emit('Mul', [`${p}D`, kd === 2 ? c2 : c1], [`${p}Dout`]);
      emit('Mul', [`${p}H`, c2], [`${p}Hout`]);
      emit('Mul', [`${p}W`, c2], [`${p}Wout`]);
      emit('Concat', [`${p}N`, cCo, `${p}Dout`, `${p}Hout`, `${p}Wout`], [`${p}shape5`], [attrInt('axis', 0)]);
      if (kd === 2) {
        emit('Concat', d2s, [`${p}stacked`], [attrInt('axis', 3)]);
        emit('Reshape', [`${p}stacked`, `${p}shape5`], outs);
      } else emit('Reshape', [d2s[0]!, `${p}shape5`], outs);
    }
    replace.set(i, out);
    for (const [name, init] of [
      [wName, wInit],
      [bName, bInit],
    ] as const)
      // Only weights nothing else reads: not another node's input, not a graph input (keep_initializers_as_inputs).
      if (name && init && uses.get(name) === 1 && !graphInputs.has(name)) dropInit.add(init.i);
  }
  if (!replace.size) return null;
  const ng: PbOutField[] = [];
  g.forEach((f, i) => {
    if (dropInit.has(i)) return;
    const r = replace.get(i);
    if (r) ng.push(...r);
    else ng.push(f);
  });
  // New initializers go after the last node (any position is valid protobuf; ONNX readers do not depend on order).
  ng.push(...addInits);
  return { model: pbEncode(m.map((f, i) => (i === gi ? bytesField(MODEL_GRAPH, ng) : f))), rewritten: replace.size };
}

// ---- 3-D network as 2-D convolutions over its depth slices ("depth as batch")

const MODEL_OPSET_IMPORT = 8;
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;

/** Elementwise ops with one activation input whose attributes mean the same in any layout. */
const DEPTH_BATCH_UNARY = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus', 'Softsign', 'Gelu',
  'Mish', 'ThresholdedRelu', 'Identity', 'Dropout', 'Clip', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Erf',
]);
/** Ops run as exported on the activation transposed back (see rewriteDepthAsBatch): 5-D in, 5-D out, batch 1. */
const DEPTH_BATCH_AS_EXPORTED = new Set(['AveragePool', 'MaxPool', 'Resize', 'Upsample']);
/** Elementwise ops over activations of one shape (residual sums, gates), or an activation and a scalar constant. */
const DEPTH_BATCH_NARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean']);

/** The result of {@link rewriteDepthAsBatch}: the rewritten model and how many convolutions it turned 2-D, or why not. */
export type DepthAsBatch = { model: Uint8Array; convs: number; reason?: undefined } | { model: null; convs?: undefined; reason: string };

/** Attributes of a node by name (decoded AttributeProto messages). */
function attrsOf(n: PbMessage): Map<string, PbMessage> {
  const out = new Map<string, PbMessage>();
  for (const f of fieldsOf(n, NODE_ATTRIBUTE)) {
    const a = pbDecode(f.v as Uint8Array);
    const name = firstStr(a, ATTR_NAME);
    if (name !== undefined) out.set(name, a);
  }
  return out;
}

/**
 * Rewrite a 3-D convolutional network (input [1, C, D, H, W]) so that ONNX Runtime's CPU provider runs every
 * convolution as a 2-D convolution over the depth slices, which it executes with MLAS's blocked (NCHWc) direct
 * kernels instead of the im2col + GEMM path it has for 3-D: activations are kept as [D, C, H, W] ("depth as
 * batch"); a Conv with a 1×k×k kernel is one 2-D Conv; a kd×k×k kernel is kd 2-D Convs, one per depth tap, on the
 * input shifted along depth (a Pad with negative pads; a Slice with step for depth strides), summed (ONNX Runtime
 * fuses the sums into the convolutions); a ConvTranspose whose depth kernel equals its depth stride is one 2-D
 * ConvTranspose whose kd output-channel groups become depth slices by a Reshape; InstanceNormalization over
 * (D, H, W) is BatchNormalization in training mode over (batch = D, H, W) — the same per-channel mean and biased
 * variance. Measured on the bench's PlainConvUNet (16…96, patch 24×128×128, one thread): 735 → 466 ms per pass
 * (PyTorch 2.15: ≈ 720 ms); nnU-Net's default widths (32…320): 2.40 → 1.74 s; two threads 418 → 300 ms.
 *
 * The arithmetic is the same, summed in another order: logits differ by float32 rounding (≈ 1e-5 of their
 * range). A final pointwise Conv producing a graph output (a segmentation head) stays a 3-D Conv on the features
 * transposed back, so that {@link splitPointwiseHead} still finds it and its split heads equal the whole head bit
 * for bit. Graph outputs are transposed back to [1, C, D, H, W].
 *
 * Returns `{ model: null, reason }` (the model then runs as it is; the engine logs the reason) unless every node is
 * one this rewrite maps: Conv / ConvTranspose
 * with float weights stored in the file (group 1, dilation 1, no auto_pad; a 1-deep kernel may have a depth stride,
 * as the strided 1×1×1 skips of residual encoders), InstanceNormalization, the elementwise ops above, Concat and
 * (Log)Softmax on a non-batch axis, Constant nodes, and pooling / Resize (run as exported on the activation
 * transposed back: nnU-Net's ResEnc skips, max-pooling encoders); one rank-5 graph input; default-domain opset ≥ 13
 * (raised to 14 when 13, for BatchNormalization's training mode). Batch size must be 1 at run time (the engine's
 * tiles). A network whose only convolution is such a head is left as it is. Also measured, one thread,
 * 24×128×128: nnU-Net's ResidualEncoderUNet (16…96) 956 → 657 ms, MONAI's DynUNet with residual blocks 769 →
 * 573 ms (outputs within 2e-6 / 6e-6 of the exported graph's).
 */
export function rewriteDepthAsBatch(model: Uint8Array): DepthAsBatch {
  const no = (reason: string): DepthAsBatch => ({ model: null, reason });
  const m = pbDecode(model);
  const gi = m.findIndex((f) => f.no === MODEL_GRAPH);
  if (gi < 0) return no('no graph');
  let opsetAt = -1;
  let opset = 0;
  m.forEach((f, i) => {
    if (f.no !== MODEL_OPSET_IMPORT) return;
    const o = pbDecode(f.v as Uint8Array);
    if ((firstStr(o, OPSET_DOMAIN) ?? '') === '' || firstStr(o, OPSET_DOMAIN) === 'ai.onnx') {
      opsetAt = i;
      opset = Number(firstInt(o, OPSET_VERSION) ?? 0n);
    }
  });
  if (opsetAt < 0 || opset < 13) return no(`opset ${opset} (13 or later needed)`);
  const g = pbDecode(m[gi]!.v as Uint8Array);
  const inits = new Map<string, PbMessage>();
  for (const f of fieldsOf(g, GRAPH_INITIALIZER)) {
    const t = pbDecode(f.v as Uint8Array);
    const name = firstStr(t, TENSOR_NAME);
    if (name !== undefined) inits.set(name, t);
  }
  const allInputs = fieldsOf(g, GRAPH_INPUT).map((f) => pbDecode(f.v as Uint8Array));
  /** Initializers also listed as graph inputs (keep_initializers_as_inputs): overridable, so never constant-folded. */
  const initsAsInputs = new Set(allInputs.map((vi) => firstStr(vi, VI_NAME) ?? '').filter((name) => inits.has(name)));
  const inputs = allInputs.filter((vi) => !inits.has(firstStr(vi, VI_NAME) ?? ''));
  if (inputs.length !== 1) return no(`${inputs.length} graph inputs`);
  const inputName = firstStr(inputs[0]!, VI_NAME)!;
  {
    // Rank 5 by the declared type (a tensor type with a shape of 5 dims).
    const type = inputs[0]!.find((f) => f.no === VI_TYPE);
    const tensor = type ? pbDecode(type.v as Uint8Array).find((f) => f.no === TYPE_TENSOR) : undefined;
    const shape = tensor ? pbDecode(tensor.v as Uint8Array).find((f) => f.no === TT_SHAPE) : undefined;
    if (!shape || fieldsOf(pbDecode(shape.v as Uint8Array), SHAPE_DIM).length !== 5) return no('input is not rank 5');
  }
  const outputNames = fieldsOf(g, GRAPH_OUTPUT).map((f) => firstStr(pbDecode(f.v as Uint8Array), VI_NAME) ?? '');
  if (!outputNames.length || outputNames.includes(inputName)) return no('no graph output computed from the input');
  const nodes = fieldsOf(g, GRAPH_NODE).map((f) => pbDecode(f.v as Uint8Array));
  const consumed = new Set(nodes.flatMap((n) => fieldsOf(n, NODE_INPUT).map(strOf)));

  const out: PbOutField[] = [];
  const addInits: PbOutField[] = [];
  const emit = (op: string, ins: string[], outs: string[], attrs: PbOutField[][] = []): void => void out.push(bytesField(GRAPH_NODE, node(op, ins, outs, attrs)));
  let k = 0;
  const fresh = (what: string): string => `__db${k++}_${what}`;
  const i64 = (values: readonly number[]): string => {
    const name = fresh('c');
    addInits.push(bytesField(GRAPH_INITIALIZER, int64Init(name, values)));
    return name;
  };
  const i64Scalar = (value: number): string => {
    const name = fresh('c');
    const raw = new Uint8Array(8);
    new DataView(raw.buffer).setBigInt64(0, BigInt(value), true);
    // No dims: a scalar (Gather with a scalar index drops the axis).
    addInits.push(bytesField(GRAPH_INITIALIZER, [intField(TENSOR_DATA_TYPE, 7), strField(TENSOR_NAME, name), bytesField(TENSOR_RAW_DATA, raw)]));
    return name;
  };
  const f32 = (dims: number[], values: Float32Array | Uint8Array): string => {
    const name = fresh('w');
    addInits.push(bytesField(GRAPH_INITIALIZER, floatInit(name, dims, values)));
    return name;
  };
  /** Original tensor name → its [D, C, H, W] counterpart. */
  const dm = new Map<string, string>();
  const back = new Map<string, string>();
  /** A depth-major tensor transposed back to [1, C, D, H, W] (once per tensor), named `as` when given. */
  const toNcdhw = (name: string, as?: string): string => {
    const cached = back.get(name);
    if (cached && !as) return cached;
    const t = fresh('t');
    const r = as ?? fresh('ncdhw');
    emit('Transpose', [name], [t], [attrInts('perm', [1, 0, 2, 3])]);
    emit('Unsqueeze', [t, i64([0])], [r]);
    if (!as) back.set(name, r);
    return r;
  };
  {
    const s = fresh('c_dhw');
    const d = fresh('in');
    emit('Squeeze', [inputName, i64([0])], [s]);
    emit('Transpose', [s], [d], [attrInts('perm', [1, 0, 2, 3])]);
    dm.set(inputName, d);
  }
  /** A 5-D axis as the depth-major axis (batch axis 0 cannot be mapped). */
  const axis4 = (a: number): number | undefined => [undefined, 1, 0, 2, 3][a < 0 ? a + 5 : a];
  /** A constant input usable in any layout: a float initializer of one element (or an omitted optional input). */
  const isScalarConst = (name: string): boolean => {
    if (name === '') return true;
    const t = inits.get(name);
    return !!t && ints(t, TENSOR_DIMS).every((d) => d === 1n);
  };
  let convs = 0;
  /** Graph outputs computed by a head kept 3-D (already [1, C, D, H, W]). */
  const headOutputs = new Set<string>();
  for (const n of nodes) {
    const op = firstStr(n, NODE_OP_TYPE) ?? '';
    if ((firstStr(n, NODE_DOMAIN) ?? '') !== '') return no(`${op} of domain ${firstStr(n, NODE_DOMAIN)}`);
    const ins = fieldsOf(n, NODE_INPUT).map(strOf);
    const outs = fieldsOf(n, NODE_OUTPUT).map(strOf);
    const attrs = attrsOf(n);
    const attrList = fieldsOf(n, NODE_ATTRIBUTE);
    if (op === 'Constant' && ins.length === 0 && outs.length === 1) {
      // A Constant node (MONAI's exports have them for scalars and shapes): kept; its tensor counts as an initializer.
      out.push(bytesField(GRAPH_NODE, n));
      const value = attrs.get('value')?.find((f) => f.no === ATTR_T);
      if (value) inits.set(outs[0]!, pbDecode(value.v as Uint8Array));
      continue;
    }
    if (ins.every((i) => i === '' || inits.has(i)) && !ins.every((i) => i === '')) {
      // A node on constants only (torch exports pass shared weights through Identity): kept as it is.
      out.push(bytesField(GRAPH_NODE, n));
      if (op === 'Identity' && outs.length === 1) {
        inits.set(outs[0]!, inits.get(ins[0]!)!);
        if (initsAsInputs.has(ins[0]!)) initsAsInputs.add(outs[0]!);
      }
      continue;
    }
    // The activation input (for elementwise n-ary ops, whichever operand is one: Sub(constant, x) is fine too).
    const x = dm.get(ins[0] ?? '') ?? (DEPTH_BATCH_NARY.has(op) ? ins.map((i) => dm.get(i)).find((v) => v !== undefined) : undefined);
    if (!x || outs.length === 0) return no(`${op} does not read an activation first`);
    const intsAttr = (name: string): number[] | undefined => {
      const a = attrs.get(name);
      return a ? ints(a, ATTR_INTS).map(Number) : undefined;
    };
    const intAttr = (name: string): number | undefined => {
      const a = attrs.get(name);
      return a ? Number(firstInt(a, ATTR_I) ?? 0n) : undefined;
    };
    const autoPad = attrs.get('auto_pad');
    if (autoPad) {
      const s = autoPad.find((f) => f.no === ATTR_S);
      const mode = s ? strOf(s) : 'NOTSET';
      if (mode !== 'NOTSET' && mode !== 'VALID') return no(`${op} auto_pad ${mode}`);
    }
    const result = fresh(op);
    if (op === 'Conv' || op === 'ConvTranspose') {
      const wName = ins[1] ?? '';
      const bName = ins[2] ?? '';
      const wInit = inits.get(wName);
      const w = wInit ? readFloatInit(wInit) : undefined;
      if (!w || w.dims.length !== 5 || outs.length !== 1) return no(`${op} without 3-D float weights in the file`);
      if ((intAttr('group') ?? 1) !== 1 || (intsAttr('dilations') ?? [1, 1, 1]).some((v) => v !== 1)) return no(`${op} with groups or dilation`);
      const kernel = w.dims.slice(2) as [number, number, number];
      const ks = intsAttr('kernel_shape');
      if (ks && ks.some((v, d) => v !== kernel[d])) return no(`${op} kernel_shape ≠ weights`);
      const strides = intsAttr('strides') ?? [1, 1, 1];
      const pads = intsAttr('pads') ?? [0, 0, 0, 0, 0, 0];
      if (strides.length !== 3 || pads.length !== 6) return no(`${op} strides/pads`);
      const [kd, kh, kw] = kernel;
      const inPlane = [attrInts('kernel_shape', [kh, kw]), attrInts('strides', strides.slice(1)), attrInts('pads', [pads[1]!, pads[2]!, pads[4]!, pads[5]!])];
      if (op === 'Conv') {
        const [Co, Ci] = w.dims as [number, number];
        if (outputNames.includes(outs[0]!) && !consumed.has(outs[0]!) && kernel.every((v) => v === 1) && strides.every((v) => v === 1) && pads.every((v) => v === 0)) {
          // The segmentation head: kept 3-D (see the doc above), on the features transposed back.
          const features = toNcdhw(x);
          out.push(bytesField(GRAPH_NODE, n.map((f) => (f.no === NODE_INPUT && strOf(f) === ins[0] ? strField(NODE_INPUT, features) : f))));
          headOutputs.add(outs[0]!);
          continue;
        }
        const [sd] = strides as [number];
        const [pdb, , , pde] = pads as [number, number, number, number];
        const bias = bName ? [bName] : [];
        if (kd === 1) {
          if (pdb !== 0 || pde !== 0) return no('Conv with depth kernel 1 and depth padding');
          let input = x;
          if (sd !== 1) {
            // Depth stride of a 1-deep kernel (residual blocks' strided 1×1×1 skips): every sd-th slice.
            input = fresh('every');
            emit('Slice', [x, i64([0]), i64([Number.MAX_SAFE_INTEGER]), i64([0]), i64([sd])], [input]);
          }
          emit('Conv', [input, f32([Co, Ci, kh, kw], w.bytes), ...bias], [result], inPlane);
        } else {
          // Tap j reads input depth d·sd + j − pdb for output depth d.
          let padded: string | undefined;
          let sum: string | undefined;
          for (let j = 0; j < kd; j++) {
            let tap: string;
            if (sd === 1) {
              // Output depth count D + pdb + pde − kd + 1: pad (or crop, negative) pdb − j before, pde − kd + 1 + j after.
              const before = pdb - j;
              const after = pde - kd + 1 + j;
              if (before === 0 && after === 0) tap = x;
              else {
                tap = fresh('tap');
                emit('Pad', [x, i64([before, 0, 0, 0, after, 0, 0, 0])], [tap]);
              }
            } else {
              if (!padded) {
                padded = fresh('pad');
                emit('Pad', [x, i64([pdb, 0, 0, 0, pde, 0, 0, 0])], [padded]);
              }
              tap = fresh('tap');
              // Depths j, j + sd, … ≤ Dp − kd + j: end (exclusive) Dp − (kd − 1 − j), as an end relative to Dp.
              const end = j === kd - 1 ? Number.MAX_SAFE_INTEGER : -(kd - 1 - j);
              emit('Slice', [padded, i64([j]), i64([end]), i64([0]), i64([sd])], [tap]);
            }
            const c = fresh('conv');
            // W[:, :, j] by a Gather on the original weights, which ONNX Runtime folds into a constant when the
            // session is made (in C++, before its NCHWc layout pass): slicing them here cost 20–40 ms of this
            // thread on a first call (fresh buffers and cold loops) for the bench's 9 MB network.
            let wj: string;
            if (initsAsInputs.has(wName)) {
              // Weights ONNX Runtime may not fold (a graph input could override them): W[:, :, j] sliced here.
              const [A, B] = w.dims as [number, number];
              const plane = kh * kw;
              const v = w.values;
              const r = new Float32Array(A * B * plane);
              for (let ab = 0, to = 0; ab < A * B; ab++) for (let q = 0, from = (ab * kd + j) * plane; q < plane; q++) r[to++] = v[from + q]!;
              wj = f32([Co, Ci, kh, kw], r);
            } else {
              wj = fresh('wtap');
              emit('Gather', [wName, i64Scalar(j)], [wj], [attrInt('axis', 2)]);
            }
            emit('Conv', [tap, wj, ...(j === 0 ? bias : [])], [c], inPlane);
            if (!sum) sum = c;
            else {
              const s = j === kd - 1 ? result : fresh('sum');
              emit('Add', [sum, c], [s]);
              sum = s;
            }
          }
        }
      } else {
        const [Ci, Co] = w.dims as [number, number];
        const outPad = intsAttr('output_padding') ?? [0, 0, 0];
        if (attrs.has('output_shape') || strides[0] !== kd || pads[0] !== 0 || pads[3] !== 0 || outPad[0] !== 0 || outPad.length !== 3) return no('ConvTranspose whose depth kernel is not its depth stride');
        const planeAttrs = [...inPlane, attrInts('output_padding', outPad.slice(1))];
        if (kd === 1) emit('ConvTranspose', [x, f32([Ci, Co, kh, kw], w.bytes), ...(bName ? [bName] : [])], [result], planeAttrs);
        else {
          // Output channels (j, co) → depth slices d·kd + j: W'[ci, j·Co + co] = W[ci, co, j].
          const [A] = w.dims as [number];
          const plane = kh * kw;
          const wj = new Float32Array(Ci * kd * Co * plane);
          for (let a = 0; a < A; a++)
            for (let j = 0; j < kd; j++)
              for (let co = 0; co < Co; co++) {
                const from = ((a * Co + co) * kd + j) * plane;
                const to = ((a * kd + j) * Co + co) * plane;
                for (let q = 0; q < plane; q++) wj[to + q] = w.values[from + q]!;
              }
          let bias: string[] = [];
          if (bName) {
            const bInit = inits.get(bName);
            const b = bInit ? readFloatInit(bInit) : undefined;
            if (!b || b.values.length !== Co) return no('ConvTranspose bias not in the file');
            const tiled = new Float32Array(kd * Co);
            for (let j = 0; j < kd; j++) tiled.set(b.values, j * Co);
            bias = [f32([kd * Co], tiled)];
          }
          const wide = fresh('ct');
          emit('ConvTranspose', [x, f32([Ci, kd * Co, kh, kw], wj), ...bias], [wide], planeAttrs);
          emit('Reshape', [wide, i64([-1, Co, 0, 0])], [result]);
        }
      }
      convs++;
    } else if (DEPTH_BATCH_AS_EXPORTED.has(op)) {
      // Pooling and resizing run as exported, on the activation transposed back to [1, C, D, H, W] and the result
      // transposed to depth-major again: exact whatever their attributes, and they are a small part of a pass
      // (ResEnc's average-pooled skips, max-pooling encoders, trilinear upsampling).
      if (outs.length !== 1 || !ins.slice(1).every((i) => i === '' || inits.has(i))) return no(`${op} with several outputs or a non-constant parameter`);
      if (op === 'Resize' || op === 'Upsample') {
        // Only spatial scales (batch and channels kept): the result must stay [1, C, D', H', W'].
        const scalesName = op === 'Resize' ? ins[2] : ins[1];
        const scales = scalesName ? inits.get(scalesName) : undefined;
        const v = scales ? readFloatInit(scales)?.values : undefined;
        if (!v || v.length !== 5 || v[0] !== 1 || v[1] !== 1 || (op === 'Resize' && (ins[3] ?? '') !== '')) return no(`${op} without constant spatial-only scales`);
      }
      const y = fresh(op);
      emit(op, [toNcdhw(x), ...ins.slice(1)], [y], attrList.map((f) => pbDecode(f.v as Uint8Array)));
      const sq = fresh('sq');
      emit('Squeeze', [y, i64([0])], [sq]);
      emit('Transpose', [sq], [result], [attrInts('perm', [1, 0, 2, 3])]);
    } else if (op === 'InstanceNormalization') {
      const scale = inits.get(ins[1] ?? '');
      const C = scale ? Number(ints(scale, TENSOR_DIMS)[0] ?? 0n) : 0;
      if (!C || outs.length !== 1 || !ins[2]) return no('InstanceNormalization scale not in the file');
      const mean = f32([C], new Float32Array(C));
      const variance = f32([C], new Float32Array(C).fill(1));
      // Same epsilon attribute (same name and type in both ops); training mode = statistics of this input.
      emit('BatchNormalization', [x, ins[1]!, ins[2], mean, variance], [result, fresh('mean'), fresh('var')], [...attrList.map((f) => pbDecode(f.v as Uint8Array)), attrInt('training_mode', 1)]);
    } else if (DEPTH_BATCH_UNARY.has(op)) {
      if (outs.length !== 1 || !ins.slice(1).every(isScalarConst)) return no(`${op} with a non-scalar parameter or several outputs`);
      emit(op, [x, ...ins.slice(1)], [result], attrList.map((f) => pbDecode(f.v as Uint8Array)));
    } else if (DEPTH_BATCH_NARY.has(op)) {
      if (outs.length !== 1) return no(`${op} with several outputs`);
      const mapped: string[] = [];
      for (const i of ins) {
        const d = dm.get(i);
        if (d) mapped.push(d);
        else if (isScalarConst(i) && i !== '') mapped.push(i);
        else return no(`${op} with an operand that is neither an activation nor a scalar`);
      }
      emit(op, mapped, [result]);
    } else if (op === 'Concat' || op === 'Softmax' || op === 'LogSoftmax') {
      const a = axis4(intAttr('axis') ?? (op === 'Concat' ? 0 : -1));
      if (a === undefined || outs.length !== 1) return no(`${op} over the batch axis`);
      const mapped = op === 'Concat' ? ins.map((i) => dm.get(i)) : [x];
      if (mapped.some((v) => v === undefined) || (op !== 'Concat' && ins.length !== 1)) return no(`${op} of a non-activation input`);
      emit(op, mapped as string[], [result], [attrInt('axis', a)]);
    } else return no(`operator ${op}`);
    dm.set(outs[0]!, result);
  }
  if (convs === 0) return no('no convolution to rewrite');
  for (const o of outputNames) {
    if (headOutputs.has(o)) continue;
    const d = dm.get(o);
    if (!d) return no(`graph output ${o} not computed from the input`);
    toNcdhw(d, o);
  }
  const ng: PbOutField[] = [];
  let nodesDone = false;
  for (const f of g) {
    if (f.no === GRAPH_VALUE_INFO) continue; // intermediate shapes: names and layouts changed
    if (f.no === GRAPH_NODE) {
      if (!nodesDone) ng.push(...out);
      nodesDone = true;
      continue;
    }
    ng.push(f);
  }
  ng.push(...addInits);
  // Weights only the replaced nodes read are dropped (unless listed as graph inputs, keep_initializers_as_inputs).
  const used = new Set<string>(outputNames);
  for (const f of out) for (const x of (f as PbNested).v) if (x.no === NODE_INPUT) used.add(strOf(x as PbField));
  const inputNamesAll = new Set(fieldsOf(g, GRAPH_INPUT).map((f) => firstStr(pbDecode(f.v as Uint8Array), VI_NAME)));
  const kept = ng.filter((f) => {
    if (f.no !== GRAPH_INITIALIZER || isNested(f)) return true;
    const name = firstStr(pbDecode(f.v as Uint8Array), TENSOR_NAME) ?? '';
    return used.has(name) || inputNamesAll.has(name);
  });
  const opsetOut = opset >= 14 ? m[opsetAt]! : bytesField(MODEL_OPSET_IMPORT, [strField(OPSET_DOMAIN, ''), intField(OPSET_VERSION, 14)]);
  return { model: pbEncode(m.map((f, i) => (i === gi ? bytesField(MODEL_GRAPH, kept) : i === opsetAt ? opsetOut : f))), convs };
}
