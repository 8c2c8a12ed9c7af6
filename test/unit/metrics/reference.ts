/**
 * Access to test/fixtures/metrics/metrics_reference.json, written by
 * test/reference/metrics/make_metrics_reference.py (MONAI 1.6.1, nnU-Net v2, NumPy). Non-finite numbers are
 * stored as the strings "NaN" / "Infinity".
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../helpers/data';

export type RefNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface RefLabelRow {
  label: number;
  tp: number;
  fp: number;
  fn: number;
  predVoxels: number;
  refVoxels: number;
  dice: RefNumber;
  iou: RefNumber;
  predVolumeMl: number;
  refVolumeMl: number;
  hd95Mm: RefNumber;
  hdMm: RefNumber;
  assdMm: RefNumber;
  nsd: Record<string, RefNumber>;
}

export interface MetricsReference {
  tolerancesMm: number[];
  real: { name: string; pred: string; ref: string; shape: number[]; spacingMm: number[]; labels: RefLabelRow[] }[];
  synthetic: { name: string; shape: [number, number, number]; spacingMm: [number, number, number]; predRuns: number[]; refRuns: number[]; metrics: RefLabelRow }[];
  percentiles: { values: number[]; q: number; expected: number }[];
}

export const FIXTURE_DIR = resolve(PROJECT_ROOT, 'test', 'fixtures', 'metrics');

export function loadReference(): MetricsReference {
  return JSON.parse(readFileSync(resolve(FIXTURE_DIR, 'metrics_reference.json'), 'utf8')) as MetricsReference;
}

export function refNumber(v: RefNumber): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Decode [start, length, …] runs of flat indices into a 0/1 mask. */
export function maskFromRuns(runs: number[], length: number): Uint8Array {
  const m = new Uint8Array(length);
  for (let r = 0; r < runs.length; r += 2) m.fill(1, runs[r]!, runs[r]! + runs[r + 1]!);
  return m;
}

/**
 * Agreement with MONAI for distances (mm): MONAI stores surface distances as float32 (relative rounding 6e-8 each)
 * and interpolates percentiles / means in float32 (torch.quantile, torch.mean), while Delineate works in
 * float64 throughout. 1e-5 relative (1e-5 mm below 1 mm) covers float32 accumulation over 10⁵–10⁶ distances
 * with margin, and is far below any clinically meaningful difference (a voxel is ≥ 0.4 mm here).
 */
export function distanceTolerance(reference: number): number {
  return 1e-5 * Math.max(1, Math.abs(reference));
}

/** NSD: MONAI divides counts in float32; 1e-6 absolute is ~10× that rounding. */
export const NSD_TOLERANCE = 1e-6;
/** Dice / IoU: the same formula on the same integer counts, in float64. */
export const DICE_TOLERANCE = 1e-9;

/** Compare a number with a reference allowing NaN = NaN and ±Infinity equality. */
export function close(actual: number, expected: number, tol: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tol;
}

/**
 * The HD95 Delineate must give for a reference row: MONAI's value, except when exactly one side is empty, where
 * Delineate reports +Infinity (MONAI 1.6.1 returns NaN from torch.quantile over infinite distances, while its
 * plain HD gives inf — checked here so that a MONAI change is noticed when the fixture is regenerated).
 */
export function expectedHd95(row: RefLabelRow): number {
  const oneEmpty = (row.predVoxels === 0) !== (row.refVoxels === 0);
  if (oneEmpty) {
    if (!Number.isNaN(refNumber(row.hd95Mm)) || refNumber(row.hdMm) !== Infinity)
      throw new Error(`MONAI's empty-side convention changed: hd95 ${row.hd95Mm}, hd ${row.hdMm}`);
    return Infinity;
  }
  return refNumber(row.hd95Mm);
}
