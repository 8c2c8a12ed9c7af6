/**
 * Rewrite string-valued top-level elements of a real DICOM file (little endian, explicit or implicit VR), e.g.
 * ImagePositionPatient, SOPInstanceUID, InstanceNumber, to build test and benchmark series from real slices.
 * The meta group's MediaStorageSOPInstanceUID and group length are kept consistent.
 */
import { parseDicom, tag, T, TS } from '../../../main/core/io/dicom/dataset';

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

function pad(value: string, vr: string): Buffer {
  const b = Buffer.from(value, 'latin1');
  return b.length % 2 ? Buffer.concat([b, Buffer.from([vr === 'UI' ? 0 : 0x20])]) : b;
}

/** Edits: tag → new string value (the element must exist at top level and have a string VR). */
export function editDicom(bytes: Uint8Array, edits: Map<number, string>): Buffer {
  const p = parseDicom(bytes, true);
  if (!p) throw new Error('not DICOM');
  if (p.transferSyntax === TS.ExplicitBE || p.transferSyntax === TS.DeflatedLE) throw new Error(`editDicom: ${p.transferSyntax} not handled`);
  const explicit = p.transferSyntax !== TS.ImplicitLE;
  type Patch = { start: number; end: number; header: Buffer; value: Buffer };
  const patches: Patch[] = [];
  const patchIn = (ds: typeof p.dataset, t: number, value: string, isMeta: boolean) => {
    const e = ds.elements.get(t);
    if (!e) throw new Error(`element ${t.toString(16)} not present`);
    const ex = isMeta || explicit;
    const vr = ex ? e.vr : 'UI';
    const headerLength = ex ? (LONG_VRS.has(e.vr) ? 12 : 8) : 8;
    const start = e.offset - headerLength;
    const v = pad(value, vr);
    const header = Buffer.from(bytes.subarray(start, e.offset));
    if (ex && !LONG_VRS.has(e.vr)) header.writeUInt16LE(v.length, 6);
    else header.writeUInt32LE(v.length, headerLength - 4);
    patches.push({ start, end: e.offset + e.length, header, value: v });
    return v.length - e.length;
  };
  let metaDelta = 0;
  for (const [t, value] of edits) {
    patchIn(p.dataset, t, value, false);
    if (t === T.SOPInstanceUID && p.meta.has(tag(0x0002, 0x0003))) metaDelta += patchIn(p.meta, tag(0x0002, 0x0003), value, true);
  }
  const gl = p.meta.elements.get(tag(0x0002, 0x0000));
  if (gl && metaDelta !== 0) {
    const v = Buffer.alloc(4);
    v.writeUInt32LE(new DataView(bytes.buffer, bytes.byteOffset).getUint32(gl.offset, true) + metaDelta, 0);
    patches.push({ start: gl.offset, end: gl.offset + 4, header: Buffer.alloc(0), value: v });
  }
  patches.sort((a, b) => a.start - b.start);
  const parts: Buffer[] = [];
  let pos = 0;
  for (const x of patches) {
    parts.push(Buffer.from(bytes.subarray(pos, x.start)), x.header, x.value);
    pos = x.end;
  }
  parts.push(Buffer.from(bytes.subarray(pos)));
  return Buffer.concat(parts);
}
