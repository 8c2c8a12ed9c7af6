/**
 * DICOM Segmentation reader: BINARY (1-bit) and FRACTIONAL (8-bit; a pixel belongs to the segment when its value is
 * at least half of MaximumFractionalValue) segmentations in native (uncompressed) transfer syntaxes, parsed with
 * main/core/io's DICOM parser. Frames are placed by their PlanePositionSequence on a reference grid — the source
 * series', checked against the SEG's ReferencedSeriesSequence — or, without a reference, on a grid built from the
 * frames themselves. Overlapping segments are kept, in layers.
 */
import { readFile } from 'node:fs/promises';
import { DelineateError } from '../../common/errors';
import { lpsToIjk, transformPoint } from '../../common/geometry';
import type { CodedConcept, LayeredSegment } from '../../common/segmentation';
import type { Grid, Mat3, Vec3 } from '../../common/volume';
import { dicomLabToRgb, defaultColor } from './color';
import { packSegments } from './layers';
import type { ReadSegmentation } from './slicer';
import { type DataSet, TAGS, parseDicom, tag } from './source';
import { SEGMENTATION_STORAGE } from './dicom-seg-write';

/** The reference a DICOM SEG is read onto: a series' grid and identity. */
export interface SegReference {
  grid: Grid;
  /** SeriesInstanceUID of the open series (DICOM sources); checked against the SEG's ReferencedSeriesSequence. */
  seriesInstanceUid?: string;
  /** FrameOfReferenceUID of the open series; checked when the SEG lists no referenced series. */
  frameOfReferenceUid?: string;
  /** For messages. */
  name: string;
}

const T = {
  SegmentSequence: tag(0x0062, 0x0002),
  SegmentationType: tag(0x0062, 0x0001),
  SegmentNumber: tag(0x0062, 0x0004),
  SegmentLabel: tag(0x0062, 0x0005),
  SegmentAlgorithmType: tag(0x0062, 0x0008),
  SegmentAlgorithmName: tag(0x0062, 0x0009),
  SegmentIdentificationSequence: tag(0x0062, 0x000a),
  ReferencedSegmentNumber: tag(0x0062, 0x000b),
  RecommendedDisplayCIELabValue: tag(0x0062, 0x000d),
  MaximumFractionalValue: tag(0x0062, 0x000e),
  CategoryCode: tag(0x0062, 0x0003),
  TypeCode: tag(0x0062, 0x000f),
  AnatomicRegion: tag(0x0008, 0x2218),
  CodeValue: tag(0x0008, 0x0100),
  LongCodeValue: tag(0x0008, 0x0119),
  Scheme: tag(0x0008, 0x0102),
  Meaning: tag(0x0008, 0x0104),
  ReferencedSeriesSequence: tag(0x0008, 0x1115),
  ReferencedInstanceSequence: tag(0x0008, 0x114a),
} as const;

/** What a SEG says about itself (without voxels). */
export interface DicomSegInfo {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** SeriesInstanceUIDs listed in ReferencedSeriesSequence. */
  referencedSeriesUids: string[];
  frameOfReferenceUid: string;
  segmentationType: string;
}

const WRAP_TAG = tag(0x0008, 0x0001);

/**
 * Items of a sequence. In Implicit VR files the io parser knows only the sequences it needs for images; a
 * defined-length sequence it does not know stays raw bytes. Those bytes are re-read with the same parser by
 * wrapping them as an undefined-length element (which it always parses as a sequence).
 */
function itemsOf(ds: DataSet, t: number): DataSet[] {
  const items = ds.items(t);
  if (items.length) return items;
  const e = ds.elements.get(t);
  if (!e || (e.vr !== '??' && e.vr !== 'UN') || e.length <= 0) return [];
  const raw = ds.raw(t);
  if (!raw) return [];
  const buf = new Uint8Array(raw.length + 16);
  const dv = new DataView(buf.buffer);
  dv.setUint16(0, 0x0008, true);
  dv.setUint16(2, 0x0001, true);
  dv.setUint32(4, 0xffffffff, true);
  buf.set(raw, 8);
  dv.setUint16(8 + raw.length, 0xfffe, true);
  dv.setUint16(10 + raw.length, 0xe0dd, true);
  try {
    return parseDicom(buf, true)?.dataset.items(WRAP_TAG) ?? [];
  } catch {
    return [];
  }
}

function itemOf(ds: DataSet | undefined, t: number): DataSet | undefined {
  return ds ? itemsOf(ds, t)[0] : undefined;
}

/** US values of an element, also when Implicit VR left it untyped. */
function usValues(ds: DataSet, t: number): number[] {
  const e = ds.elements.get(t);
  if (e && (e.vr === '??' || e.vr === 'UN')) {
    const raw = ds.raw(t) ?? new Uint8Array(0);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out: number[] = [];
    for (let o = 0; o + 2 <= raw.byteLength; o += 2) out.push(dv.getUint16(o, ds.littleEndian));
    return out;
  }
  return ds.numbers(t);
}

function codeOf(ds: DataSet | undefined): CodedConcept | undefined {
  if (!ds) return undefined;
  const value = ds.string(T.CodeValue) ?? ds.string(T.LongCodeValue);
  const scheme = ds.string(T.Scheme);
  if (!value || !scheme) return undefined;
  return { scheme, value, meaning: ds.string(T.Meaning) ?? '' };
}

const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/**
 * Decode DICOM SEG bytes onto `reference` (or onto the frames' own grid when there is none).
 *
 * Errors: FORMAT (not DICOM, not a Segmentation object, broken functional groups, truncated pixel data),
 * UNSUPPORTED (compressed transfer syntax, LABELMAP/other types, implicit-VR sequences the parser cannot see),
 * INPUT (the SEG references another series than `reference` — the message names both UIDs), GEOMETRY (frames
 * not on the reference grid's planes/spacing).
 */
export function decodeDicomSeg(bytes: Uint8Array, path: string, reference?: SegReference): ReadSegmentation & { info: DicomSegInfo } {
  const fail = (code: 'FORMAT' | 'UNSUPPORTED' | 'GEOMETRY' | 'INPUT', m: string) => new DelineateError(code, `${path}: ${m}`, { subject: path });
  let parsed;
  try {
    parsed = parseDicom(bytes, true);
  } catch (e) {
    throw new DelineateError('FORMAT', `${path}: not a readable DICOM file (${(e as Error).message})`, { subject: path, cause: e });
  }
  if (!parsed) throw fail('FORMAT', 'not a DICOM file');
  const ds = parsed.dataset;
  const sopClass = ds.string(TAGS.SOPClassUID) ?? parsed.meta.string(TAGS.MediaStorageSOPClassUID) ?? '';
  if (sopClass !== SEGMENTATION_STORAGE) throw fail('FORMAT', `not a DICOM Segmentation (SOP class ${sopClass || 'missing'})`);
  const ts = parsed.transferSyntax;
  if (!['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2'].includes(ts))
    throw fail('UNSUPPORTED', `compressed transfer syntax ${ts} is not supported for segmentations (native or deflated only)`);
  const warnings: string[] = [];
  const info: DicomSegInfo = {
    sopInstanceUid: ds.string(TAGS.SOPInstanceUID) ?? '',
    seriesInstanceUid: ds.string(TAGS.SeriesInstanceUID) ?? '',
    referencedSeriesUids: itemsOf(ds, T.ReferencedSeriesSequence).map((it) => it.string(TAGS.SeriesInstanceUID) ?? '').filter(Boolean),
    frameOfReferenceUid: ds.string(TAGS.FrameOfReferenceUID) ?? '',
    segmentationType: (ds.string(T.SegmentationType) ?? '').toUpperCase(),
  };
  // Which series: the SEG must reference the open series.
  if (reference?.seriesInstanceUid) {
    if (info.referencedSeriesUids.length > 0 && !info.referencedSeriesUids.includes(reference.seriesInstanceUid))
      throw fail(
        'INPUT',
        `this DICOM SEG references series ${info.referencedSeriesUids.join(', ')}, but the open series ${reference.name} is ${reference.seriesInstanceUid}; open the SEG with the series it was made on`,
      );
    if (info.referencedSeriesUids.length === 0) {
      if (reference.frameOfReferenceUid && info.frameOfReferenceUid && reference.frameOfReferenceUid !== info.frameOfReferenceUid)
        throw fail('INPUT', `this DICOM SEG is in frame of reference ${info.frameOfReferenceUid}, but the open series ${reference.name} (${reference.seriesInstanceUid}) is in ${reference.frameOfReferenceUid}`);
      warnings.push(`${path}: no ReferencedSeriesSequence; placed by frame of reference and geometry`);
    }
  } else if (reference) warnings.push(`${path}: the open image ${reference.name} has no DICOM series UID; the SEG is placed by geometry only`);

  const type = info.segmentationType;
  if (type !== 'BINARY' && type !== 'FRACTIONAL') throw fail('UNSUPPORTED', `SegmentationType '${type || 'missing'}' is not supported (BINARY or FRACTIONAL)`);
  const rows = ds.number(TAGS.Rows) ?? 0;
  const cols = ds.number(TAGS.Columns) ?? 0;
  const nFrames = Math.round(ds.number(TAGS.NumberOfFrames) ?? 1);
  const bits = ds.number(TAGS.BitsAllocated) ?? 0;
  if (!(rows > 0 && cols > 0 && nFrames > 0)) throw fail('FORMAT', 'Rows, Columns or NumberOfFrames missing or zero');
  if ((type === 'BINARY' && bits !== 1) || (type === 'FRACTIONAL' && bits !== 8)) throw fail('FORMAT', `${type} segmentation with BitsAllocated ${bits}`);
  const maxFrac = usValues(ds, T.MaximumFractionalValue)[0] ?? 255;
  // Segments.
  const segItems = itemsOf(ds, T.SegmentSequence);
  if (segItems.length === 0) {
    if (ds.has(T.SegmentSequence)) throw fail('FORMAT', 'SegmentSequence has no readable items');
    throw fail('FORMAT', 'no SegmentSequence');
  }
  const segByNumber = new Map<number, Omit<LayeredSegment, 'layer' | 'value'>>();
  for (const it of segItems) {
    const n = usValues(it, T.SegmentNumber)[0];
    if (n === undefined) throw fail('FORMAT', 'a SegmentSequence item has no SegmentNumber');
    const lab = usValues(it, T.RecommendedDisplayCIELabValue);
    const s: Omit<LayeredSegment, 'layer' | 'value'> = {
      name: it.string(T.SegmentLabel) || `Segment ${n}`,
      color: lab.length === 3 ? dicomLabToRgb(lab) : defaultColor(n),
    };
    const cat = codeOf(itemOf(it, T.CategoryCode));
    if (cat) s.category = cat;
    const typ = codeOf(itemOf(it, T.TypeCode));
    if (typ) s.code = typ;
    const region = codeOf(itemOf(it, T.AnatomicRegion));
    if (region) s.anatomicRegion = region;
    const alg = it.string(T.SegmentAlgorithmType);
    if (alg === 'MANUAL' || alg === 'SEMIAUTOMATIC' || alg === 'AUTOMATIC') s.algorithmType = alg;
    const algName = it.string(T.SegmentAlgorithmName);
    if (algName) s.algorithmName = algName;
    if (lab.length !== 3) warnings.push(`${path}: segment ${n} has no RecommendedDisplayCIELabValue; default colour used`);
    segByNumber.set(n, s);
  }
  // Frame geometry.
  const shared = itemOf(ds, TAGS.SharedFunctionalGroups);
  const perFrame = itemsOf(ds, TAGS.PerFrameFunctionalGroups);
  if (perFrame.length !== nFrames) throw fail('FORMAT', `PerFrameFunctionalGroupsSequence has ${perFrame.length} items for ${nFrames} frames`);
  const pick = (f: number, seqTag: number): DataSet | undefined => itemOf(perFrame[f], seqTag) ?? itemOf(shared, seqTag);
  const frameSegment: number[] = [];
  const framePos: Vec3[] = [];
  let orientation: number[] | undefined;
  let pixelSpacing: number[] | undefined;
  let sliceStep: number | undefined;
  for (let f = 0; f < nFrames; f++) {
    const sid = pick(f, T.SegmentIdentificationSequence);
    const segNo = (sid ? usValues(sid, T.ReferencedSegmentNumber)[0] : undefined) ?? (segByNumber.size === 1 ? [...segByNumber.keys()][0] : undefined);
    if (segNo === undefined || !segByNumber.has(segNo)) throw fail('FORMAT', `frame ${f + 1}: ReferencedSegmentNumber ${segNo ?? 'missing'} is not in SegmentSequence`);
    frameSegment.push(segNo);
    const pos = pick(f, TAGS.PlanePositionSequence)?.numbers(TAGS.ImagePositionPatient) ?? [];
    if (pos.length < 3 || !pos.slice(0, 3).every(Number.isFinite)) throw fail('FORMAT', `frame ${f + 1}: no ImagePositionPatient in PlanePositionSequence`);
    framePos.push([pos[0]!, pos[1]!, pos[2]!]);
    const o = pick(f, TAGS.PlaneOrientationSequence)?.numbers(TAGS.ImageOrientationPatient) ?? [];
    if (o.length < 6) throw fail('FORMAT', `frame ${f + 1}: no ImageOrientationPatient in PlaneOrientationSequence`);
    if (!orientation) orientation = o.slice(0, 6);
    else if (o.some((x, i) => Math.abs(x - orientation![i]!) > 1e-4)) throw fail('UNSUPPORTED', `frame ${f + 1}: frames with different orientations are not supported`);
    const pm = pick(f, TAGS.PixelMeasuresSequence);
    const ps = pm?.numbers(TAGS.PixelSpacing) ?? [];
    if (ps.length < 2) throw fail('FORMAT', `frame ${f + 1}: no PixelSpacing in PixelMeasuresSequence`);
    if (!pixelSpacing) pixelSpacing = ps.slice(0, 2);
    const sbs = pm?.number(TAGS.SpacingBetweenSlices);
    if (sbs !== undefined && sbs > 0) sliceStep = sbs;
  }
  const row: Vec3 = [orientation![0]!, orientation![1]!, orientation![2]!];
  const col: Vec3 = [orientation![3]!, orientation![4]!, orientation![5]!];
  const normal = cross(row, col);
  // Target grid.
  let grid: Grid;
  if (reference) grid = reference.grid;
  else {
    const dist = framePos.map((p) => p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2]);
    const uniq = [...new Set(dist.map((x) => Math.round(x * 1e4) / 1e4))].sort((a, b) => a - b);
    let step = sliceStep;
    if (step === undefined) {
      step = Infinity;
      for (let i = 1; i < uniq.length; i++) step = Math.min(step, uniq[i]! - uniq[i - 1]!);
      if (!Number.isFinite(step)) step = 1;
    }
    const first = framePos[dist.indexOf(Math.min(...dist))]!;
    const nz = Math.round((uniq[uniq.length - 1]! - uniq[0]!) / step) + 1;
    const direction: Mat3 = [row[0], col[0], normal[0], row[1], col[1], normal[1], row[2], col[2], normal[2]];
    grid = { size: [cols, rows, nz], spacingMm: [pixelSpacing![1]!, pixelSpacing![0]!, step], originMm: first, direction };
    warnings.push(`${path}: read without its source series: grid built from the SEG's ${uniq.length} frame position(s)`);
  }
  const g = grid;
  const refName = reference?.name ?? 'the frames';
  const geoFail = (m: string) => fail('GEOMETRY', `frames do not lie on the grid of ${refName}: ${m}`);
  for (let r = 0; r < 3; r++) {
    if (Math.abs(g.direction[r * 3]! - row[r]!) > 1e-3 || Math.abs(g.direction[r * 3 + 1]! - col[r]!) > 1e-3)
      throw geoFail(`frame orientation ${orientation!.map((x) => Number(x.toFixed(5))).join(', ')} differs from the grid's row/column directions`);
  }
  if (Math.abs(pixelSpacing![1]! - g.spacingMm[0]) > 1e-3 * g.spacingMm[0] || Math.abs(pixelSpacing![0]! - g.spacingMm[1]) > 1e-3 * g.spacingMm[1])
    throw geoFail(`pixel spacing ${pixelSpacing!.join('\\')} vs grid spacing ${g.spacingMm[1]}\\${g.spacingMm[0]}`);
  // Pixel data.
  const pd = parsed.pixelData;
  if (!pd || pd.length < 0) throw fail(pd ? 'UNSUPPORTED' : 'FORMAT', pd ? 'encapsulated pixel data is not supported' : 'no Pixel Data');
  const body = ds.bytes;
  const plane = rows * cols;
  const needBytes = type === 'BINARY' ? Math.ceil((plane * nFrames) / 8) : plane * nFrames;
  if (pd.offset + Math.min(pd.length, needBytes) > body.byteLength || pd.length < needBytes)
    throw fail('FORMAT', `pixel data is truncated (${Math.min(pd.length, body.byteLength - pd.offset)} of ${needBytes} bytes)`);
  const pixels = body.subarray(pd.offset, pd.offset + needBytes);
  const toIjk = lpsToIjk(g);
  const [nx, ny, nz] = g.size;
  const voxelsBySegment = new Map<number, number[]>();
  let dropped = 0;
  const half = maxFrac / 2;
  for (let f = 0; f < nFrames; f++) {
    const ijk = transformPoint(toIjk, framePos[f]!);
    const o = ijk.map(Math.round);
    if (ijk.some((x, c) => Math.abs(x - o[c]!) > 0.05))
      throw geoFail(`frame ${f + 1} at (${framePos[f]!.map((x) => Number(x.toFixed(3))).join(', ')}) mm is at index (${ijk.map((x) => Number(x.toFixed(3))).join(', ')}), not on a voxel centre`);
    const [i0, j0, k] = o as [number, number, number];
    let list = voxelsBySegment.get(frameSegment[f]!);
    if (!list) voxelsBySegment.set(frameSegment[f]!, (list = []));
    const base = f * plane;
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const p = base + r * cols + c;
        const on = type === 'BINARY' ? (pixels[p >>> 3]! >> (p & 7)) & 1 : pixels[p]! >= half && pixels[p]! > 0;
        if (!on) continue;
        const I = i0 + c;
        const J = j0 + r;
        if (I < 0 || I >= nx || J < 0 || J >= ny || k < 0 || k >= nz) {
          dropped++;
          continue;
        }
        list.push(I + nx * (J + ny * k));
      }
  }
  if (dropped) warnings.push(`${path}: ${dropped} segment voxel(s) lie outside ${refName} and were left out`);
  const numbers = [...segByNumber.keys()].sort((a, b) => a - b);
  const items = numbers.map((n) => {
    const list = voxelsBySegment.get(n) ?? [];
    const voxels = Uint32Array.from(list).sort();
    // Unique (a frame listed twice).
    let m = 0;
    for (let i = 0; i < voxels.length; i++) if (i === 0 || voxels[i] !== voxels[i - 1]) voxels[m++] = voxels[i]!;
    return { segment: { ...segByNumber.get(n)!, value: n }, voxels: voxels.subarray(0, m) };
  });
  const segmentation = packSegments(g, items);
  return { segmentation, warnings, info };
}

/** Read a DICOM SEG file onto a reference (see {@link decodeDicomSeg}). Errors: NOT_FOUND and decodeDicomSeg's. */
export async function readDicomSeg(path: string, reference?: SegReference): Promise<ReadSegmentation & { info: DicomSegInfo }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${path}: cannot read (${(e as Error).message})`, { subject: path, cause: e });
  }
  return decodeDicomSeg(bytes, path, reference);
}
