/**
 * Segmentation files (issue 5, "Save and open"): labelmaps as NIfTI/NRRD with a segment-table sidecar, 3D
 * Slicer's `.seg.nrrd` (names, colours, label values, layers for overlapping segments), and DICOM SEG referencing
 * the source series. Every reader returns a layered {@link Segmentation} (main/common/segmentation.ts) in LPS with
 * i fastest, plus warnings for what it had to assume; {@link openSegmentation} puts any of them onto the open
 * image's grid or says clearly why it cannot. Writes are atomic; source images are only read.
 */
import { DelineateError } from '../../common/errors';
import type { Segmentation } from '../../common/segmentation';
import type { Grid, VolumeInfo } from '../../common/volume';
import { gridDifference } from '../metrics/grid';
import { readDicomSeg } from './dicom-seg-read';
import { type DicomSegOptions, writeDicomSeg } from './dicom-seg-write';
import { readHead, readLabelmap, writeLabelmap } from './labelmap';
import { placeOnGrid } from './layers';
import { type ReadSegmentation, readSlicerSeg, writeSlicerSeg } from './slicer';
import type { SourceSeries } from './source';

export { writeFileAtomic } from '../fs/atomic';
export { PALETTE, TISSUE, defaultColor, dicomLabToRgb, rgbToDicomLab } from './color';
export { type DicomElement, el, encodeDataset, encodePart10, formatDS, newUid, seq } from './dicom-encode';
export { type DicomSegInfo, type SegReference, decodeDicomSeg, readDicomSeg } from './dicom-seg-read';
export { type DicomSegOptions, type EncodedDicomSeg, IMPLEMENTATION_CLASS_UID, SEGMENTATION_STORAGE, encodeDicomSeg, writeDicomSeg } from './dicom-seg-write';
export { type ReadLabelmapOptions, parseSegmentSidecar, readLabelmap, segmentTableJson, sidecarPath, writeLabelmap } from './labelmap';
export { checkSegmentation, compactLayers, packSegments, placeOnGrid, segmentVoxelIndices, segmentationToLabelmap } from './layers';
export { type NrrdImage, encodeNrrd, nrrdKeyValues, parseNrrd } from './nrrd';
export { type ReadSegmentation, decodeSlicerSeg, encodeSlicerSeg, hasSlicerSegmentFields, readSlicerSeg, terminologyEntry, writeSlicerSeg } from './slicer';
export { type SourceSeries, type SourceSlice, readSourceSeries } from './source';

/** The kinds of segmentation file Delineate reads and writes. */
export type SegmentationFormat = 'labelmap' | 'slicer-seg' | 'dicom-seg';

/**
 * The format of a segmentation file from its name and first bytes: `.seg.nrrd` → slicer-seg, `.nii`/`.nii.gz`/
 * `.nrrd` → labelmap, DICOM magic ("DICM" at byte 128) or `.dcm` → dicom-seg. Errors: USAGE for anything else.
 */
export async function detectSegmentationFormat(path: string): Promise<SegmentationFormat> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.seg.nrrd')) return 'slicer-seg';
  if (/\.(nii|nii\.gz|nrrd)$/.test(lower)) return 'labelmap';
  let head: Uint8Array;
  try {
    head = await readHead(path, 132);
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${path}: cannot read (${(e as Error).message})`, { subject: path, cause: e });
  }
  if (lower.endsWith('.dcm') || (head.length >= 132 && String.fromCharCode(...head.subarray(128, 132)) === 'DICM')) return 'dicom-seg';
  throw new DelineateError('USAGE', `${path}: not a segmentation file Delineate reads (.nii.gz/.nii/.nrrd labelmap, .seg.nrrd, DICOM SEG)`, { subject: path });
}

/** The image a segmentation is opened onto. */
export interface OpenReference {
  grid: Grid;
  /** DICOM SeriesInstanceUID / FrameOfReferenceUID of the image, when it is a DICOM series. */
  seriesInstanceUid?: string;
  frameOfReferenceUid?: string;
  /** For messages (file or series description). */
  name: string;
}

/**
 * The {@link OpenReference} of a volume listed by main/core/io's `scanPath` (DICOM series: its series and frame of
 * reference UIDs are checked against a DICOM SEG; image files: geometry only).
 */
export function referenceFromVolumeInfo(info: VolumeInfo): OpenReference {
  const ref: OpenReference = {
    grid: { size: [...info.size], spacingMm: [...info.spacingMm], originMm: [...info.originMm], direction: [...info.direction] },
    name: info.description ? `${info.description} (${info.source})` : info.source,
  };
  if (info.study?.seriesInstanceUid) ref.seriesInstanceUid = info.study.seriesInstanceUid;
  if (info.study?.frameOfReferenceUid) ref.frameOfReferenceUid = info.study.frameOfReferenceUid;
  return ref;
}

/**
 * Open a segmentation file of any supported format onto the grid of the open image.
 *
 * - labelmap (NIfTI/NRRD): must be on exactly the image's grid (GEOMETRY error naming both files otherwise);
 * - `.seg.nrrd`: may be a crop of the image grid (Slicer's ReferenceImageExtentOffset); it is placed by its
 *   geometry, and must share the grid's spacing, direction and voxel centres (GEOMETRY error otherwise);
 * - DICOM SEG: must reference the image's series (INPUT error naming both UIDs otherwise) and is placed frame by
 *   frame.
 *
 * Without `reference` the segmentation is returned on its own grid. Missing metadata never fails: defaults are
 * used and listed in `warnings`.
 */
export async function openSegmentation(path: string, reference?: OpenReference): Promise<ReadSegmentation & { format: SegmentationFormat }> {
  const format = await detectSegmentationFormat(path);
  let r: ReadSegmentation;
  if (format === 'dicom-seg') {
    r = await readDicomSeg(path, reference);
  } else if (format === 'slicer-seg') {
    r = await readSlicerSeg(path);
    if (reference) r = place(r, path, reference);
  } else {
    const lm = await readLabelmap(path);
    r = lm;
    if (reference) {
      const diff = gridDifference(lm.segmentation, reference.grid);
      if (diff && lm.slicerFields) r = place(lm, path, reference); // a .seg.nrrd under another name (maybe a crop)
      else if (diff)
        throw new DelineateError('GEOMETRY', `${path} is on another grid than ${reference.name} (${diff}); it cannot be shown on that image without resampling`, {
          subject: path,
        });
    }
  }
  return { ...r, format };
}

function place(r: ReadSegmentation, path: string, reference: OpenReference): ReadSegmentation {
  const s = r.segmentation;
  if (s.size.every((x) => x === 1)) {
    // Slicer writes a segmentation without voxels as a single voxel whose geometry means nothing.
    const n = reference.grid.size[0] * reference.grid.size[1] * reference.grid.size[2];
    const layers = s.layers.map(() => (s.dataType === 'uint8' ? new Uint8Array(n) : new Uint16Array(n)));
    return { segmentation: { ...s, ...reference.grid, layers }, warnings: r.warnings };
  }
  const { segmentation, droppedVoxels } = placeOnGrid(r.segmentation, reference.grid, path, reference.name);
  const warnings = [...r.warnings];
  if (droppedVoxels) warnings.push(`${path}: ${droppedVoxels} segment voxel(s) lie outside ${reference.name} and were left out`);
  return { segmentation, warnings };
}

/** Options of {@link saveSegmentation}. */
export type SaveOptions =
  | { format: 'labelmap' }
  | { format: 'slicer-seg' }
  | ({ format: 'dicom-seg'; source: SourceSeries } & DicomSegOptions);

/**
 * Save a segmentation in one of the three formats (atomically; the source images are never written).
 * Errors: see writeLabelmap (overlapping segments cannot go into a labelmap), writeSlicerSeg, writeDicomSeg.
 */
export async function saveSegmentation(seg: Segmentation, path: string, options: SaveOptions): Promise<void> {
  if (options.format === 'labelmap') await writeLabelmap(seg, path);
  else if (options.format === 'slicer-seg') await writeSlicerSeg(seg, path);
  else {
    const { format: _f, source, ...rest } = options;
    await writeDicomSeg(seg, source, path, rest);
  }
}
