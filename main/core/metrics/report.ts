/** Serialising an {@link EvaluationReport}: JSON (everything) and CSV (one row per case × label). */
import type { EvaluationReport, ReportRow } from './cohort';
import { csvField, csvNumber, nonFiniteAsString } from './write';

/** The report as JSON text; NaN/Infinity written as the strings "NaN"/"Infinity". */
export function reportToJson(report: EvaluationReport): string {
  return JSON.stringify(report, nonFiniteAsString, 1) + '\n';
}

/** CSV columns, in order. */
export const CSV_COLUMNS = [
  'case',
  'label',
  'dice',
  'iou',
  'hd95Mm',
  'hdMm',
  'assdMm',
  'nsd',
  'predVolumeMl',
  'refVolumeMl',
  'volumeDiffMl',
  'volumeDiffRel',
  'tp',
  'fp',
  'fn',
  'predVoxels',
  'refVoxels',
  'predSurfaceVoxels',
  'refSurfaceVoxels',
] as const satisfies readonly (keyof ReportRow)[];

/** Per case × label rows as CSV (header line first; "NaN"/"Infinity" for undefined values). */
export function reportToCsv(report: EvaluationReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of report.rows)
    lines.push(CSV_COLUMNS.map((c) => (c === 'case' ? csvField(row.case) : csvNumber(row[c]))).join(','));
  return lines.join('\n') + '\n';
}

/** The short summary `delineate evaluate` prints on stdout. */
export function reportSummary(report: EvaluationReport, output: string, plot?: string): Record<string, unknown> {
  return {
    output,
    ...(plot ? { plot } : {}),
    cases: report.cases.length,
    evaluated: report.cases.filter((c) => c.status === 'ok').length,
    failed: report.cases.filter((c) => c.status === 'failed').map((c) => ({ case: c.case, code: c.error?.code, message: c.error?.message })),
    unmatched: { predOnly: report.unmatched.predOnly.map((c) => c.case), refOnly: report.unmatched.refOnly.map((c) => c.case) },
    toleranceMm: report.settings.toleranceMm,
    labels: report.labels,
    summary: report.summary,
    foregroundMean: report.foregroundMean,
  };
}
