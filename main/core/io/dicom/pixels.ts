/**
 * Pixel decoding for planned DICOM volumes. Native (uncompressed) little/big endian and RLE Lossless are decoded
 * here directly from the bytes (rescale slope/intercept applied per frame); JPEG Lossless, JPEG-LS, JPEG 2000 and
 * other encapsulated syntaxes go through itk-wasm's GDCM (`@itk-wasm/dicom` readImageDicomFileSeriesNode with the
 * files in our sorted order), whose output is already in modality units (GDCM applies rescale slope/intercept).
 * Geometry is never taken from the decoder: it comes from our own plan (./series).
 */
import { readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { readImageDicomFileSeriesNode } from '@itk-wasm/dicom';
import { DelineateError, throwIfCancelled } from '../../../common/errors';
import type { JobOptions } from '../../../common/progress';
import { type Volume, type VoxelArray, type VoxelDataType, allocateVoxels } from '../../../common/volume';
import { itkErrorDetail, quietly } from '../itk-quiet';
import { TS, T, tag } from './dataset';
import type { DicomFrame, DicomHeader } from './header';
import type { VolumePlan } from './series';

const NATIVE = new Set<string>([TS.ImplicitLE, TS.ExplicitLE, TS.ExplicitBE, TS.DeflatedLE]);

/** Whether a transfer syntax is decoded by our own code (else by itk-wasm). */
export function decodedNatively(ts: string): boolean {
  return NATIVE.has(ts) || ts === TS.RLE;
}

/**
 * The stored (not rescaled) sample values of a frame's raw bytes as a typed array: a view when the bytes are
 * aligned little-endian and need no masking, else a converted copy (byte swap for big endian, BitsStored masking
 * and sign extension when BitsStored < BitsAllocated).
 */
function storedSamples(h: DicomHeader, bytes: Uint8Array, bigEndian: boolean): VoxelArray {
  const signed = h.pixelRepresentation === 1;
  const n = h.rows * h.columns;
  const bpp = h.bitsAllocated / 8;
  if (h.pixelData?.float) {
    if (h.bitsAllocated !== 32 && h.bitsAllocated !== 64)
      throw new DelineateError('UNSUPPORTED', `${h.path}: float pixel data with ${h.bitsAllocated} bits is not supported`, { subject: h.path });
  } else if (h.bitsAllocated !== 8 && h.bitsAllocated !== 16 && h.bitsAllocated !== 32)
    throw new DelineateError('UNSUPPORTED', `${h.path}: ${h.bitsAllocated} bits allocated per pixel is not supported`, { subject: h.path });
  // Aligned copy (typed arrays need an offset that is a multiple of the element size), byte-swapped if needed.
  let buf = bytes.subarray(0, n * bpp);
  if (bigEndian && bpp > 1) {
    const c = Buffer.from(buf);
    if (bpp === 2) c.swap16();
    else if (bpp === 4) c.swap32();
    else c.swap64();
    buf = c;
  }
  if (buf.byteOffset % bpp !== 0) buf = Uint8Array.from(buf);
  const ab = buf.buffer;
  const o = buf.byteOffset;
  let out: VoxelArray;
  if (h.pixelData?.float) out = bpp === 8 ? new Float64Array(ab, o, n) : new Float32Array(ab, o, n);
  else if (bpp === 1) out = signed ? new Int8Array(ab, o, n) : new Uint8Array(ab, o, n);
  else if (bpp === 2) out = signed ? new Int16Array(ab, o, n) : new Uint16Array(ab, o, n);
  else out = signed ? new Int32Array(ab, o, n) : new Uint32Array(ab, o, n);
  const bits = h.bitsStored;
  if (!h.pixelData?.float && bits > 0 && bits < h.bitsAllocated) {
    // High bits may hold overlays or garbage: keep BitsStored bits (sign-extended for signed data).
    const copy = out.slice();
    if (signed) {
      const sh = 32 - bits;
      for (let i = 0; i < n; i++) copy[i] = (copy[i]! << sh) >> sh;
    } else {
      const mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
      for (let i = 0; i < n; i++) copy[i] = (copy[i]! & mask) >>> 0;
    }
    out = copy;
  }
  return out;
}

const LIMITS: Partial<Record<VoxelDataType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

// The loops below are separate function literals on purpose: V8 keeps typed-array element access fast only while
// each loop sees one array type (a single generic loop fed several types became ~8× slower, measured). They cover
// the common DICOM cases; anything else takes the generic loop.
/** Integer shift (slope 1): no per-voxel branch; the range is checked after and the rare overflow redone clamped. */
function i16ShiftToI16(out: Int16Array, o: number, n: number, src: Int16Array, b: number): boolean {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const v = (src[i]! + b) | 0;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    out[o + i] = v;
  }
  return lo >= -32768 && hi <= 32767;
}
function u16ShiftToI16(out: Int16Array, o: number, n: number, src: Uint16Array, b: number): boolean {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const v = (src[i]! + b) | 0;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    out[o + i] = v;
  }
  return lo >= -32768 && hi <= 32767;
}
function i16ToI16(out: Int16Array, o: number, n: number, src: Int16Array, m: number, b: number): number {
  if (m === 1 && Number.isInteger(b) && i16ShiftToI16(out, o, n, src, b)) return 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    let v = src[i]! * m + b;
    if (v < -32768) {
      v = -32768;
      c++;
    } else if (v > 32767) {
      v = 32767;
      c++;
    }
    out[o + i] = v;
  }
  return c;
}
function u16ToI16(out: Int16Array, o: number, n: number, src: Uint16Array, m: number, b: number): number {
  if (m === 1 && Number.isInteger(b) && u16ShiftToI16(out, o, n, src, b)) return 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    let v = src[i]! * m + b;
    if (v < -32768) {
      v = -32768;
      c++;
    } else if (v > 32767) {
      v = 32767;
      c++;
    }
    out[o + i] = v;
  }
  return c;
}
function u16ToU16(out: Uint16Array, o: number, n: number, src: Uint16Array, m: number, b: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) {
    let v = src[i]! * m + b;
    if (v < 0) {
      v = 0;
      c++;
    } else if (v > 65535) {
      v = 65535;
      c++;
    }
    out[o + i] = v;
  }
  return c;
}
function i16ToF32(out: Float32Array, o: number, n: number, src: Int16Array, m: number, b: number): number {
  for (let i = 0; i < n; i++) out[o + i] = src[i]! * m + b;
  return 0;
}
function u16ToF32(out: Float32Array, o: number, n: number, src: Uint16Array, m: number, b: number): number {
  for (let i = 0; i < n; i++) out[o + i] = src[i]! * m + b;
  return 0;
}

/**
 * Write `count` samples of `src` into `out` starting at `outOffset`, applying rescale (value × m + b) and
 * saturating to the output type. Returns how many values had to be saturated.
 */
function putFrame(out: VoxelArray, outOffset: number, count: number, src: VoxelArray | ArrayLike<number>, m: number, b: number, dataType: VoxelDataType): number {
  if (m === 1 && b === 0 && ArrayBuffer.isView(src) && src.constructor === out.constructor) {
    out.set((src as VoxelArray).subarray(0, count) as never, outOffset);
    return 0;
  }
  if (out instanceof Int16Array && src instanceof Int16Array) return i16ToI16(out, outOffset, count, src, m, b);
  if (out instanceof Int16Array && src instanceof Uint16Array) return u16ToI16(out, outOffset, count, src, m, b);
  if (out instanceof Uint16Array && src instanceof Uint16Array) return u16ToU16(out, outOffset, count, src, m, b);
  if (out instanceof Float32Array && src instanceof Int16Array) return i16ToF32(out, outOffset, count, src, m, b);
  if (out instanceof Float32Array && src instanceof Uint16Array) return u16ToF32(out, outOffset, count, src, m, b);
  const lim = LIMITS[dataType];
  let clipped = 0;
  if (!lim) {
    for (let i = 0; i < count; i++) out[outOffset + i] = src[i]! * m + b;
    return 0;
  }
  const [lo, hi] = lim;
  for (let i = 0; i < count; i++) {
    let v = src[i]! * m + b;
    if (v < lo) {
      v = lo;
      clipped++;
    } else if (v > hi) {
      v = hi;
      clipped++;
    }
    out[outOffset + i] = v;
  }
  return clipped;
}

/** Fragments of encapsulated pixel data: [basic offset table, ...fragments] as byte ranges of the file. */
function fragments(bytes: Uint8Array, start: number, path: string): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let p = start;
  for (;;) {
    if (p + 8 > bytes.byteLength) throw new DelineateError('FORMAT', `${path}: encapsulated pixel data is truncated`, { subject: path });
    const t = tag(view.getUint16(p, true), view.getUint16(p + 2, true));
    const len = view.getUint32(p + 4, true);
    p += 8;
    if (t === T.SequenceDelimitation) return out;
    if (t !== T.Item) throw new DelineateError('FORMAT', `${path}: malformed encapsulated pixel data at byte ${p - 8}`, { subject: path });
    if (p + len > bytes.byteLength) throw new DelineateError('FORMAT', `${path}: pixel data fragment is truncated`, { subject: path });
    out.push(bytes.subarray(p, p + len));
    p += len;
  }
}

/** Decode one RLE Lossless frame (PS3.5 Annex G) to native little-endian bytes. */
export function decodeRleFrame(data: Uint8Array, h: DicomHeader, path: string): Uint8Array {
  const bytesPerSample = h.bitsAllocated / 8;
  const pixels = h.rows * h.columns;
  const out = new Uint8Array(pixels * bytesPerSample);
  if (data.byteLength < 64) throw new DelineateError('FORMAT', `${path}: RLE frame header is truncated`, { subject: path });
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== bytesPerSample)
    throw new DelineateError('FORMAT', `${path}: RLE frame has ${segments} segments, expected ${bytesPerSample}`, { subject: path });
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = Math.min(data.byteLength, s + 1 < segments ? view.getUint32(8 + 4 * s, true) : data.byteLength);
    // Segment s holds byte (bytesPerSample-1-s) of each sample (most significant first); output is little endian.
    const byteIndex = bytesPerSample - 1 - s;
    let o = 0;
    let p = start;
    while (o < pixels && p < end) {
      const n = (data[p++]! << 24) >> 24;
      if (n >= 0) {
        for (let i = 0; i <= n && o < pixels && p < end; i++) out[o++ * bytesPerSample + byteIndex] = data[p++]!;
      } else if (n !== -128 && p < end) {
        const v = data[p++]!;
        for (let i = 0; i < 1 - n && o < pixels; i++) out[o++ * bytesPerSample + byteIndex] = v;
      }
    }
    if (o < pixels) throw new DelineateError('FORMAT', `${path}: RLE segment ${s + 1} ends after ${o} of ${pixels} pixels`, { subject: path });
  }
  return out;
}

/** Raw native bytes of frame `frame` of a file (decoded from RLE when needed), plus their byte order. */
function nativeFrameBytes(h: DicomHeader, file: Uint8Array, frame: number, cache: Map<string, Uint8Array[]>): { bytes: Uint8Array; bigEndian: boolean } {
  const pd = h.pixelData!;
  const frameBytes = (h.rows * h.columns * h.bitsAllocated) / 8;
  if (h.transferSyntax === TS.RLE) {
    let frags = cache.get(h.path);
    if (!frags) cache.set(h.path, (frags = fragments(file, pd.offset, h.path)));
    // First fragment is the basic offset table; with one fragment per frame (the RLE rule) frame n is n+1.
    const data = frags[frame + 1];
    if (!data) throw new DelineateError('FORMAT', `${h.path}: RLE frame ${frame + 1} is missing`, { subject: h.path });
    return { bytes: decodeRleFrame(data, h, h.path), bigEndian: false };
  }
  let source = file;
  let offset = pd.offset;
  if (pd.deflated) {
    // Deflated datasets: offsets refer to the inflated stream after the meta group.
    let inflated = cache.get(h.path)?.[0];
    if (!inflated) {
      const metaEnd = findMetaEnd(file);
      inflated = inflateRawSync(file.subarray(metaEnd));
      cache.set(h.path, [inflated]);
    }
    source = inflated;
  }
  offset += frame * frameBytes;
  if (pd.length >= 0 && (frame + 1) * frameBytes > pd.length)
    throw new DelineateError('FORMAT', `${h.path}: pixel data holds ${pd.length} bytes, frame ${frame + 1} needs ${(frame + 1) * frameBytes}`, { subject: h.path });
  if (offset + frameBytes > source.byteLength)
    throw new DelineateError('FORMAT', `${h.path}: pixel data is truncated (file ends before frame ${frame + 1})`, { subject: h.path });
  return { bytes: source.subarray(offset, offset + frameBytes), bigEndian: h.transferSyntax === TS.ExplicitBE };
}

function findMetaEnd(file: Uint8Array): number {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let p = 132;
  while (p + 8 <= file.byteLength && view.getUint16(p, true) === 0x0002) {
    const vr = String.fromCharCode(file[p + 4]!, file[p + 5]!);
    if (['OB', 'OW', 'UN', 'UT', 'SQ', 'UC', 'UR'].includes(vr)) p += 12 + view.getUint32(p + 8, true);
    else p += 8 + view.getUint16(p + 6, true);
  }
  return p;
}

/** Decode frames via itk-wasm (GDCM): returns, per file, its decoded frames (modality values). */
async function decodeWithItk(paths: string[], opts: JobOptions, onFile: () => void, oneByOne = false): Promise<Map<string, ArrayLike<number>[]>> {
  const out = new Map<string, ArrayLike<number>[]>();
  // Files are decoded in batches (one pipeline call each); one by one when GDCM must apply a different rescale
  // per file (it picks one output type for a whole batch).
  const CHUNK = oneByOne ? 1 : 24;
  for (let i = 0; i < paths.length; i += CHUNK) {
    throwIfCancelled(opts.signal);
    const chunk = paths.slice(i, i + CHUNK);
    let image;
    try {
      ({
        result: { outputImage: image },
      } = await quietly(() => readImageDicomFileSeriesNode({ inputImages: chunk, singleSortedSeries: true })));
    } catch (e) {
      // Find the file at fault so that the message can name it.
      if (chunk.length > 1) {
        for (const p of chunk) {
          const sub = await decodeWithItk([p], opts, () => undefined);
          out.set(p, sub.get(p)!);
        }
        for (let k = 0; k < chunk.length; k++) onFile();
        continue;
      }
      throw new DelineateError('FORMAT', `${chunk[0]}: cannot decode compressed pixel data (${itkErrorDetail(e)})`, {
        subject: chunk[0]!,
        cause: e,
      });
    }
    const data = image.data as ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> };
    if (!data || image.imageType.components !== 1)
      throw new DelineateError('UNSUPPORTED', `${chunk[0]}: decoder returned ${image.imageType.components}-component pixels`, { subject: chunk[0]! });
    const frameSize = (image.size[0] ?? 0) * (image.size[1] ?? 0);
    const framesTotal = data.length / frameSize;
    const perFile = framesTotal / chunk.length;
    if (!Number.isInteger(perFile))
      throw new DelineateError('FORMAT', `${chunk[0]}: decoder returned ${framesTotal} frames for ${chunk.length} files`, { subject: chunk[0]! });
    chunk.forEach((p, k) => {
      const frames: ArrayLike<number>[] = [];
      for (let f = 0; f < perFile; f++) frames.push(data.subarray((k * perFile + f) * frameSize, (k * perFile + f + 1) * frameSize));
      out.set(p, frames);
      onFile();
    });
  }
  return out;
}

/**
 * Decode the voxels of a planned volume. Progress: stage 'read', unit files. Throws GEOMETRY for a series with
 * a missing slice (naming the files on each side of the gap), FORMAT for truncated or undecodable files (naming
 * the file), UNSUPPORTED for pixel layouts we do not handle.
 */
export async function decodePlan(plan: VolumePlan, opts: JobOptions = {}): Promise<Volume> {
  const { info } = plan;
  if (plan.missing.length) {
    const m = plan.missing[0]!;
    throw new DelineateError(
      'GEOMETRY',
      `${m.after.path}: slice(s) missing before this file — gap of ${Math.round(m.gapMm * 1000) / 1000} mm after ${m.before.path} where slices are ${Math.round(m.stepMm * 1000) / 1000} mm apart (series '${info.description}', ${info.id})`,
      { subject: m.after.path },
    );
  }
  const [ni, nj, nk] = info.size;
  const sliceVoxels = ni * nj;
  const out = allocateVoxels(info.dataType, sliceVoxels * nk);
  const files = info.files;
  let done = 0;
  const total = files.length;
  opts.onProgress?.({ stage: 'read', done, total });
  const progress = () => {
    done++;
    opts.onProgress?.({ stage: 'read', done, total });
  };
  const compressed = files.filter((p) => !decodedNatively(plan.headers.get(p)!.transferSyntax));
  const rescales = new Set(plan.frames.filter((f) => compressed.includes(f.path)).map((f) => `${f.rescaleSlope}/${f.rescaleIntercept}`));
  const multiFrame = compressed.some((p) => plan.headers.get(p)!.numberOfFrames > 1);
  const itkFrames = compressed.length ? await decodeWithItk(compressed, opts, progress, rescales.size > 1 || multiFrame) : new Map<string, ArrayLike<number>[]>();

  if (plan.mosaic) {
    const f = plan.frames[0]!;
    const h = plan.headers.get(f.path)!;
    let src: ArrayLike<number>;
    let rescale = true;
    if (itkFrames.has(f.path)) {
      src = itkFrames.get(f.path)![0]!;
      rescale = false;
    } else {
      const file = await readWhole(f.path);
      const { bytes, bigEndian } = nativeFrameBytes(h, file, 0, new Map());
      src = storedSamples(h, bytes, bigEndian);
      progress();
    }
    const m = rescale ? f.rescaleSlope : 1;
    const b = rescale ? f.rescaleIntercept : 0;
    const { tilesPerRow, slices } = plan.mosaic;
    let clipped = 0;
    for (let k = 0; k < slices; k++) {
      const tr = Math.floor(k / tilesPerRow);
      const tc = k % tilesPerRow;
      for (let j = 0; j < nj; j++) {
        const srcRow = (tr * nj + j) * h.columns + tc * ni;
        clipped += putFrame(out, k * sliceVoxels + j * ni, ni, subarray(src, srcRow, srcRow + ni), m, b, info.dataType);
      }
    }
    noteClipping(info, clipped);
    return { size: info.size, spacingMm: info.spacingMm, originMm: info.originMm, direction: info.direction, dataType: info.dataType, data: out };
  }

  // Group frames by file so that each file is read once.
  const kByFile = new Map<string, { frame: DicomFrame; k: number }[]>();
  plan.frames.forEach((frame, k) => {
    let l = kByFile.get(frame.path);
    if (!l) kByFile.set(frame.path, (l = []));
    l.push({ frame, k });
  });
  let clipped = 0;
  const reader = readAhead(files.filter((p) => !itkFrames.has(p)), 8);
  for (const path of files) {
    throwIfCancelled(opts.signal);
    const h = plan.headers.get(path)!;
    if (h.rows !== nj || h.columns !== ni)
      throw new DelineateError('GEOMETRY', `${path}: ${h.columns}×${h.rows} pixels where the series has ${ni}×${nj}`, { subject: path });
    const entries = kByFile.get(path)!;
    const decoded = itkFrames.get(path);
    if (decoded) {
      for (const { frame, k } of entries) {
        const src = decoded[frame.frame];
        if (!src || src.length !== sliceVoxels) throw new DelineateError('FORMAT', `${path}: frame ${frame.frame + 1} could not be decoded`, { subject: path });
        clipped += putFrame(out, k * sliceVoxels, sliceVoxels, src, 1, 0, info.dataType);
      }
      continue;
    }
    const file = await reader.next(path);
    const cache = new Map<string, Uint8Array[]>();
    for (const { frame, k } of entries) {
      const { bytes, bigEndian } = nativeFrameBytes(h, file, frame.frame, cache);
      clipped += putFrame(out, k * sliceVoxels, sliceVoxels, storedSamples(h, bytes, bigEndian), frame.rescaleSlope, frame.rescaleIntercept, info.dataType);
    }
    progress();
  }
  noteClipping(info, clipped);
  return { size: info.size, spacingMm: info.spacingMm, originMm: info.originMm, direction: info.direction, dataType: info.dataType, data: out };
}

function noteClipping(info: VolumePlan['info'], clipped: number): void {
  const w = `${clipped} voxel value(s) outside the ${info.dataType} range were saturated`;
  if (clipped > 0 && !info.warnings.includes(w)) info.warnings.push(w);
}

function subarray(a: ArrayLike<number>, begin: number, end: number): ArrayLike<number> {
  return (a as Uint8Array).subarray(begin, end);
}

/**
 * Reads files in the given order with up to `depth` reads in flight, so that disk reads overlap decoding.
 * `next(path)` must be called in the same order as `paths`.
 */
function readAhead(paths: string[], depth: number): { next(path: string): Promise<Uint8Array> } {
  const pending: Promise<Uint8Array>[] = [];
  let issued = 0;
  let taken = 0;
  const fill = () => {
    while (issued < paths.length && issued - taken < depth) {
      const p = readWhole(paths[issued++]!);
      p.catch(() => undefined); // surfaced when taken
      pending.push(p);
    }
  };
  return {
    next(path: string) {
      fill();
      if (paths[taken] !== path) return readWhole(path);
      const p = pending[taken]!;
      pending[taken++] = undefined as unknown as Promise<Uint8Array>;
      fill();
      return p;
    },
  };
}

async function readWhole(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new DelineateError('IO', `${path}: cannot read (${(e as Error).message})`, { subject: path, cause: e });
  }
}
