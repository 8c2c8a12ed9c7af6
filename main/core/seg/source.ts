/**
 * The DICOM series a segmentation refers to: its slices' SOP instances in k order and the patient/study attributes
 * a derived object copies — read with main/core/io's DICOM header parser and series planner (no second parser).
 */
import { readFile } from 'node:fs/promises';
import { DelineateError } from '../../common/errors';
import type { Grid, VolumeInfo } from '../../common/volume';
import { type DataSet, parseDicom } from '../io/dicom/dataset';
import { type DicomHeader, readDicomHeader } from '../io/dicom/header';
import { planVolumes } from '../io/dicom/series';

export { type DataSet, T as TAGS, tag, parseDicom, type ParsedDicom } from '../io/dicom/dataset';

/** One slice (k) of the source series: the instance (and frame, for multi-frame files) it comes from. */
export interface SourceSlice {
  sopClassUid: string;
  sopInstanceUid: string;
  /** 1-based frame number inside a multi-frame instance; undefined for single-frame instances. */
  frameNumber?: number;
}

/** A DICOM series a segmentation is made on. */
export interface SourceSeries {
  /** The series' voxel grid (LPS), as main/core/io reads it. */
  grid: Grid;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  /** `slices[k]` is the instance of slice k. */
  slices: SourceSlice[];
  /** Dataset of the first instance (patient and study attributes are copied from it). */
  firstDataset: DataSet;
  /** Human-readable name for messages (folder or description). */
  name: string;
}

/**
 * Read the source series of a volume listed by main/core/io's `scanPath` (a DICOM series; not a NIfTI/NRRD file).
 * Errors: INPUT (not a DICOM series), NOT_FOUND/FORMAT (files gone or unreadable), GEOMETRY (the files no longer
 * form that volume).
 */
export async function readSourceSeries(info: VolumeInfo): Promise<SourceSeries> {
  const headers: DicomHeader[] = [];
  for (const f of info.files) {
    let r;
    try {
      r = await readDicomHeader(f);
    } catch (e) {
      throw new DelineateError('NOT_FOUND', `${f}: cannot read (${(e as Error).message})`, { subject: f, cause: e });
    }
    if (r.kind !== 'image')
      throw new DelineateError('INPUT', `${f}: not a DICOM image${'reason' in r ? ` (${r.reason})` : ''}; a DICOM SEG needs a DICOM source series`, { subject: f });
    headers.push(r.header);
  }
  const plans = planVolumes(headers);
  const plan = plans.find((p) => p.info.id === info.id) ?? (plans.length === 1 ? plans[0] : undefined);
  if (!plan || plan.mosaic) throw new DelineateError('INPUT', `${info.source}: the files do not form one DICOM volume a SEG can reference`, { subject: info.source });
  const byPath = plan.headers;
  const slices: SourceSlice[] = plan.frames.map((f) => {
    const h = byPath.get(f.path)!;
    const s: SourceSlice = { sopClassUid: h.sopClassUid, sopInstanceUid: h.sopInstanceUid };
    if (h.numberOfFrames > 1) s.frameNumber = f.frame + 1;
    return s;
  });
  const missingUid = slices.findIndex((s) => !s.sopInstanceUid || !s.sopClassUid);
  if (missingUid >= 0) throw new DelineateError('INPUT', `${plan.frames[missingUid]!.path}: no SOP Instance/Class UID; a DICOM SEG cannot reference it`, { subject: plan.frames[missingUid]!.path });
  const firstPath = plan.frames[0]!.path;
  const h0 = byPath.get(firstPath)!;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(firstPath);
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${firstPath}: cannot read (${(e as Error).message})`, { subject: firstPath, cause: e });
  }
  const parsed = parseDicom(bytes, true);
  if (!parsed) throw new DelineateError('FORMAT', `${firstPath}: not DICOM`, { subject: firstPath });
  const { size, spacingMm, originMm, direction } = plan.info;
  return {
    grid: { size: [...size], spacingMm: [...spacingMm], originMm: [...originMm], direction: [...direction] },
    studyInstanceUid: h0.studyInstanceUid,
    seriesInstanceUid: h0.seriesInstanceUid,
    frameOfReferenceUid: h0.study.frameOfReferenceUid ?? '',
    slices,
    firstDataset: parsed.dataset,
    name: `${info.description || 'series'} (${info.source})`,
  };
}
