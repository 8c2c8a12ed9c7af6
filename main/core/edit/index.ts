/**
 * Editing algorithms for labelmaps (issue 5, "Editing"): pure functions over one label array (a layer of a
 * segmentation: uint8/uint16, i fastest, on a {@link Grid} in LPS) that return an undo {@link EditDelta} — the
 * changed voxels with old and new values, as runs — and never modify the labels themselves. Apply a delta with
 * {@link applyDelta}, undo it with {@link revertDelta} (exact, bit for bit), chain dabs of a stroke with
 * {@link composeDeltas}.
 *
 * Locking: every edit takes `locked` (segment values). A voxel holding a locked value is never written by any
 * edit, and an edit aimed at a locked segment is refused with an INPUT error. `overwrite: 'background'` limits
 * edits that add voxels to background voxels.
 */
export { type EditDelta, type LabelArray, DeltaBuilder, applyDelta, composeDeltas, deltaBytes, emptyDelta, revertDelta } from './delta';
export { type EditOptions, boundingBox } from './common';
export { type BrushOptions, type DiscOptions, type IntensityRange, type ThresholdOptions, paintDisc, paintSphere, thresholdPaint } from './brush';
export { type Components, type Connectivity, connectedComponents, keepLargestIsland, removeSmallIslands } from './islands';
export { closing, medianSmooth } from './morphology';
export { deleteSegment, mergeSegments, moveSegmentVoxels, relabelSegment } from './segments';
export { type FillBetweenSlicesOptions, fillBetweenSlices } from './interpolate';
