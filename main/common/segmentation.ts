/**
 * A segmentation with possibly overlapping segments (DESIGN.md, "Data model": overlapping segments need layers,
 * not a flattened map). Each layer is a labelmap on the same grid; a segment lives in exactly one layer under its
 * label value there. Segments that never overlap share layer 0, so the common case is one layer — a plain
 * {@link Labelmap}. Used by the segmentation file formats (main/core/seg) and the editing algorithms
 * (main/core/edit).
 */
import type { Grid, Labelmap, Segment } from './volume';

/** A coded concept (DICOM code sequence item). `scheme` is the coding scheme designator (e.g. 'SCT'). */
export interface CodedConcept {
  scheme: string;
  value: string;
  meaning: string;
}

/** One segment of a layered segmentation. `code` (from {@link Segment}) is the segmented property *type*. */
export interface LayeredSegment extends Segment {
  /** Index into {@link Segmentation.layers}. */
  layer: number;
  /** Stable identifier (Slicer's `SegmentN_ID`); defaults to `Segment_<value>`. */
  id?: string;
  /** Segmented property category (DICOM SEG); default SCT 85756007 'Tissue'. */
  category?: CodedConcept;
  /** Anatomic region, where known. */
  anatomicRegion?: CodedConcept;
  /** How the segment was made (DICOM SegmentAlgorithmType); default 'MANUAL'. */
  algorithmType?: 'MANUAL' | 'SEMIAUTOMATIC' | 'AUTOMATIC';
  /** Algorithm name (required by DICOM for SEMIAUTOMATIC/AUTOMATIC segments). */
  algorithmName?: string;
}

/**
 * Segments in one or more layers on one grid (LPS, i fastest). Every layer has `size[0]*size[1]*size[2]` voxels
 * of `dataType`; value 0 is background in every layer.
 */
export interface Segmentation extends Grid {
  dataType: 'uint8' | 'uint16';
  layers: (Uint8Array | Uint16Array)[];
  segments: LayeredSegment[];
}

/** A one-layer segmentation from a labelmap (segments keep their values; all in layer 0). Shares the voxels. */
export function segmentationFromLabelmap(lm: Labelmap): Segmentation {
  return {
    size: lm.size,
    spacingMm: lm.spacingMm,
    originMm: lm.originMm,
    direction: lm.direction,
    dataType: lm.dataType,
    layers: [lm.data],
    segments: lm.segments.map((s) => ({ ...s, layer: 0 })),
  };
}
