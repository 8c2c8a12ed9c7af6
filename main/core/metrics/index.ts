/**
 * Segmentation metrics (`delineate evaluate`): per-label Dice, IoU, HD95/HD, ASSD, normalised surface Dice and
 * volume differences, as nnU-Net v2 (overlap, empty conventions) and MONAI 1.6.1 (surface distances) define
 * them; cohort pairing, summaries, JSON/CSV reports and an SVG distribution plot.
 */
export { squaredDistanceTransform } from './edt';
export { surfaceVoxels } from './surface';
export { percentile, percentileOfSorted } from './percentile';
export { surfaceMetrics, type SurfaceMetrics } from './binary';
export { assertSameGrid, gridDifference, DEFAULT_GRID_TOLERANCE, type GridTolerance } from './grid';
export { compareLabelmaps, labelValues, absentLabelMetrics, MAX_LABEL, type LabelMetrics, type CompareOptions } from './labelmap';
export { summarise, summariseCohort, SUMMARY_METRICS, type MetricSummary, type SummaryMetric, type CohortSummary } from './summary';
export {
  caseName,
  listCaseFiles,
  pairCases,
  evaluateCohort,
  REPORT_CONVENTIONS,
  type CasePair,
  type CaseFile,
  type CaseOutcome,
  type ReportRow,
  type EvaluationReport,
  type EvaluateOptions,
} from './cohort';
export { reportToJson, reportToCsv, reportSummary, CSV_COLUMNS } from './report';
export { renderDistributionSvg } from './plot';
export { writeTextAtomic, nonFiniteAsString, csvNumber, csvField } from './write';
