/**
 * Per-segment statistics of a labelmap, optionally with the intensities of an image on the same grid
 * (`delineate stats`, and the workstation's segment table): voxel count, volume, intensity mean/SD/min/max,
 * bounding box in voxels and in LPS millimetres, centroid in LPS millimetres.
 */
import type { SegmentStatisticsRow } from '../../common/api';
import { DelineateError, throwIfCancelled } from '../../common/errors';
import { ijkToLps, transformPoint } from '../../common/geometry';
import type { JobOptions } from '../../common/progress';
import type { Segment, Vec3, Volume } from '../../common/volume';
import { assertSameGrid } from '../metrics/grid';
import { labelValues } from '../metrics/labelmap';

/** Per-segment statistics; the type is shared with the service API (main/common/api.ts). */
export type SegmentStatistics = SegmentStatisticsRow;

/** Options of {@link segmentStatistics}. */
export interface StatisticsOptions extends JobOptions {
  /** Segment table: names are attached; its values are reported even when empty. */
  segments?: readonly Segment[];
  /** Report only these label values (in this order is not kept: ascending). Default: every non-zero value present. */
  values?: readonly number[];
  /** File names for error messages. */
  labelsName?: string;
  imageName?: string;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Compute per-segment statistics. `image`, when given, must be on the labelmap's grid (GEOMETRY error naming
 * both files otherwise). Two passes over the voxels (the second for the SD about the exact mean).
 * Progress: stage 'stats', units = slices of both passes; cancellation is checked every 8 slices.
 *
 * @returns one entry per segment, ascending by value.
 */
export async function segmentStatistics(labels: Volume, image?: Volume, opts: StatisticsOptions = {}): Promise<SegmentStatistics[]> {
  const labelsName = opts.labelsName ?? 'labelmap';
  if (image) assertSameGrid(image, labels, opts.imageName ?? 'image', labelsName);
  const L = labelValues(labels, labelsName);
  const I = image?.data;
  const [ni, nj, nk] = labels.size;
  let maxLabel = 0;
  for (let x = 0; x < L.length; x++) if (L[x]! > maxLabel) maxLabel = L[x]!;
  for (const v of [...(opts.values ?? []), ...(opts.segments ?? []).map((s) => s.value)])
    if (!(Number.isInteger(v) && v >= 1 && v <= 65535)) throw new DelineateError('USAGE', `segment value ${v} is not an integer in 1…65535`);
  const n = Math.max(maxLabel, ...(opts.values ?? []), ...(opts.segments ?? []).map((s) => s.value)) + 1;
  const count = new Float64Array(n);
  const sumI = new Float64Array(n);
  const sumJ = new Float64Array(n);
  const sumK = new Float64Array(n);
  const sum = new Float64Array(n);
  const min = new Float64Array(n).fill(Infinity);
  const max = new Float64Array(n).fill(-Infinity);
  const box = new Int32Array(n * 6);
  for (let l = 0; l < n; l++) {
    box.fill(0x7fffffff, l * 6, l * 6 + 3);
    box.fill(-1, l * 6 + 3, l * 6 + 6);
  }
  const total = 2 * nk;
  for (let k = 0, x = 0; k < nk; k++) {
    if (k % 8 === 0) {
      opts.onProgress?.({ stage: 'stats', done: k, total });
      await yieldToEventLoop();
      throwIfCancelled(opts.signal);
    }
    for (let j = 0; j < nj; j++)
      for (let i = 0; i < ni; i++, x++) {
        const l = L[x]!;
        if (l === 0) continue;
        count[l]!++;
        sumI[l]! += i;
        sumJ[l]! += j;
        sumK[l]! += k;
        const o = l * 6;
        if (i < box[o]!) box[o] = i;
        if (j < box[o + 1]!) box[o + 1] = j;
        if (k < box[o + 2]!) box[o + 2] = k;
        if (i > box[o + 3]!) box[o + 3] = i;
        if (j > box[o + 4]!) box[o + 4] = j;
        if (k > box[o + 5]!) box[o + 5] = k;
        if (I) {
          const v = I[x]!;
          sum[l]! += v;
          if (v < min[l]!) min[l] = v;
          if (v > max[l]!) max[l] = v;
        }
      }
  }
  const mean = new Float64Array(n);
  for (let l = 1; l < n; l++) if (count[l]! > 0) mean[l] = sum[l]! / count[l]!;
  const ss = new Float64Array(n);
  if (I)
    for (let k = 0, x = 0; k < nk; k++) {
      if (k % 8 === 0) {
        opts.onProgress?.({ stage: 'stats', done: nk + k, total });
        await yieldToEventLoop();
        throwIfCancelled(opts.signal);
      }
      for (let y = 0; y < ni * nj; y++, x++) {
        const l = L[x]!;
        if (l === 0) continue;
        const d = I[x]! - mean[l]!;
        ss[l]! += d * d;
      }
    }
  opts.onProgress?.({ stage: 'stats', done: total, total });

  const names = new Map((opts.segments ?? []).map((s) => [s.value, s.name]));
  let values: number[];
  if (opts.values) values = [...new Set(opts.values)];
  else {
    values = [...names.keys()];
    for (let l = 1; l < n; l++) if (count[l]! > 0) values.push(l);
    values = [...new Set(values)];
  }
  values.sort((a, b) => a - b);
  const voxelMl = (labels.spacingMm[0] * labels.spacingMm[1] * labels.spacingMm[2]) / 1000;
  const m = ijkToLps(labels);
  return values.map((l) => {
    const c = count[l]!;
    const out: SegmentStatistics = { value: l, voxelCount: c, volumeMl: c * voxelMl };
    const name = names.get(l);
    if (name !== undefined) out.name = name;
    if (c === 0) return out;
    if (I) out.intensity = { mean: mean[l]!, sd: Math.sqrt(ss[l]! / c), min: min[l]!, max: max[l]! };
    const o = l * 6;
    const lo: Vec3 = [box[o]!, box[o + 1]!, box[o + 2]!];
    const hi: Vec3 = [box[o + 3]!, box[o + 4]!, box[o + 5]!];
    out.bboxIjk = { min: lo, max: hi };
    const pmin: Vec3 = [Infinity, Infinity, Infinity];
    const pmax: Vec3 = [-Infinity, -Infinity, -Infinity];
    for (let corner = 0; corner < 8; corner++) {
      const p = transformPoint(m, [corner & 1 ? hi[0] : lo[0], corner & 2 ? hi[1] : lo[1], corner & 4 ? hi[2] : lo[2]]);
      for (let a = 0; a < 3; a++) {
        pmin[a] = Math.min(pmin[a]!, p[a]!);
        pmax[a] = Math.max(pmax[a]!, p[a]!);
      }
    }
    out.bboxLpsMm = { min: pmin, max: pmax };
    out.centroidLpsMm = transformPoint(m, [sumI[l]! / c, sumJ[l]! / c, sumK[l]! / c]);
    return out;
  });
}

/** CSV columns of {@link statisticsToCsv}. */
export const STATS_CSV_COLUMNS = [
  'value', 'name', 'voxelCount', 'volumeMl', 'mean', 'sd', 'min', 'max',
  'bboxIMin', 'bboxJMin', 'bboxKMin', 'bboxIMax', 'bboxJMax', 'bboxKMax',
  'bboxLMinMm', 'bboxPMinMm', 'bboxSMinMm', 'bboxLMaxMm', 'bboxPMaxMm', 'bboxSMaxMm',
  'centroidLMm', 'centroidPMm', 'centroidSMm',
] as const;

/** Statistics as CSV (header first; empty fields where a value does not exist). */
export function statisticsToCsv(stats: readonly SegmentStatistics[]): string {
  const q = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const f = (v: number | undefined) => (v === undefined ? '' : String(v));
  const lines = [STATS_CSV_COLUMNS.join(',')];
  for (const s of stats)
    lines.push(
      [
        String(s.value),
        q(s.name ?? ''),
        String(s.voxelCount),
        String(s.volumeMl),
        f(s.intensity?.mean),
        f(s.intensity?.sd),
        f(s.intensity?.min),
        f(s.intensity?.max),
        ...[0, 1, 2].map((a) => f(s.bboxIjk?.min[a])),
        ...[0, 1, 2].map((a) => f(s.bboxIjk?.max[a])),
        ...[0, 1, 2].map((a) => f(s.bboxLpsMm?.min[a])),
        ...[0, 1, 2].map((a) => f(s.bboxLpsMm?.max[a])),
        ...[0, 1, 2].map((a) => f(s.centroidLpsMm?.[a])),
      ].join(','),
    );
  return lines.join('\n') + '\n';
}
