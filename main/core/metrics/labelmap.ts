/**
 * Per-label comparison of a predicted labelmap with a reference labelmap on the same grid: overlap (Dice, IoU,
 * TP/FP/FN as nnU-Net v2's `compute_metrics`), surface distances in mm ({@link surfaceMetrics}, as MONAI) and
 * volumes.
 */
import { DelineateError, throwIfCancelled } from '../../common/errors';
import type { JobOptions } from '../../common/progress';
import type { Vec3, Volume } from '../../common/volume';
import { surfaceMetrics, type SurfaceMetrics } from './binary';
import { assertSameGrid } from './grid';

/** The metrics of one label of one case. Volumes in mL, distances in mm. */
export interface LabelMetrics extends SurfaceMetrics {
  label: number;
  /** Voxels labelled `label` in both (true positives), only in the prediction, only in the reference. */
  tp: number;
  fp: number;
  fn: number;
  predVoxels: number;
  refVoxels: number;
  /** 2TP / (2TP + FP + FN); NaN when the label is absent from both (nnU-Net), 0 when absent from one. */
  dice: number;
  /** TP / (TP + FP + FN); NaN when absent from both. */
  iou: number;
  predVolumeMl: number;
  refVolumeMl: number;
  /** predVolumeMl − refVolumeMl. */
  volumeDiffMl: number;
  /** (pred − ref) / ref: NaN when both are empty, +Infinity when only the reference is empty. */
  volumeDiffRel: number;
}

/** Options of {@link compareLabelmaps}. */
export interface CompareOptions extends JobOptions {
  /** Labels to report (values ≥ 1). Default: every non-zero value present in either labelmap. */
  labels?: readonly number[];
  /** Normalised-surface-Dice tolerance in mm (default 1). */
  toleranceMm?: number;
  /** Names (file paths) used in error messages. */
  predName?: string;
  refName?: string;
}

/** The largest label value accepted (labelmaps are uint8 or uint16). */
export const MAX_LABEL = 65535;

/**
 * The voxels of a labelmap volume as non-negative integers ≤ {@link MAX_LABEL}: uint8/uint16 data is used
 * as is; other types are checked (integral, in range) and copied. Throws INPUT naming the file otherwise.
 */
export function labelValues(volume: Volume, name: string): Uint8Array | Uint16Array {
  const data = volume.data;
  if (data instanceof Uint8Array || data instanceof Uint16Array) return data;
  const out = new Uint16Array(data.length);
  for (let x = 0; x < data.length; x++) {
    const v = data[x]!;
    if (!(v >= 0 && v <= MAX_LABEL && Number.isInteger(v))) {
      const [ni, nj] = volume.size;
      const ijk = [x % ni, Math.floor(x / ni) % nj, Math.floor(x / (ni * nj))];
      throw new DelineateError('INPUT', `${name}: not a labelmap — voxel [${ijk.join(', ')}] has value ${v} (labels must be integers 0…${MAX_LABEL})`, {
        subject: name,
      });
    }
    out[x] = v;
  }
  return out;
}

/** Per-label voxel counts and bounding boxes (inclusive index ranges) of one labelmap. */
interface LabelScan {
  count: Float64Array;
  /** [iMin, jMin, kMin, iMax, jMax, kMax] per label; iMin > iMax when absent. */
  box: Int32Array;
}

function newScan(nLabels: number): LabelScan {
  const box = new Int32Array(nLabels * 6);
  for (let l = 0; l < nLabels; l++) {
    box.fill(0x7fffffff, l * 6, l * 6 + 3);
    box.fill(-1, l * 6 + 3, l * 6 + 6);
  }
  return { count: new Float64Array(nLabels), box };
}

function maxOf(a: Uint8Array | Uint16Array): number {
  let m = 0;
  for (let x = 0; x < a.length; x++) if (a[x]! > m) m = a[x]!;
  return m;
}

function extendBox(box: Int32Array, l: number, i: number, j: number, k: number): void {
  const o = l * 6;
  if (i < box[o]!) box[o] = i;
  if (j < box[o + 1]!) box[o + 1] = j;
  if (k < box[o + 2]!) box[o + 2] = k;
  if (i > box[o + 3]!) box[o + 3] = i;
  if (j > box[o + 4]!) box[o + 4] = j;
  if (k > box[o + 5]!) box[o + 5] = k;
}

/** Metrics of a label absent from both labelmaps. */
export function absentLabelMetrics(label: number): LabelMetrics {
  return {
    label,
    tp: 0,
    fp: 0,
    fn: 0,
    predVoxels: 0,
    refVoxels: 0,
    dice: NaN,
    iou: NaN,
    predSurfaceVoxels: 0,
    refSurfaceVoxels: 0,
    hd95Mm: NaN,
    hdMm: NaN,
    assdMm: NaN,
    nsd: NaN,
    predVolumeMl: 0,
    refVolumeMl: 0,
    volumeDiffMl: 0,
    volumeDiffRel: NaN,
  };
}

/**
 * Surface distances are measured as index differences scaled by the spacing, which is the physical distance only
 * when the grid's axes are orthogonal. ITK-read grids always are; a sheared grid is refused rather than measured
 * wrongly.
 */
function assertOrthogonalAxes(grid: Volume, name: string): void {
  const d = grid.direction;
  for (let a = 0; a < 3; a++)
    for (let b = 0; b < 3; b++) {
      const dot = d[a]! * d[b]! + d[3 + a]! * d[3 + b]! + d[6 + a]! * d[6 + b]!;
      if (Math.abs(dot - (a === b ? 1 : 0)) > 1e-4)
        throw new DelineateError('UNSUPPORTED', `${name}: the voxel axes are not orthonormal (direction ${d.map((v) => v.toFixed(4)).join(', ')}); surface distances need an orthogonal grid`, {
          subject: name,
        });
    }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Compare a predicted labelmap with a reference labelmap, label by label.
 *
 * Both volumes must be on the same grid (GEOMETRY error naming both files otherwise) and hold integer labels.
 * Each label's surface metrics are computed inside the bounding box of its voxels in either map, grown by one
 * voxel (exactly the same result as on the full grid, as MONAI's cropping). Progress: stage 'metrics', one
 * unit per label; cancellation is checked between labels.
 *
 * @returns one {@link LabelMetrics} per requested label, in ascending label order, and the non-zero labels
 *   present in either map.
 */
export async function compareLabelmaps(pred: Volume, ref: Volume, opts: CompareOptions = {}): Promise<{ metrics: LabelMetrics[]; present: number[] }> {
  const predName = opts.predName ?? 'prediction';
  const refName = opts.refName ?? 'reference';
  const toleranceMm = opts.toleranceMm ?? 1;
  if (!(toleranceMm >= 0 && Number.isFinite(toleranceMm))) throw new DelineateError('USAGE', `NSD tolerance must be a finite number ≥ 0 mm, got ${toleranceMm}`);
  assertSameGrid(pred, ref, predName, refName);
  assertOrthogonalAxes(ref, refName);
  throwIfCancelled(opts.signal);
  const P = labelValues(pred, predName);
  const R = labelValues(ref, refName);
  const [ni, nj, nk] = pred.size;
  const nLabels = Math.max(maxOf(P), maxOf(R), ...(opts.labels ?? [0])) + 1;
  const ps = newScan(nLabels);
  const rs = newScan(nLabels);
  const tp = new Float64Array(nLabels);
  for (let k = 0, x = 0; k < nk; k++)
    for (let j = 0; j < nj; j++)
      for (let i = 0; i < ni; i++, x++) {
        const p = P[x]!;
        const r = R[x]!;
        if (p !== 0) {
          ps.count[p]!++;
          extendBox(ps.box, p, i, j, k);
        }
        if (r !== 0) {
          rs.count[r]!++;
          extendBox(rs.box, r, i, j, k);
          if (p === r) tp[p]!++;
        }
      }
  const present: number[] = [];
  for (let l = 1; l < nLabels; l++) if (ps.count[l]! > 0 || rs.count[l]! > 0) present.push(l);
  const labels = opts.labels ? [...new Set(opts.labels)].sort((a, b) => a - b) : present;
  for (const l of labels)
    if (!(Number.isInteger(l) && l >= 1 && l <= MAX_LABEL)) throw new DelineateError('USAGE', `label ${l} is not an integer in 1…${MAX_LABEL}`);
  const voxelMl = (pred.spacingMm[0] * pred.spacingMm[1] * pred.spacingMm[2]) / 1000;
  const metrics: LabelMetrics[] = [];
  for (let n = 0; n < labels.length; n++) {
    const l = labels[n]!;
    opts.onProgress?.({ stage: 'metrics', done: n, total: labels.length, detail: `label ${l}` });
    await yieldToEventLoop();
    throwIfCancelled(opts.signal);
    const nP = ps.count[l]!;
    const nR = rs.count[l]!;
    if (nP === 0 && nR === 0) {
      metrics.push(absentLabelMetrics(l));
      continue;
    }
    // Union bounding box grown by one voxel, clipped to the grid.
    const lo: Vec3 = [0, 0, 0];
    const hi: Vec3 = [0, 0, 0];
    for (let c = 0; c < 3; c++) {
      const a = Math.min(ps.box[l * 6 + c]!, rs.box[l * 6 + c]!);
      const b = Math.max(ps.box[l * 6 + 3 + c]!, rs.box[l * 6 + 3 + c]!);
      lo[c] = Math.max(0, a - 1);
      hi[c] = Math.min(pred.size[c]! - 1, b + 1);
    }
    const size: Vec3 = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    const pm = new Uint8Array(size[0] * size[1] * size[2]);
    const rm = new Uint8Array(pm.length);
    for (let k = lo[2], y = 0; k <= hi[2]; k++)
      for (let j = lo[1]; j <= hi[1]; j++) {
        const row = ni * (j + nj * k);
        for (let i = lo[0]; i <= hi[0]; i++, y++) {
          if (P[row + i] === l) pm[y] = 1;
          if (R[row + i] === l) rm[y] = 1;
        }
      }
    const surface = surfaceMetrics(pm, rm, size, pred.spacingMm, toleranceMm);
    const t = tp[l]!;
    const fp = nP - t;
    const fn = nR - t;
    const predVolumeMl = nP * voxelMl;
    const refVolumeMl = nR * voxelMl;
    metrics.push({
      label: l,
      tp: t,
      fp,
      fn,
      predVoxels: nP,
      refVoxels: nR,
      dice: (2 * t) / (2 * t + fp + fn),
      iou: t / (t + fp + fn),
      ...surface,
      predVolumeMl,
      refVolumeMl,
      volumeDiffMl: predVolumeMl - refVolumeMl,
      volumeDiffRel: nR === 0 ? Infinity : (predVolumeMl - refVolumeMl) / refVolumeMl,
    });
  }
  opts.onProgress?.({ stage: 'metrics', done: labels.length, total: labels.length });
  return { metrics, present };
}
