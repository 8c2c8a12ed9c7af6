/**
 * Fill between slices: morphological contour interpolation (Zukić et al., "ND Morphological Contour
 * Interpolation", Insight Journal 2016) through `@itk-wasm/morphological-contour-interpolation`, whose WebAssembly
 * ships in the npm package and runs offline in Node. The segment drawn on some slices along one index axis is
 * interpolated onto the empty slices between them.
 */
import { morphologicalContourInterpolationNode } from '@itk-wasm/morphological-contour-interpolation';
import { Image, ImageType } from 'itk-wasm';
import { DelineateError, throwIfCancelled } from '../../common/errors';
import type { JobOptions } from '../../common/progress';
import type { Grid, Vec3 } from '../../common/volume';
import { itkErrorDetail, quietly } from '../io/itk-quiet';
import { type EditOptions, assertLabels, assertUnlocked, boundingBox, writable } from './common';
import { DeltaBuilder, type EditDelta, type LabelArray, emptyDelta } from './delta';

/** Options of {@link fillBetweenSlices}. */
export interface FillBetweenSlicesOptions extends EditOptions, JobOptions {
  /** Segment to interpolate. */
  value: number;
  /** Index axis the drawn slices are stacked along (0 = i, 1 = j, 2 = k: axial slices of an axial series). */
  axis: 0 | 1 | 2;
}

/**
 * Interpolate segment `value` between the slices (normal to `axis`) where it is drawn. Only voxels between the
 * first and last drawn slice can change; new voxels are written under the locking/overwrite rules (locked
 * segments are never overwritten), existing voxels of the segment are kept. Refused (INPUT) when the segment is
 * locked. Runs the wasm pipeline on the segment's bounding box only.
 *
 * Errors: INPUT (bad value/axis, locked), INTERNAL (the pipeline failed). Cancellation: checked before and after
 * the pipeline (throws CancelledSignal).
 */
export async function fillBetweenSlices(labels: LabelArray, grid: Grid, options: FillBetweenSlicesOptions): Promise<EditDelta> {
  const { value, axis } = options;
  assertLabels(labels, grid, value);
  if (value === 0) throw new DelineateError('INPUT', 'fill between slices needs a segment value ≥ 1');
  if (![0, 1, 2].includes(axis)) throw new DelineateError('INPUT', `axis ${String(axis)} must be 0, 1 or 2`);
  assertUnlocked(value, options, 'interpolate it');
  throwIfCancelled(options.signal);
  const bb = boundingBox(labels, grid.size, value);
  if (!bb || bb.max[axis] - bb.min[axis] < 2) return emptyDelta();
  const [nx, ny] = grid.size;
  const bs: Vec3 = [bb.max[0] - bb.min[0] + 1, bb.max[1] - bb.min[1] + 1, bb.max[2] - bb.min[2] + 1];
  const mask = new Uint8Array(bs[0] * bs[1] * bs[2]);
  for (let k = 0, p = 0; k < bs[2]; k++)
    for (let j = 0; j < bs[1]; j++)
      for (let i = 0; i < bs[0]; i++, p++) if (labels[bb.min[0] + i + nx * (bb.min[1] + j + ny * (bb.min[2] + k))] === value) mask[p] = 1;
  const image = new Image(new ImageType(3, 'uint8', 'Scalar', 1));
  image.size = [...bs];
  image.spacing = [...grid.spacingMm];
  image.origin = [0, 0, 0];
  image.direction = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  image.data = mask;
  options.onProgress?.({ stage: 'interpolate', done: 0, total: 1 });
  let out: ArrayLike<number>;
  try {
    const { result } = await quietly(() => morphologicalContourInterpolationNode(image as never, { label: 1, axis }));
    out = result.outputImage.data as ArrayLike<number>;
  } catch (e) {
    throw new DelineateError('INTERNAL', `fill between slices failed: ${itkErrorDetail(e)}`, { cause: e });
  }
  throwIfCancelled(options.signal);
  if (out.length !== mask.length) throw new DelineateError('INTERNAL', `fill between slices returned ${out.length} voxels for ${mask.length}`);
  const b = new DeltaBuilder();
  for (let k = 0, p = 0; k < bs[2]; k++)
    for (let j = 0; j < bs[1]; j++)
      for (let i = 0; i < bs[0]; i++, p++) {
        if (!out[p] || mask[p]) continue;
        const idx = bb.min[0] + i + nx * (bb.min[1] + j + ny * (bb.min[2] + k));
        const old = labels[idx]!;
        if (writable(old, value, options)) b.push(idx, old, value);
      }
  options.onProgress?.({ stage: 'interpolate', done: 1, total: 1 });
  return b.build();
}
