/**
 * Cohort summaries of per-case metrics: mean, median and SD per label and metric, and nnU-Net's
 * "foreground mean" (the mean over labels of the per-label means).
 *
 * Treatment of undefined values (stated in every report):
 * - NaN (label absent from both reference and prediction) is left out, as nnU-Net's `np.nanmean` does; `nNaN`
 *   counts them.
 * - +Infinity (HD95/HD/ASSD when the label is absent from exactly one side) is left out of mean/median/SD, and
 *   `nInf` counts them, so that one missed structure does not turn the whole summary into ∞ while still showing
 *   that it happened. Dice/IoU/NSD are 0 in those cases and are included.
 */
import type { LabelMetrics } from './labelmap';

/** Metrics summarised per label. */
export const SUMMARY_METRICS = ['dice', 'iou', 'hd95Mm', 'hdMm', 'assdMm', 'nsd', 'volumeDiffMl', 'volumeDiffRel'] as const;
export type SummaryMetric = (typeof SUMMARY_METRICS)[number];

/** Summary of one metric over cases. */
export interface MetricSummary {
  /** Mean of the finite values (NaN when there are none). */
  mean: number;
  /** Median of the finite values (NaN when there are none). */
  median: number;
  /** Sample standard deviation (n − 1) of the finite values (NaN when fewer than 2). */
  sd: number;
  /** Number of finite values used. */
  n: number;
  /** Values left out because they were NaN (label absent from both). */
  nNaN: number;
  /** Values left out because they were ±Infinity (label absent from one side). */
  nInf: number;
}

/** Summarise a list of values as {@link MetricSummary}. */
export function summarise(values: readonly number[]): MetricSummary {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const nNaN = values.filter((v) => Number.isNaN(v)).length;
  const nInf = values.length - finite.length - nNaN;
  const n = finite.length;
  if (n === 0) return { mean: NaN, median: NaN, sd: NaN, n, nNaN, nInf };
  let sum = 0;
  for (const v of finite) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of finite) ss += (v - mean) ** 2;
  const median = n % 2 === 1 ? finite[(n - 1) / 2]! : (finite[n / 2 - 1]! + finite[n / 2]!) / 2;
  return { mean, median, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN, n, nNaN, nInf };
}

/** Per label (as a string key), per metric summaries. */
export type CohortSummary = Record<string, Record<SummaryMetric, MetricSummary>>;

/**
 * Summaries per label over all rows of that label, and the foreground mean per metric (mean over labels of the
 * per-label means, leaving out labels whose mean is undefined — nnU-Net's `foreground_mean`).
 */
export function summariseCohort(rows: readonly (LabelMetrics & { case: string })[], labels: readonly number[]): {
  perLabel: CohortSummary;
  foregroundMean: Record<SummaryMetric, number>;
} {
  const perLabel: CohortSummary = {};
  for (const l of labels) {
    const mine = rows.filter((r) => r.label === l);
    perLabel[String(l)] = Object.fromEntries(SUMMARY_METRICS.map((m) => [m, summarise(mine.map((r) => r[m]))])) as Record<SummaryMetric, MetricSummary>;
  }
  const foregroundMean = Object.fromEntries(
    SUMMARY_METRICS.map((m) => {
      const means = labels.map((l) => perLabel[String(l)]![m].mean).filter((v) => Number.isFinite(v));
      return [m, means.length ? means.reduce((a, b) => a + b, 0) / means.length : NaN];
    }),
  ) as Record<SummaryMetric, number>;
  return { perLabel, foregroundMean };
}
