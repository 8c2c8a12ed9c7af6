/**
 * A tiny DICOM Part 10 writer for unit tests: builds files in explicit/implicit VR little endian or explicit VR
 * big endian, with nested sequences (defined or undefined length) and native pixel data, so that the parser and
 * the series planner can be tested on exactly the structures they must handle.
 */
import { deflateRawSync } from 'node:zlib';

export type El =
  | { tag: [number, number]; vr: string; value: string | number[] | Uint8Array }
  | { tag: [number, number]; vr: 'SQ'; items: El[][]; undefinedLength?: boolean };

export interface WriteOptions {
  transferSyntax: '1.2.840.10008.1.2' | '1.2.840.10008.1.2.1' | '1.2.840.10008.1.2.2' | '1.2.840.10008.1.2.1.99';
  /** Leave out the preamble and meta group (old-style files). */
  noMeta?: boolean;
  sopClassUid?: string;
}

const LONG = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR']);

function encodeValue(e: Extract<El, { value: unknown }>, le: boolean): Uint8Array {
  const v = e.value;
  if (v instanceof Uint8Array) {
    const out = new Uint8Array(v.length + (v.length % 2));
    out.set(v);
    return out;
  }
  if (typeof v === 'string') {
    const pad = e.vr === 'UI' || e.vr === 'OB' ? 0 : 0x20;
    const b = Buffer.from(v, 'latin1');
    const out = new Uint8Array(b.length + (b.length % 2)).fill(pad);
    out.set(b);
    return out;
  }
  const size = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, OW: 2 }[e.vr] ?? 2;
  const out = new Uint8Array(v.length * size);
  const dv = new DataView(out.buffer);
  v.forEach((x, i) => {
    if (e.vr === 'US' || e.vr === 'OW') dv.setUint16(i * 2, x, le);
    else if (e.vr === 'SS') dv.setInt16(i * 2, x, le);
    else if (e.vr === 'UL') dv.setUint32(i * 4, x, le);
    else if (e.vr === 'SL') dv.setInt32(i * 4, x, le);
    else if (e.vr === 'FL') dv.setFloat32(i * 4, x, le);
    else if (e.vr === 'FD') dv.setFloat64(i * 8, x, le);
  });
  return out;
}

function encodeElements(els: El[], explicit: boolean, le: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  const sorted = [...els].sort((a, b) => a.tag[0] - b.tag[0] || a.tag[1] - b.tag[1]);
  for (const e of sorted) {
    let value: Uint8Array;
    let undefinedLength = false;
    if ('items' in e) {
      const items: Uint8Array[] = [];
      for (const it of e.items) {
        const body = encodeElements(it, explicit, le);
        const head = new Uint8Array(8);
        const dv = new DataView(head.buffer);
        dv.setUint16(0, 0xfffe, le);
        dv.setUint16(2, 0xe000, le);
        dv.setUint32(4, e.undefinedLength ? 0xffffffff : body.length, le);
        items.push(head, body);
        if (e.undefinedLength) {
          const end = new Uint8Array(8);
          const dv2 = new DataView(end.buffer);
          dv2.setUint16(0, 0xfffe, le);
          dv2.setUint16(2, 0xe00d, le);
          items.push(end);
        }
      }
      if (e.undefinedLength) {
        const end = new Uint8Array(8);
        const dv2 = new DataView(end.buffer);
        dv2.setUint16(0, 0xfffe, le);
        dv2.setUint16(2, 0xe0dd, le);
        items.push(end);
        undefinedLength = true;
      }
      value = Buffer.concat(items);
    } else value = encodeValue(e, le);
    const long = LONG.has(e.vr);
    const head = new Uint8Array(explicit ? (long ? 12 : 8) : 8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, e.tag[0], le);
    dv.setUint16(2, e.tag[1], le);
    const len = undefinedLength ? 0xffffffff : value.length;
    if (explicit) {
      head[4] = e.vr.charCodeAt(0);
      head[5] = e.vr.charCodeAt(1);
      if (long) dv.setUint32(8, len, le);
      else dv.setUint16(6, len, le);
    } else dv.setUint32(4, len, le);
    parts.push(head, value);
  }
  return Buffer.concat(parts);
}

/** Build a DICOM file from top-level elements. */
export function writeDicom(els: El[], opts: WriteOptions): Buffer {
  const ts = opts.transferSyntax;
  const explicit = ts !== '1.2.840.10008.1.2';
  const le = ts !== '1.2.840.10008.1.2.2';
  let body: Uint8Array = encodeElements(els, explicit, le);
  if (ts === '1.2.840.10008.1.2.1.99') body = deflateRawSync(body);
  if (opts.noMeta) return Buffer.from(body);
  const sop = els.find((e) => e.tag[0] === 0x0008 && e.tag[1] === 0x0018);
  const metaEls: El[] = [
    { tag: [0x0002, 0x0001], vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: [0x0002, 0x0002], vr: 'UI', value: opts.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.4' },
    { tag: [0x0002, 0x0003], vr: 'UI', value: sop && 'value' in sop ? String(sop.value) : '1.2.3' },
    { tag: [0x0002, 0x0010], vr: 'UI', value: ts },
  ];
  const metaBody = encodeElements(metaEls, true, true);
  const groupLength = encodeElements([{ tag: [0x0002, 0x0000], vr: 'UL', value: [metaBody.length] }], true, true);
  const preamble = new Uint8Array(132);
  preamble.set(Buffer.from('DICM'), 128);
  return Buffer.concat([preamble, groupLength, metaBody, body]);
}

export interface SliceSpec {
  seriesUid?: string;
  sopUid: string;
  position: [number, number, number];
  orientation?: [number, number, number, number, number, number];
  rows?: number;
  columns?: number;
  spacing?: [number, number];
  pixels?: number[];
  slope?: number;
  intercept?: number;
  echo?: number;
  modality?: string;
  description?: string;
  instance?: number;
}

/** A single-frame 16-bit signed slice with the attributes the scanner reads. */
export function slice(s: SliceSpec, ts: WriteOptions['transferSyntax'] = '1.2.840.10008.1.2.1'): Buffer {
  const rows = s.rows ?? 2;
  const columns = s.columns ?? 3;
  const px = s.pixels ?? Array.from({ length: rows * columns }, (_, i) => i);
  const els: El[] = [
    { tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: [0x0008, 0x0018], vr: 'UI', value: s.sopUid },
    { tag: [0x0008, 0x0060], vr: 'CS', value: s.modality ?? 'CT' },
    { tag: [0x0008, 0x103e], vr: 'LO', value: s.description ?? 'synthetic' },
    { tag: [0x0010, 0x0010], vr: 'PN', value: 'Test^Patient' },
    { tag: [0x0020, 0x000d], vr: 'UI', value: '1.2.826.0.1.3680043.2.1125.1' },
    { tag: [0x0020, 0x000e], vr: 'UI', value: s.seriesUid ?? '1.2.826.0.1.3680043.2.1125.1.1' },
    { tag: [0x0020, 0x0011], vr: 'IS', value: '3' },
    { tag: [0x0020, 0x0013], vr: 'IS', value: String(s.instance ?? 1) },
    { tag: [0x0020, 0x0032], vr: 'DS', value: s.position.join('\\') },
    { tag: [0x0020, 0x0037], vr: 'DS', value: (s.orientation ?? [1, 0, 0, 0, 1, 0]).join('\\') },
    { tag: [0x0028, 0x0002], vr: 'US', value: [1] },
    { tag: [0x0028, 0x0004], vr: 'CS', value: 'MONOCHROME2' },
    { tag: [0x0028, 0x0010], vr: 'US', value: [rows] },
    { tag: [0x0028, 0x0011], vr: 'US', value: [columns] },
    { tag: [0x0028, 0x0030], vr: 'DS', value: (s.spacing ?? [0.5, 0.5]).join('\\') },
    { tag: [0x0028, 0x0100], vr: 'US', value: [16] },
    { tag: [0x0028, 0x0101], vr: 'US', value: [16] },
    { tag: [0x0028, 0x0102], vr: 'US', value: [15] },
    { tag: [0x0028, 0x0103], vr: 'US', value: [1] },
    { tag: [0x7fe0, 0x0010], vr: 'OW', value: Uint8Array.from(Buffer.from(Int16Array.from(px).buffer)) },
  ];
  if (s.echo !== undefined) els.push({ tag: [0x0018, 0x0086], vr: 'IS', value: String(s.echo) });
  if (s.slope !== undefined) els.push({ tag: [0x0028, 0x1053], vr: 'DS', value: String(s.slope) });
  if (s.intercept !== undefined) els.push({ tag: [0x0028, 0x1052], vr: 'DS', value: String(s.intercept) });
  if (ts === '1.2.840.10008.1.2.2') {
    // Big endian: pixel words swapped.
    const pd = els.find((e) => e.tag[0] === 0x7fe0)!;
    const b = Buffer.from((pd as { value: Uint8Array }).value);
    b.swap16();
    (pd as { value: Uint8Array }).value = b;
  }
  return writeDicom(els, { transferSyntax: ts, sopClassUid: '1.2.840.10008.5.1.4.1.1.2' });
}
