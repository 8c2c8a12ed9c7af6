/**
 * The work a model run will do on an input, computed without running it: the network grid that preprocessing
 * produces ({@link networkGeometry}: transpose, crop to non-zero, target spacing) and the sliding window over it
 * ({@link slidingWindowPlan}: padding to the patch, tile positions, tile count), plus the network runs per tile
 * of a TTA/fold choice ({@link networkRunsPerTile}). `segment()` in ./engine tiles with {@link slidingWindowPlan}
 * itself and sizes its CPU worker pool before preprocessing from `networkGeometry`, which repeats preprocessing's
 * geometry step for step (same helpers: ./preprocess, ./resample), so `slidingWindowPlan(m, networkGeometry(m, …)
 * .networkShape).tiles` equals `segment(…).stats.tiles` for the same input — tested in
 * test/unit/compute/service-models.test.ts. Also used by the models panel's time estimate (main/compute/service-models.ts).
 *
 * Shapes and positions are in tensor axis order (tensor axis d = image axis `tensorAxesFromIjk[d]`).
 */
import type { ModelManifest } from '../../common/manifest';
import type { Grid, Volume } from '../../common/volume';
import { mirrorCombinations } from './tta';
import { networkSpacing, type PreprocessRecord, type Vec3n } from './preprocess';
import { computeNewShape } from './resample';
import { computeTileSteps, padToPatch } from './tiling';

/**
 * Bounding box [start, end) in index space (i, j, k) of the voxels where any channel is non-zero; the whole extent
 * when none is. Equal to the box of nnU-Net's hole-filled non-zero mask (filling holes never grows the box: a voxel
 * outside the box of the non-zero voxels reaches the border through background along that axis, so it is no hole).
 */
export function nonzeroBoxIjk(volumes: readonly Volume[]): [Vec3n, Vec3n] {
  const [n0, n1, n2] = volumes[0]!.size;
  const lo: Vec3n = [n0, n1, n2];
  const hi: Vec3n = [0, 0, 0];
  for (let k = 0; k < n2; k++)
    for (let j = 0; j < n1; j++) {
      const row = (k * n1 + j) * n0;
      let first = n0;
      let last = -1;
      for (const v of volumes) {
        const d = v.data;
        let i = 0;
        while (i < first && d[row + i] === 0) i++;
        if (i < first) first = i;
        let r = n0 - 1;
        while (r > last && d[row + r] === 0) r--;
        if (r > last) last = r;
      }
      if (last < 0) continue;
      if (first < lo[0]) lo[0] = first;
      if (last + 1 > hi[0]) hi[0] = last + 1;
      if (j < lo[1]) lo[1] = j;
      if (j + 1 > hi[1]) hi[1] = j + 1;
      if (k < lo[2]) lo[2] = k;
      if (k + 1 > hi[2]) hi[2] = k + 1;
    }
  if (hi[0] === 0) return [[0, 0, 0], [n0, n1, n2]];
  return [lo, hi];
}

/**
 * The record preprocessing would make for these inputs (./preprocess `preprocess(m, volumes).record`), without
 * normalising or resampling anything. `inputs` are the model's channels on one grid; with `cropToNonzero` their
 * voxels are read (one pass, no copy), otherwise only the grid of the first is used (a {@link Grid} is enough).
 */
export function networkGeometry(m: ModelManifest, inputs: readonly (Volume | Grid)[]): PreprocessRecord {
  const first = inputs[0]!;
  const perm = m.tensorAxesFromIjk;
  const shape = perm.map((a) => first.size[a]!) as Vec3n;
  const spacing = perm.map((a) => first.spacingMm[a]!) as Vec3n;
  let bbox: [Vec3n, Vec3n] = [[0, 0, 0], [...shape]];
  if (m.cropToNonzero) {
    if (!inputs.every((v): v is Volume => 'data' in v)) throw new TypeError(`model ${m.id} crops to the non-zero region: networkGeometry needs the voxels of every input`);
    const [lo, hi] = nonzeroBoxIjk(inputs);
    bbox = [perm.map((a) => lo[a]!) as Vec3n, perm.map((a) => hi[a]!) as Vec3n];
  }
  const cropped: Vec3n = [bbox[1][0] - bbox[0][0], bbox[1][1] - bbox[0][1], bbox[1][2] - bbox[0][2]];
  const netSpacing = networkSpacing(m, spacing);
  const netShape = (m.targetSpacingMm === null ? [...cropped] : computeNewShape(cropped, spacing, netSpacing)) as Vec3n;
  return { shapeBeforeCropping: shape, bbox, shapeAfterCropping: cropped, spacingMm: spacing, networkSpacingMm: netSpacing, networkShape: netShape };
}

/** The sliding window of `segment()` over a network grid (tensor order, voxels). */
export interface SlidingWindowPlan {
  /** Patch as the engine tiles it: 3D models their patch, 2D models [1, p0, p1] (one slice per tile). */
  patch: Vec3n;
  /** Network grid padded up to the patch (nnU-Net pad_nd_image), and the padding before the image per axis. */
  paddedShape: Vec3n;
  padBefore: Vec3n;
  /** Tile start positions per axis (2D models: every slice along axis 0). */
  steps: number[][];
  /** Number of tiles = product of the step counts. */
  tiles: number;
}

/** Tile positions of `segment()` for a model on a network grid; `step` overrides the manifest's tile step. */
export function slidingWindowPlan(m: ModelManifest, networkShape: Vec3n, step: number = m.tileStepSize): SlidingWindowPlan {
  const is2d = m.dimensionality === '2d';
  const patch: Vec3n = is2d ? [1, m.patchSize[0]!, m.patchSize[1]!] : [m.patchSize[0]!, m.patchSize[1]!, m.patchSize[2]!];
  const pad = padToPatch(networkShape, patch);
  const P = pad.padded as Vec3n;
  const scheme = m.tiling ?? 'nnunet';
  let steps: number[][];
  if (is2d) {
    const s12 = computeTileSteps([P[1], P[2]], [patch[1], patch[2]], step, scheme);
    steps = [Array.from({ length: P[0] }, (_, i) => i), s12[0]!, s12[1]!];
  } else steps = computeTileSteps(P, patch, step, scheme);
  return { patch, paddedShape: P, padBefore: pad.before as Vec3n, steps, tiles: steps[0]!.length * steps[1]!.length * steps[2]!.length };
}

/**
 * Network runs per tile: (1 + mirror combinations) × folds — 2^axes × folds with mirroring TTA, folds without.
 * (For a many-class network split into body + heads, the engine counts body runs, the same number.)
 */
export function networkRunsPerTile(m: ModelManifest, opts: { tta: boolean; folds: number }): number {
  return (opts.tta ? mirrorCombinations(m.mirroringAxes).length + 1 : 1) * opts.folds;
}
