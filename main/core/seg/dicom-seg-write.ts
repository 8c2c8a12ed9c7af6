/**
 * DICOM Segmentation (SOP class 1.2.840.10008.5.1.4.1.1.66.4) writer: BINARY segmentation, Explicit VR Little
 * Endian, 1-bit pixels packed LSB-first across frames. One frame per segment per slice (slices where a segment
 * is empty are left out unless `omitEmptyFrames` is false; a segment with no voxels keeps one empty frame so that
 * it is still listed), ordered by segment then slice, each with its per-frame functional groups
 * (DerivationImageSequence → the source slice's instance, FrameContentSequence with DimensionIndexValues
 * [segment number, slice number], PlanePositionSequence, SegmentIdentificationSequence). Overlapping segments
 * stay overlapping: each segment has its own frames. Shared functional groups hold PixelMeasures and
 * PlaneOrientation; ReferencedSeriesSequence lists every source instance; patient, study and frame-of-reference
 * attributes are copied from the source series.
 */
import { DelineateError } from '../../common/errors';
import type { CodedConcept, LayeredSegment, Segmentation } from '../../common/segmentation';
import { gridDifference } from '../metrics/grid';
import { writeFileAtomic } from '../fs/atomic';
import { TISSUE, rgbToDicomLab } from './color';
import { type DicomElement, el, encodePart10, newUid, seq } from './dicom-encode';
import { checkSegmentation, compactLayers } from './layers';
import { type SourceSeries, TAGS, tag } from './source';

/** SOP Class UID of DICOM Segmentation Storage. */
export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
/** Delineate's implementation class UID (a fixed UUID-derived UID). */
export const IMPLEMENTATION_CLASS_UID = '2.25.12993666150526783561887030518776795870';
const IMPLEMENTATION_VERSION = 'DELINEATE_0_1';

/** Options of {@link encodeDicomSeg}. */
export interface DicomSegOptions {
  /** SeriesDescription; default 'Segmentation'. */
  seriesDescription?: string;
  /** SeriesNumber; default 300. */
  seriesNumber?: number;
  /** ContentLabel (CS: upper case, digits, space, underscore; ≤ 16); default 'SEGMENTATION'. */
  contentLabel?: string;
  contentDescription?: string;
  /** ContentCreatorName (PN, e.g. 'Doe^Jane'); default empty. */
  contentCreatorName?: string;
  /** Leave out frames where a segment has no voxels (default true). */
  omitEmptyFrames?: boolean;
  /** Fixed UIDs (for reproducible files); new 2.25 UIDs otherwise. */
  uids?: { series?: string; instance?: string; dimensionOrganization?: string };
  /** Creation time (for reproducible files); now otherwise. */
  now?: Date;
  /** SoftwareVersions; default the app version string. */
  softwareVersion?: string;
}

/** What {@link encodeDicomSeg} produced. */
export interface EncodedDicomSeg {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  frameCount: number;
  /** Segment number (1-based, SegmentSequence order) → segment value in the segmentation. */
  segmentNumbers: Map<number, number>;
}

const TEXT_MAX: Record<string, number> = { LO: 64, SH: 16, PN: 64, CS: 16 };

const pad2 = (n: number) => String(n).padStart(2, '0');
const da = (d: Date) => `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}`;
const tm = (d: Date) => `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;

function codeItem(c: CodedConcept): DicomElement[] {
  const out = [el(0x0008, 0x0102, 'SH', c.scheme), el(0x0008, 0x0104, 'LO', c.meaning.slice(0, 64))];
  out.push(c.value.length > 16 ? el(0x0008, 0x0119, 'UC', c.value) : el(0x0008, 0x0100, 'SH', c.value));
  return out;
}

/**
 * Encode a segmentation as a DICOM SEG referencing `source` (the segmentation must be on the source's grid).
 * Errors: GEOMETRY (another grid, naming both), INPUT (inconsistent segmentation, no segments, text too long).
 */
export function encodeDicomSeg(seg: Segmentation, source: SourceSeries, options: DicomSegOptions = {}): EncodedDicomSeg {
  checkSegmentation(seg, 'segmentation');
  const diff = gridDifference(seg, source.grid);
  if (diff) throw new DelineateError('GEOMETRY', `The segmentation is not on the grid of ${source.name} (${diff}); a DICOM SEG must be on its source series' grid`, { subject: source.name });
  if (seg.segments.length === 0) throw new DelineateError('INPUT', 'The segmentation has no segments; a DICOM SEG needs at least one', { subject: source.name });
  if (source.slices.length !== seg.size[2]) throw new DelineateError('GEOMETRY', `${source.name}: ${source.slices.length} slices for a grid of ${seg.size[2]}`, { subject: source.name });
  const now = options.now ?? new Date();
  const omitEmpty = options.omitEmptyFrames ?? true;
  const [nx, ny, nz] = seg.size;
  const plane = nx * ny;
  const src = source.firstDataset;
  const charset = src.string(tag(0x0008, 0x0005)) ?? '';
  const utf8 = charset.includes('192');
  /** Own text → the bytes-as-latin1 string the encoder writes, in the dataset's character set. */
  const own = (s: string, vr: string): string => {
    let t = s.replace(/\\/g, '/');
    const max = TEXT_MAX[vr];
    if (max !== undefined && t.length > max) t = t.slice(0, max);
    // eslint-disable-next-line no-control-regex
    if (/^[\x00-\x7f]*$/.test(t)) return t;
    if (utf8 || charset === '') return Buffer.from(t, 'utf8').toString('latin1');
    // eslint-disable-next-line no-control-regex
    if (charset === 'ISO_IR 100') return t.replace(/[^\x00-\xff]/g, '?');
    // eslint-disable-next-line no-control-regex
    return t.replace(/[^\x00-\x7f]/g, '?');
  };
  // eslint-disable-next-line no-control-regex
  const ownNeedsUtf8 = charset === '' && [...seg.segments.map((s) => s.name), options.seriesDescription ?? '', options.contentDescription ?? '', options.contentCreatorName ?? ''].some((s) => /[^\x00-\x7f]/.test(s));
  /** Copy a text attribute of the source (type 2: present even when empty). */
  const copy = (g: number, e: number, vr: string): DicomElement => {
    let v = src.string(tag(g, e)) ?? '';
    const max = TEXT_MAX[vr] ?? (vr === 'DA' ? 8 : vr === 'TM' ? 14 : vr === 'UI' ? 64 : vr === 'AS' ? 4 : undefined);
    if (max !== undefined && v.length > max) v = v.slice(0, max);
    return el(g, e, vr, v);
  };
  const seriesUid = options.uids?.series ?? newUid();
  const instanceUid = options.uids?.instance ?? newUid();
  const dimUid = options.uids?.dimensionOrganization ?? newUid();

  // Which slices each segment occupies.
  const present = new Map<number, Uint8Array>();
  for (const s of seg.segments) present.set(s.value, new Uint8Array(nz));
  seg.layers.forEach((layer, li) => {
    const inLayer = new Set(seg.segments.filter((s) => s.layer === li).map((s) => s.value));
    for (let k = 0; k < nz; k++) {
      const base = k * plane;
      for (let p = 0; p < plane; p++) {
        const v = layer[base + p]!;
        if (v !== 0 && inLayer.has(v)) present.get(v)![k] = 1;
      }
    }
  });
  interface Frame {
    segment: LayeredSegment;
    number: number;
    k: number;
  }
  const frames: Frame[] = [];
  seg.segments.forEach((s, idx) => {
    const p = present.get(s.value)!;
    let any = false;
    for (let k = 0; k < nz; k++)
      if (!omitEmpty || p[k]) {
        frames.push({ segment: s, number: idx + 1, k });
        any = true;
      }
    if (!any) frames.push({ segment: s, number: idx + 1, k: 0 });
  });
  // Pixel data: 1 bit per pixel, frames back to back, LSB first.
  const totalBits = frames.length * plane;
  const pixelBytes = new Uint8Array(Math.ceil(totalBits / 8) + (Math.ceil(totalBits / 8) % 2));
  frames.forEach((f, fi) => {
    const layer = seg.layers[f.segment.layer]!;
    const base = f.k * plane;
    const bit0 = fi * plane;
    const v = f.segment.value;
    for (let p = 0; p < plane; p++) {
      if (layer[base + p] === v) {
        const b = bit0 + p;
        pixelBytes[b >>> 3]! |= 1 << (b & 7);
      }
    }
  });
  const d = seg.direction;
  const position = (k: number): number[] => [0, 1, 2].map((r) => seg.originMm[r]! + d[r * 3 + 2]! * seg.spacingMm[2] * k);
  const perFrame: DicomElement[][] = frames.map((f) => {
    const s = source.slices[f.k]!;
    const srcItem: DicomElement[] = [
      el(0x0008, 0x1150, 'UI', s.sopClassUid),
      el(0x0008, 0x1155, 'UI', s.sopInstanceUid),
      seq(0x0040, 0xa170, [codeItem({ scheme: 'DCM', value: '121322', meaning: 'Source image for image processing operation' })]),
    ];
    if (s.frameNumber !== undefined) srcItem.push(el(0x0008, 0x1160, 'IS', s.frameNumber));
    return [
      seq(0x0008, 0x9124, [[seq(0x0008, 0x9215, [codeItem({ scheme: 'DCM', value: '113076', meaning: 'Segmentation' })]), seq(0x0008, 0x2112, [srcItem])]]),
      seq(0x0020, 0x9111, [[el(0x0020, 0x9157, 'UL', [f.number, f.k + 1])]]),
      seq(0x0020, 0x9113, [[el(0x0020, 0x0032, 'DS', position(f.k))]]),
      seq(0x0062, 0x000a, [[el(0x0062, 0x000b, 'US', f.number)]]),
    ];
  });
  // SliceThickness: the source's (slices may be thinner than their spacing), else the spacing.
  const srcThickness = src.number(TAGS.SliceThickness);
  const thickness = srcThickness !== undefined && srcThickness > 0 ? srcThickness : seg.spacingMm[2];
  const shared: DicomElement[] = [
    seq(0x0028, 0x9110, [
      [el(0x0018, 0x0050, 'DS', thickness), el(0x0018, 0x0088, 'DS', seg.spacingMm[2]), el(0x0028, 0x0030, 'DS', [seg.spacingMm[1], seg.spacingMm[0]])],
    ]),
    seq(0x0020, 0x9116, [[el(0x0020, 0x0037, 'DS', [d[0], d[3], d[6], d[1], d[4], d[7]])]]),
  ];
  const segmentItems: DicomElement[][] = seg.segments.map((s, idx) => {
    const type = s.algorithmType ?? 'MANUAL';
    const item: DicomElement[] = [
      seq(0x0062, 0x0003, [codeItem(s.category ?? TISSUE)]),
      el(0x0062, 0x0004, 'US', idx + 1),
      el(0x0062, 0x0005, 'LO', own(s.name, 'LO')),
      el(0x0062, 0x0008, 'CS', type),
      el(0x0062, 0x000d, 'US', rgbToDicomLab(s.color)),
      seq(0x0062, 0x000f, [codeItem(s.code ?? TISSUE)]),
    ];
    if (type !== 'MANUAL') item.push(el(0x0062, 0x0009, 'LO', own(s.algorithmName ?? 'Delineate', 'LO')));
    if (s.anatomicRegion) item.push(seq(0x0008, 0x2218, [codeItem(s.anatomicRegion)]));
    return item;
  });
  const seenInstances = new Set<string>();
  const referenced: DicomElement[][] = [];
  for (const s of source.slices) {
    if (seenInstances.has(s.sopInstanceUid)) continue;
    seenInstances.add(s.sopInstanceUid);
    referenced.push([el(0x0008, 0x1150, 'UI', s.sopClassUid), el(0x0008, 0x1155, 'UI', s.sopInstanceUid)]);
  }
  // SegmentsOverlap: whether any voxel belongs to two segments (layers that could be merged do not count).
  const overlapping = seg.layers.length > 1 && compactLayers(seg).layers.length > 1;
  const ds: DicomElement[] = [
    el(0x0008, 0x0008, 'CS', ['DERIVED', 'PRIMARY']),
    el(0x0008, 0x0012, 'DA', da(now)),
    el(0x0008, 0x0013, 'TM', tm(now)),
    el(0x0008, 0x0016, 'UI', SEGMENTATION_STORAGE),
    el(0x0008, 0x0018, 'UI', instanceUid),
    copy(0x0008, 0x0020, 'DA'),
    el(0x0008, 0x0021, 'DA', da(now)),
    el(0x0008, 0x0023, 'DA', da(now)),
    copy(0x0008, 0x0030, 'TM'),
    el(0x0008, 0x0031, 'TM', tm(now)),
    el(0x0008, 0x0033, 'TM', tm(now)),
    copy(0x0008, 0x0050, 'SH'),
    el(0x0008, 0x0060, 'CS', 'SEG'),
    el(0x0008, 0x0070, 'LO', 'Delineate'),
    copy(0x0008, 0x0090, 'PN'),
    el(0x0008, 0x103e, 'LO', own(options.seriesDescription ?? 'Segmentation', 'LO')),
    el(0x0008, 0x1090, 'LO', 'Delineate'),
    seq(0x0008, 0x1115, [[seq(0x0008, 0x114a, referenced), el(0x0020, 0x000e, 'UI', source.seriesInstanceUid)]]),
    copy(0x0010, 0x0010, 'PN'),
    copy(0x0010, 0x0020, 'LO'),
    copy(0x0010, 0x0030, 'DA'),
    copy(0x0010, 0x0040, 'CS'),
    el(0x0018, 0x1000, 'LO', '0'),
    el(0x0018, 0x1020, 'LO', options.softwareVersion ?? '0.1.0'),
    el(0x0020, 0x000d, 'UI', source.studyInstanceUid),
    el(0x0020, 0x000e, 'UI', seriesUid),
    copy(0x0020, 0x0010, 'SH'),
    el(0x0020, 0x0011, 'IS', options.seriesNumber ?? 300),
    el(0x0020, 0x0013, 'IS', 1),
    el(0x0020, 0x0052, 'UI', source.frameOfReferenceUid),
    copy(0x0020, 0x1040, 'LO'),
    seq(0x0020, 0x9221, [[el(0x0020, 0x9164, 'UI', dimUid)]]),
    seq(0x0020, 0x9222, [
      [el(0x0020, 0x9164, 'UI', dimUid), el(0x0020, 0x9165, 'AT', [[0x0062, 0x000b]]), el(0x0020, 0x9167, 'AT', [[0x0062, 0x000a]]), el(0x0020, 0x9421, 'LO', 'ReferencedSegmentNumber')],
      [el(0x0020, 0x9164, 'UI', dimUid), el(0x0020, 0x9165, 'AT', [[0x0020, 0x0032]]), el(0x0020, 0x9167, 'AT', [[0x0020, 0x9113]]), el(0x0020, 0x9421, 'LO', 'ImagePositionPatient')],
    ]),
    el(0x0028, 0x0002, 'US', 1),
    el(0x0028, 0x0004, 'CS', 'MONOCHROME2'),
    el(0x0028, 0x0008, 'IS', frames.length),
    el(0x0028, 0x0010, 'US', ny),
    el(0x0028, 0x0011, 'US', nx),
    el(0x0028, 0x0100, 'US', 1),
    el(0x0028, 0x0101, 'US', 1),
    el(0x0028, 0x0102, 'US', 0),
    el(0x0028, 0x0103, 'US', 0),
    el(0x0028, 0x2110, 'CS', '00'),
    el(0x0062, 0x0001, 'CS', 'BINARY'),
    seq(0x0062, 0x0002, segmentItems),
    el(0x0062, 0x0013, 'CS', overlapping ? 'YES' : 'NO'),
    el(0x0070, 0x0080, 'CS', (options.contentLabel ?? 'SEGMENTATION').toUpperCase().replace(/[^A-Z0-9 _]/g, '_').slice(0, 16)),
    el(0x0070, 0x0081, 'LO', own(options.contentDescription ?? '', 'LO')),
    el(0x0070, 0x0084, 'PN', own(options.contentCreatorName ?? '', 'PN')),
    seq(0x5200, 0x9229, [shared]),
    seq(0x5200, 0x9230, perFrame),
    el(0x7fe0, 0x0010, 'OB', pixelBytes),
  ];
  const study = src.string(TAGS.StudyDescription);
  if (study) ds.push(copy(0x0008, 0x1030, 'LO'));
  const age = src.string(TAGS.PatientAge);
  if (age) ds.push(copy(0x0010, 0x1010, 'AS'));
  if (charset) ds.push(el(0x0008, 0x0005, 'CS', charset.split('\\')));
  else if (ownNeedsUtf8) ds.push(el(0x0008, 0x0005, 'CS', 'ISO_IR 192'));
  const bytes = encodePart10(ds, SEGMENTATION_STORAGE, instanceUid, { classUid: IMPLEMENTATION_CLASS_UID, versionName: IMPLEMENTATION_VERSION });
  return { bytes, sopInstanceUid: instanceUid, seriesInstanceUid: seriesUid, frameCount: frames.length, segmentNumbers: new Map(seg.segments.map((s, i) => [i + 1, s.value])) };
}

/**
 * Write a DICOM SEG file (atomically) referencing `source`; see {@link encodeDicomSeg}. The source files are only
 * read. Errors: as encodeDicomSeg, plus IO.
 */
export async function writeDicomSeg(seg: Segmentation, source: SourceSeries, path: string, options: DicomSegOptions = {}): Promise<Omit<EncodedDicomSeg, 'bytes'>> {
  const { bytes, ...rest } = encodeDicomSeg(seg, source, options);
  await writeFileAtomic(path, bytes);
  return rest;
}
