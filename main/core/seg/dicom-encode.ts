/**
 * A minimal DICOM Part 10 encoder: Explicit VR Little Endian, defined-length sequences and items, the File Meta
 * group with its group length. Enough to write Segmentation objects; reading goes through main/core/io's parser.
 */
import { randomUUID } from 'node:crypto';
import { DelineateError } from '../../common/errors';

/** A data element to encode. `value` by VR: strings for text VRs (multi-values as arrays), numbers for binary
 * VRs (US, SS, UL, SL, FL, FD) and DS/IS (formatted to fit), `[group, element]` pairs for AT, bytes for OB/OW/UN,
 * item lists for SQ. */
export interface DicomElement {
  tag: number;
  vr: string;
  value: string | string[] | number | number[] | Uint8Array | DicomElement[][] | [number, number][];
}

/** Element helper: `el(0x0010, 0x0010, 'PN', 'Doe^John')`. */
export function el(group: number, element: number, vr: string, value: DicomElement['value']): DicomElement {
  return { tag: ((group << 16) | element) >>> 0, vr, value };
}

/** A sequence element from items (each a list of elements). */
export function seq(group: number, element: number, items: DicomElement[][]): DicomElement {
  return el(group, element, 'SQ', items);
}

/** A new UID under the UUID-derived root 2.25 (ITU-T X.667): `2.25.<the UUID as a decimal integer>`. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const MAX_LENGTH: Record<string, number> = { AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, DT: 26, IS: 12, LO: 64, PN: 64, SH: 16, TM: 14, UI: 64 };

/** Decimal String (≤ 16 characters) of a number, as precise as fits. */
export function formatDS(x: number): string {
  if (!Number.isFinite(x)) throw new DelineateError('INTERNAL', `DS value ${x} is not finite`);
  if (Object.is(x, -0) || x === 0) return '0';
  for (let p = 16; p >= 1; p--) {
    let s = String(Number(x.toPrecision(p)));
    if (s.includes('e')) s = x.toExponential(Math.max(0, p - 1)).replace('e+', 'E+').replace('e-', 'E-');
    if (s.length <= 16) return s;
  }
  throw new DelineateError('INTERNAL', `DS value ${x} does not fit 16 characters`);
}

function encodeString(e: DicomElement): Uint8Array {
  const v = e.value;
  let parts: string[];
  if (typeof v === 'string') parts = [v];
  else if (typeof v === 'number') parts = [e.vr === 'DS' ? formatDS(v) : String(Math.round(v))];
  else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) parts = (v as number[]).map((x) => (e.vr === 'DS' ? formatDS(x) : String(Math.round(x))));
  else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) parts = v as string[];
  else throw new DelineateError('INTERNAL', `element ${e.tag.toString(16)} (${e.vr}): value is not text`);
  const max = MAX_LENGTH[e.vr];
  if (max !== undefined)
    for (const p of parts)
      if (Buffer.byteLength(p, 'latin1') > max) throw new DelineateError('INPUT', `DICOM ${e.vr} value '${p}' is longer than ${max} characters`, { subject: p });
  const b = Buffer.from(parts.join('\\'), e.vr === 'UC' || e.vr === 'UT' || e.vr === 'LT' || e.vr === 'ST' ? 'utf8' : 'latin1');
  const out = new Uint8Array(b.length + (b.length % 2)).fill(e.vr === 'UI' ? 0 : 0x20);
  out.set(b);
  return out;
}

const BINARY: Record<string, [number, (d: DataView, o: number, x: number) => void]> = {
  US: [2, (d, o, x) => d.setUint16(o, x, true)],
  SS: [2, (d, o, x) => d.setInt16(o, x, true)],
  UL: [4, (d, o, x) => d.setUint32(o, x, true)],
  SL: [4, (d, o, x) => d.setInt32(o, x, true)],
  FL: [4, (d, o, x) => d.setFloat32(o, x, true)],
  FD: [8, (d, o, x) => d.setFloat64(o, x, true)],
};

function encodeValue(e: DicomElement): Uint8Array {
  const v = e.value;
  if (e.vr === 'SQ') {
    const items = (v as DicomElement[][]).map((it) => {
      const body = encodeDataset(it);
      const head = new Uint8Array(8);
      const dv = new DataView(head.buffer);
      dv.setUint16(0, 0xfffe, true);
      dv.setUint16(2, 0xe000, true);
      dv.setUint32(4, body.byteLength, true);
      return concat([head, body]);
    });
    return concat(items);
  }
  if (e.vr === 'AT') {
    const pairs = v as [number, number][];
    const out = new Uint8Array(pairs.length * 4);
    const dv = new DataView(out.buffer);
    pairs.forEach(([g, el2], i) => {
      dv.setUint16(i * 4, g, true);
      dv.setUint16(i * 4 + 2, el2, true);
    });
    return out;
  }
  const bin = BINARY[e.vr];
  if (bin) {
    const nums = typeof v === 'number' ? [v] : (v as number[]);
    const out = new Uint8Array(nums.length * bin[0]);
    const dv = new DataView(out.buffer);
    nums.forEach((x, i) => bin[1](dv, i * bin[0], x));
    return out;
  }
  if (v instanceof Uint8Array) {
    if (v.byteLength % 2 === 0) return v;
    const out = new Uint8Array(v.byteLength + 1);
    out.set(v);
    return out;
  }
  return encodeString(e);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Encode elements (sorted by tag) in Explicit VR Little Endian. */
export function encodeDataset(elements: DicomElement[]): Uint8Array {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.tag === e.tag) throw new DelineateError('INTERNAL', `DICOM element ${e.tag.toString(16)} given twice`);
    const value = encodeValue(e);
    const long = LONG_VRS.has(e.vr);
    const head = new Uint8Array(long ? 12 : 8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, e.tag >>> 16, true);
    dv.setUint16(2, e.tag & 0xffff, true);
    head[4] = e.vr.charCodeAt(0);
    head[5] = e.vr.charCodeAt(1);
    if (long) dv.setUint32(8, value.byteLength, true);
    else {
      if (value.byteLength > 0xffff) throw new DelineateError('INTERNAL', `DICOM element ${e.tag.toString(16)} (${e.vr}) is too long for its VR`);
      dv.setUint16(6, value.byteLength, true);
    }
    parts.push(head, value);
  }
  return concat(parts);
}

/** Explicit VR Little Endian transfer syntax UID. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/**
 * A complete Part 10 file: 128-byte preamble, "DICM", the File Meta group (version, SOP class/instance,
 * Explicit VR Little Endian, implementation UID/name) and the dataset.
 */
export function encodePart10(dataset: DicomElement[], sopClassUid: string, sopInstanceUid: string, implementation: { classUid: string; versionName: string }): Uint8Array {
  const metaBody = encodeDataset([
    el(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])),
    el(0x0002, 0x0002, 'UI', sopClassUid),
    el(0x0002, 0x0003, 'UI', sopInstanceUid),
    el(0x0002, 0x0010, 'UI', EXPLICIT_VR_LITTLE_ENDIAN),
    el(0x0002, 0x0012, 'UI', implementation.classUid),
    el(0x0002, 0x0013, 'SH', implementation.versionName),
  ]);
  const groupLength = encodeDataset([el(0x0002, 0x0000, 'UL', metaBody.byteLength)]);
  const pre = new Uint8Array(132);
  pre.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([pre, groupLength, metaBody, encodeDataset(dataset)]);
}
