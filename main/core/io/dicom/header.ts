/**
 * Header-only reading of one DICOM file: the typed fields the scanner and the decoder need, with one record per
 * frame (single-frame files have one; enhanced multi-frame files take per-frame geometry and rescale from the
 * functional groups, falling back to the shared groups and then to the top-level attributes).
 */
import { open } from 'node:fs/promises';
import type { StudyDetails, Vec3 } from '../../../common/volume';
import { type DataSet, MalformedDicom, NeedMoreData, type ParsedDicom, T, parseDicom } from './dataset';
import { type MosaicInfo, mosaicInfo } from './siemens';

/** SOP classes that are DICOM but hold no image volume we show; the scanner skips them with this reason. */
const NON_IMAGE_SOP: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.66.4': 'segmentation object',
  '1.2.840.10008.5.1.4.1.1.481.3': 'RT structure set (no pixel data)',
  '1.2.840.10008.5.1.4.1.1.11.1': 'presentation state (no pixel data)',
  '1.2.840.10008.5.1.4.1.1.88.11': 'structured report (no pixel data)',
  '1.2.840.10008.5.1.4.1.1.88.22': 'structured report (no pixel data)',
  '1.2.840.10008.5.1.4.1.1.88.33': 'structured report (no pixel data)',
  '1.2.840.10008.5.1.4.1.1.88.59': 'key object selection (no pixel data)',
  '1.2.840.10008.5.1.4.1.1.104.1': 'encapsulated PDF',
  '1.2.840.10008.1.3.10': 'DICOMDIR (media directory, no pixel data)',
  '1.2.840.10008.5.1.4.1.1.66': 'raw data object',
  '1.2.840.10008.5.1.4.1.1.66.1': 'spatial registration',
  '1.2.840.10008.5.1.4.1.1.66.3': 'deformable registration',
};

/** One 2-D frame of a DICOM file, with the geometry that places it in LPS space. */
export interface DicomFrame {
  path: string;
  /** 0-based frame index inside the file. */
  frame: number;
  /** ImagePositionPatient: LPS mm of the centre of the first transmitted pixel. */
  positionMm?: Vec3;
  /** ImageOrientationPatient: row direction (along increasing column index) then column direction, LPS. */
  orientation?: [number, number, number, number, number, number];
  /** PixelSpacing: [between rows (along the column direction), between columns (along the row direction)] mm. */
  pixelSpacingMm?: [number, number];
  sliceThicknessMm?: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Values used to separate interleaved volumes that share positions (echoes, time points, stacks). */
  echoNumber?: number;
  temporalPosition?: number;
  acquisitionNumber?: number;
  stackId?: string;
  instanceNumber?: number;
}

export interface DicomHeader {
  path: string;
  transferSyntax: string;
  sopClassUid: string;
  sopInstanceUid: string;
  modality: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber?: number;
  seriesDescription: string;
  imageType: string[];
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  numberOfFrames: number;
  spacingBetweenSlicesMm?: number;
  /** Pixel Data position in the file; `length` -1 = encapsulated (compressed) fragments. */
  pixelData?: { offset: number; length: number; deflated: boolean; float: boolean };
  mosaic?: MosaicInfo;
  frames: DicomFrame[];
  study: StudyDetails;
}

/** Result of reading a file's header: a DICOM image, or why the file is not one we can use. */
export type HeaderResult =
  | { kind: 'image'; header: DicomHeader }
  | { kind: 'skip'; reason: string }
  | { kind: 'not-dicom' }
  | { kind: 'broken'; reason: string };

/** First read: most headers (CT/MR slices) end within 16 kB; longer ones are read in growing steps. */
const INITIAL_READ = 16 * 1024;
/** Largest header read for a file with the DICM preamble (enhanced multi-frame headers run to megabytes). */
const MAX_HEADER_BYTES = 512 * 1024 * 1024;
/** Largest header read for a file that only looks like a preamble-less dataset. */
const MAX_GUESSED_HEADER_BYTES = 4 * 1024 * 1024;

/**
 * Read and parse the header of `path` without reading voxel data (the file is read in growing prefixes until
 * Pixel Data is reached). Never throws for bad content: the result says what the file is.
 */
export async function readDicomHeader(path: string): Promise<HeaderResult> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    let want = Math.min(size, INITIAL_READ);
    let buf = new Uint8Array(0);
    for (;;) {
      if (want > buf.byteLength) {
        const next = new Uint8Array(want);
        next.set(buf);
        const { bytesRead } = await fh.read(next, buf.byteLength, want - buf.byteLength, buf.byteLength);
        buf = next.subarray(0, buf.byteLength + bytesRead);
      }
      const complete = buf.byteLength >= size;
      let parsed: ParsedDicom | undefined;
      try {
        parsed = parseDicom(buf, complete);
      } catch (e) {
        if (e instanceof NeedMoreData && !complete) {
          // Without the "DICM" preamble a file is only guessed to be DICOM: do not read far on a guess.
          const limit = looksLikeDicom(buf) ? MAX_HEADER_BYTES : MAX_GUESSED_HEADER_BYTES;
          if (buf.byteLength >= limit) return looksLikeDicom(buf) ? { kind: 'broken', reason: `header larger than ${limit} bytes` } : { kind: 'not-dicom' };
          want = Math.min(size, limit, Math.max(want * 4, Math.min(e.needBytes, Number.MAX_SAFE_INTEGER)));
          continue;
        }
        if (e instanceof MalformedDicom) return looksLikeDicom(buf) ? { kind: 'broken', reason: e.message } : { kind: 'not-dicom' };
        throw e;
      }
      if (!parsed) return { kind: 'not-dicom' };
      return interpret(path, parsed, size);
    }
  } finally {
    await fh.close();
  }
}

/** Parse a whole file held in memory (used by the decoder, which needs the bytes anyway). */
export function parseDicomBytes(path: string, bytes: Uint8Array): HeaderResult {
  try {
    const parsed = parseDicom(bytes, true);
    if (!parsed) return { kind: 'not-dicom' };
    return interpret(path, parsed, bytes.byteLength);
  } catch (e) {
    if (e instanceof MalformedDicom) return looksLikeDicom(bytes) ? { kind: 'broken', reason: e.message } : { kind: 'not-dicom' };
    throw e;
  }
}

function looksLikeDicom(buf: Uint8Array): boolean {
  return buf.byteLength >= 132 && String.fromCharCode(buf[128]!, buf[129]!, buf[130]!, buf[131]!) === 'DICM';
}

function vec3(ds: DataSet, t: number): Vec3 | undefined {
  const n = ds.numbers(t);
  return n.length >= 3 && n.slice(0, 3).every(Number.isFinite) ? [n[0]!, n[1]!, n[2]!] : undefined;
}

function orientation(ds: DataSet | undefined): DicomFrame['orientation'] {
  if (!ds) return undefined;
  const n = ds.numbers(T.ImageOrientationPatient);
  if (n.length < 6 || !n.slice(0, 6).every(Number.isFinite)) return undefined;
  return [n[0]!, n[1]!, n[2]!, n[3]!, n[4]!, n[5]!];
}

function spacing2(ds: DataSet | undefined): [number, number] | undefined {
  if (!ds) return undefined;
  const n = ds.numbers(T.PixelSpacing);
  return n.length >= 2 && n[0]! > 0 && n[1]! > 0 ? [n[0]!, n[1]!] : undefined;
}

function interpret(path: string, p: ParsedDicom, fileSize: number): HeaderResult {
  const ds = p.dataset;
  const sopClassUid = ds.string(T.SOPClassUID) ?? p.meta.string(T.MediaStorageSOPClassUID) ?? '';
  const nonImage = NON_IMAGE_SOP[sopClassUid];
  if (nonImage) return { kind: 'skip', reason: nonImage };
  if (!p.pixelData) {
    if (ds.elements.size === 0) return { kind: 'broken', reason: 'empty DICOM dataset' };
    if (ds.has(T.Rows) && ds.has(T.Columns)) return { kind: 'broken', reason: 'image attributes but no pixel data (truncated file?)' };
    return { kind: 'skip', reason: `DICOM without pixel data${sopClassUid ? ` (SOP class ${sopClassUid})` : ''}` };
  }
  const rows = ds.number(T.Rows) ?? 0;
  const columns = ds.number(T.Columns) ?? 0;
  if (!(rows > 0 && columns > 0)) return { kind: 'broken', reason: 'Rows/Columns missing or zero' };
  const samplesPerPixel = ds.number(T.SamplesPerPixel) ?? 1;
  const photometric = ds.string(T.PhotometricInterpretation) ?? 'MONOCHROME2';
  if (samplesPerPixel !== 1) return { kind: 'skip', reason: `colour image (${photometric}, ${samplesPerPixel} samples per pixel), not a scalar volume` };
  const bitsAllocated = ds.number(T.BitsAllocated) ?? 16;
  const bitsStored = ds.number(T.BitsStored) ?? bitsAllocated;
  const pixelRepresentation = ds.number(T.PixelRepresentation) ?? 0;
  const numberOfFrames = Math.max(1, Math.round(ds.number(T.NumberOfFrames) ?? 1));
  const pd = p.pixelData;
  const deflated = pd.vr.endsWith(':deflated');
  const float = pd.tag === T.FloatPixelData || pd.tag === T.DoubleFloatPixelData;
  if (!deflated && pd.length >= 0 && pd.offset + pd.length > fileSize)
    return { kind: 'broken', reason: `pixel data is truncated (${fileSize - pd.offset} of ${pd.length} bytes present)` };
  if (pd.length < 0 && pd.offset >= fileSize) return { kind: 'broken', reason: 'pixel data is truncated (no fragments)' };
  const imageType = (ds.string(T.ImageType) ?? '').split('\\').map((s) => s.trim().toUpperCase());
  const study: StudyDetails = {};
  const str = (t: number) => {
    const v = ds.string(t);
    return v === undefined || v === '' ? undefined : v;
  };
  const assign = <K extends keyof StudyDetails>(k: K, v: StudyDetails[K] | undefined) => {
    if (v !== undefined) study[k] = v;
  };
  assign('patientName', str(T.PatientName)?.replace(/\^+/g, ' ').trim());
  assign('patientId', str(T.PatientID));
  assign('patientBirthDate', str(T.PatientBirthDate));
  assign('patientSex', str(T.PatientSex));
  assign('studyDate', str(T.StudyDate));
  assign('studyDescription', str(T.StudyDescription));
  assign('studyInstanceUid', str(T.StudyInstanceUID));
  assign('seriesInstanceUid', str(T.SeriesInstanceUID));
  assign('seriesNumber', ds.number(T.SeriesNumber));
  assign('seriesDescription', str(T.SeriesDescription));
  assign('frameOfReferenceUid', str(T.FrameOfReferenceUID));
  assign('manufacturer', str(T.Manufacturer));
  assign('bodyPart', str(T.BodyPartExamined));

  const topPosition = vec3(ds, T.ImagePositionPatient);
  const topOrientation = orientation(ds);
  const topSpacing = spacing2(ds);
  const topThickness = ds.number(T.SliceThickness);
  const topSlope = ds.number(T.RescaleSlope);
  const topIntercept = ds.number(T.RescaleIntercept);
  const base: Omit<DicomFrame, 'frame'> = {
    path,
    rescaleSlope: topSlope !== undefined && topSlope !== 0 ? topSlope : 1,
    rescaleIntercept: topIntercept ?? 0,
  };
  if (topPosition) base.positionMm = topPosition;
  if (topOrientation) base.orientation = topOrientation;
  if (topSpacing) base.pixelSpacingMm = topSpacing;
  if (topThickness !== undefined) base.sliceThicknessMm = topThickness;
  const echo = ds.number(T.EchoNumbers);
  if (echo !== undefined) base.echoNumber = echo;
  const temporal = ds.number(T.TemporalPositionIdentifier);
  if (temporal !== undefined) base.temporalPosition = temporal;
  const acq = ds.number(T.AcquisitionNumber);
  if (acq !== undefined) base.acquisitionNumber = acq;
  const inst = ds.number(T.InstanceNumber);
  if (inst !== undefined) base.instanceNumber = inst;

  const frames: DicomFrame[] = [];
  const shared = ds.item(T.SharedFunctionalGroups);
  const perFrame = ds.items(T.PerFrameFunctionalGroups);
  if (numberOfFrames > 1 || perFrame.length > 0) {
    for (let f = 0; f < numberOfFrames; f++) {
      const fg = perFrame[f];
      const pick = <R>(seq: number, get: (d: DataSet) => R | undefined): R | undefined => {
        const a = fg?.item(seq);
        const va = a ? get(a) : undefined;
        if (va !== undefined) return va;
        const b = shared?.item(seq);
        return b ? get(b) : undefined;
      };
      const frame: DicomFrame = { ...base, frame: f };
      const pos = pick(T.PlanePositionSequence, (d) => vec3(d, T.ImagePositionPatient));
      if (pos) frame.positionMm = pos;
      else if (f > 0) delete frame.positionMm;
      const ori = pick(T.PlaneOrientationSequence, orientation);
      if (ori) frame.orientation = ori;
      const sp = pick(T.PixelMeasuresSequence, spacing2);
      if (sp) frame.pixelSpacingMm = sp;
      const th = pick(T.PixelMeasuresSequence, (d) => d.number(T.SliceThickness));
      if (th !== undefined) frame.sliceThicknessMm = th;
      const slope = pick(T.PixelValueTransformationSequence, (d) => d.number(T.RescaleSlope));
      if (slope !== undefined && slope !== 0) frame.rescaleSlope = slope;
      const icpt = pick(T.PixelValueTransformationSequence, (d) => d.number(T.RescaleIntercept));
      if (icpt !== undefined) frame.rescaleIntercept = icpt;
      const stack = pick(T.FrameContentSequence, (d) => d.string(T.StackID));
      if (stack) frame.stackId = stack;
      const tpi = pick(T.FrameContentSequence, (d) => d.number(T.TemporalPositionIndex));
      if (tpi !== undefined) frame.temporalPosition = tpi;
      frames.push(frame);
    }
  } else {
    frames.push({ ...base, frame: 0 });
  }
  if (numberOfFrames > 1 && perFrame.length === 0 && topPosition && topOrientation) {
    // Legacy multi-frame (NM, some CT/MR exports): one position for the first frame; the others follow along the
    // slice normal at SpacingBetweenSlices (else SliceThickness). Without either the frames stay unplaced.
    const step = ds.number(T.SpacingBetweenSlices) ?? topThickness;
    const o = topOrientation;
    const nx = o[1] * o[5] - o[2] * o[4];
    const ny = o[2] * o[3] - o[0] * o[5];
    const nz = o[0] * o[4] - o[1] * o[3];
    const len = Math.hypot(nx, ny, nz);
    for (const f of frames) {
      if (step && step > 0 && len > 0) {
        const d = (f.frame * step) / len;
        f.positionMm = [topPosition[0] + d * nx, topPosition[1] + d * ny, topPosition[2] + d * nz];
      } else if (f.frame > 0) delete f.positionMm;
    }
  }

  const header: DicomHeader = {
    path,
    transferSyntax: p.transferSyntax,
    sopClassUid,
    sopInstanceUid: ds.string(T.SOPInstanceUID) ?? '',
    modality: ds.string(T.Modality) ?? '',
    studyInstanceUid: ds.string(T.StudyInstanceUID) ?? '',
    seriesInstanceUid: ds.string(T.SeriesInstanceUID) ?? '',
    seriesDescription: ds.string(T.SeriesDescription) ?? '',
    imageType,
    rows,
    columns,
    samplesPerPixel,
    photometric,
    bitsAllocated,
    bitsStored,
    pixelRepresentation,
    numberOfFrames,
    pixelData: { offset: pd.offset, length: pd.length, deflated, float },
    frames,
    study,
  };
  const sn = ds.number(T.SeriesNumber);
  if (sn !== undefined) header.seriesNumber = sn;
  const sbs = ds.number(T.SpacingBetweenSlices);
  if (sbs !== undefined && sbs > 0) header.spacingBetweenSlicesMm = sbs;
  if (imageType.includes('MOSAIC')) {
    const m = mosaicInfo(ds);
    if (m && m.images > 1) header.mosaic = m;
  }
  return { kind: 'image', header };
}
