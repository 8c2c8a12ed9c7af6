/**
 * Siemens private data needed for MOSAIC images: the CSA image header (SV10 format, tag (0029,xx10) of private
 * creator "SIEMENS CSA HEADER") and the number of images in a mosaic ((0019,xx0A) of "SIEMENS MR HEADER").
 */
import { type DataSet, tag } from './dataset';

/** Resolve a private tag: the element `low` (0x00–0xFF) in the block reserved by `creator` in `group`. */
export function privateTag(ds: DataSet, group: number, creator: string, low: number): number | undefined {
  for (let block = 0x10; block <= 0xff; block++) {
    const c = ds.string(tag(group, block));
    if (c === undefined) continue;
    if (c.trim().toUpperCase() === creator) return tag(group, (block << 8) | low);
  }
  return undefined;
}

/** Parse a Siemens CSA header (SV10 or the older unversioned format) into name → values. */
export function parseCsa(bytes: Uint8Array): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (o: number, n: number): string => {
    let s = '';
    for (let i = 0; i < n && o + i < bytes.length; i++) {
      const c = bytes[o + i]!;
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s;
  };
  let p = 0;
  if (bytes.length >= 8 && text(0, 4) === 'SV10') p = 8;
  if (p + 8 > bytes.length) return out;
  const nTags = view.getUint32(p, true);
  p += 8;
  if (nTags > 1000) return out;
  for (let t = 0; t < nTags; t++) {
    if (p + 84 > bytes.length) return out;
    const name = text(p, 64);
    const nItems = view.getInt32(p + 76, true);
    p += 84;
    if (nItems < 0 || nItems > 10000) return out;
    const values: string[] = [];
    for (let i = 0; i < nItems; i++) {
      if (p + 16 > bytes.length) return out;
      const len = view.getInt32(p + 4, true);
      p += 16;
      if (len < 0 || p + len > bytes.length) return out;
      if (len > 0) values.push(text(p, len).trim());
      p += Math.ceil(len / 4) * 4;
    }
    out.set(name, values);
  }
  return out;
}

export interface MosaicInfo {
  /** Number of slices stored in the mosaic. */
  images: number;
  /** Slice normal (LPS unit vector) from the CSA header, when present; its sign gives the slice order. */
  sliceNormal?: [number, number, number];
}

/** Mosaic details of a Siemens image whose ImageType contains MOSAIC; undefined if the count cannot be found. */
export function mosaicInfo(ds: DataSet): MosaicInfo | undefined {
  let images: number | undefined;
  const nTag = privateTag(ds, 0x0019, 'SIEMENS MR HEADER', 0x0a);
  if (nTag !== undefined) images = ds.number(nTag);
  let sliceNormal: [number, number, number] | undefined;
  const csaTag = privateTag(ds, 0x0029, 'SIEMENS CSA HEADER', 0x10);
  const csaBytes = csaTag !== undefined ? ds.raw(csaTag) : undefined;
  if (csaBytes) {
    const csa = parseCsa(csaBytes);
    const n = Number(csa.get('NumberOfImagesInMosaic')?.[0]);
    if (!images && Number.isFinite(n) && n > 0) images = n;
    const sn = (csa.get('SliceNormalVector') ?? []).map(Number);
    if (sn.length === 3 && sn.every(Number.isFinite) && Math.hypot(...sn) > 0.5) sliceNormal = [sn[0]!, sn[1]!, sn[2]!];
  }
  if (!images || images < 1) return undefined;
  return sliceNormal ? { images, sliceNormal } : { images };
}
