/**
 * Cohort evaluation: pair prediction and reference files by case name, compare each pair label by label, and
 * summarise (`delineate evaluate`).
 *
 * Pairing (nnU-Net style): a case's name is its file name without the image extension (`.nii.gz`, `.nii`,
 * `.nrrd`, `.nhdr`, `.mha`, `.mhd`); other files in the folders are ignored. Cases present on one side only are
 * listed in the report (`unmatched`) and the intersection is evaluated; callers that want a mismatch to be an
 * error check `unmatched` before evaluating (the CLI's `--strict`). A case that cannot be read or compared
 * (corrupt file, different grids, non-integer labels) is recorded with its error and the rest go on.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DelineateError, type SerializedError, isCancelled, throwIfCancelled, toDelineateError } from '../../common/errors';
import type { JobOptions } from '../../common/progress';
import type { Volume } from '../../common/volume';
import { imageExtension, readImageFile } from '../io';
import { type LabelMetrics, absentLabelMetrics, compareLabelmaps } from './labelmap';
import { type CohortSummary, type SummaryMetric, summariseCohort } from './summary';

/** One prediction/reference pair. */
export interface CasePair {
  case: string;
  pred: string;
  ref: string;
}

/** A case file without a partner on the other side. */
export interface CaseFile {
  case: string;
  path: string;
}

/** The case name of an image file: its base name without the image extension. */
export function caseName(path: string): string {
  const name = basename(path);
  const ext = imageExtension(name);
  return ext ? name.slice(0, name.length - ext.length) : name;
}

/** Image files of a folder by case name (not recursive; hidden files skipped). USAGE error on duplicate names. */
export async function listCaseFiles(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${dir}: cannot list folder (${(e as Error).message})`, { subject: dir, cause: e });
  }
  const out = new Map<string, string>();
  for (const name of names.sort()) {
    if (name.startsWith('.') || !imageExtension(name)) continue;
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    const c = caseName(name);
    const prior = out.get(c);
    if (prior) throw new DelineateError('USAGE', `${dir}: two files for case '${c}' (${basename(prior)} and ${name})`, { subject: path });
    out.set(c, path);
  }
  return out;
}

/**
 * Pair predictions with references. Both paths are folders (paired by case name) or both are files (one case,
 * named after the prediction file).
 */
export async function pairCases(pred: string, ref: string): Promise<{ pairs: CasePair[]; predOnly: CaseFile[]; refOnly: CaseFile[] }> {
  const kind = async (p: string) => {
    try {
      return (await stat(p)).isDirectory() ? 'dir' : 'file';
    } catch (e) {
      throw new DelineateError('NOT_FOUND', `${p}: no such file or folder`, { subject: p, cause: e });
    }
  };
  const [pk, rk] = await Promise.all([kind(pred), kind(ref)]);
  if (pk !== rk) throw new DelineateError('USAGE', `--pred and --ref must both be folders or both be files (${pred} is a ${pk}, ${ref} is a ${rk})`);
  if (pk === 'file') return { pairs: [{ case: caseName(pred), pred, ref }], predOnly: [], refOnly: [] };
  const [pm, rm] = await Promise.all([listCaseFiles(pred), listCaseFiles(ref)]);
  const pairs: CasePair[] = [];
  const predOnly: CaseFile[] = [];
  for (const [c, path] of pm) {
    const r = rm.get(c);
    if (r) pairs.push({ case: c, pred: path, ref: r });
    else predOnly.push({ case: c, path });
  }
  const refOnly = [...rm].filter(([c]) => !pm.has(c)).map(([c, path]) => ({ case: c, path }));
  return { pairs, predOnly, refOnly };
}

/** What happened to one case. */
export interface CaseOutcome extends CasePair {
  status: 'ok' | 'failed';
  /** Non-zero labels present in the prediction or the reference (ok cases). */
  labelsPresent?: number[];
  error?: SerializedError;
  seconds: number;
}

/** One row of the report: one label of one case. */
export type ReportRow = LabelMetrics & { case: string };

/** The full evaluation report (written as JSON by `delineate evaluate --output x.json`). */
export interface EvaluationReport {
  tool: 'delineate evaluate';
  reportVersion: 1;
  settings: {
    pred: string;
    ref: string;
    /** Labels asked for, or null for every label present in any case. */
    labels: number[] | null;
    toleranceMm: number;
    hdPercentile: 95;
  };
  /** How undefined values are reported and summarised. */
  conventions: Record<string, string>;
  /** Labels evaluated (ascending). */
  labels: number[];
  cases: CaseOutcome[];
  unmatched: { predOnly: CaseFile[]; refOnly: CaseFile[] };
  /** One row per evaluated case × label; labels absent from both sides of a case appear with NaN metrics. */
  rows: ReportRow[];
  summary: CohortSummary;
  foregroundMean: Record<SummaryMetric, number>;
}

export const REPORT_CONVENTIONS: Record<string, string> = {
  units: 'distances in mm between voxel centres (physical spacing); volumes in mL; volumeDiff = prediction − reference',
  surfaces: "surface voxels = mask XOR 6-neighbourhood erosion, outside the grid counted as background (MONAI get_mask_edges)",
  hd95Mm: 'max of the two directed 95th percentiles (linear interpolation) of surface-to-surface distances (MONAI compute_hausdorff_distance, percentile=95)',
  assdMm: 'mean of both directed surface-distance sets pooled (MONAI compute_average_surface_distance, symmetric=True)',
  nsd: 'surface voxels within the tolerance over all surface voxels, both directions (MONAI compute_surface_dice, use_subvoxels=False)',
  bothEmpty: 'label absent from prediction and reference: dice, iou, hd95Mm, hdMm, assdMm, nsd and volumeDiffRel are NaN (nnU-Net / MONAI)',
  oneEmpty: 'label absent from exactly one side: dice = iou = nsd = 0; hd95Mm, hdMm, assdMm = Infinity; volumeDiffRel = Infinity when the reference is empty',
  summary: 'mean/median/SD (n−1) over finite values; NaN values left out (as nnU-Net nanmean) and counted in nNaN; Infinity left out and counted in nInf; foregroundMean = mean over labels of the per-label means',
  json: 'non-finite numbers are written as the strings "NaN" and "Infinity"',
};

/** Options of {@link evaluateCohort}. */
export interface EvaluateOptions extends JobOptions {
  /** Labels to evaluate; default every non-zero label present in any case. */
  labels?: readonly number[];
  /** NSD tolerance in mm (default 1). */
  toleranceMm?: number;
  /** Called after each case (for logs). */
  onCase?: (outcome: CaseOutcome, index: number, total: number) => void;
  /** Reader (default {@link readImageFile}). */
  read?: (path: string) => Promise<Volume>;
  /** Recorded in the report's settings. */
  predRoot?: string;
  refRoot?: string;
}

/**
 * Evaluate every pair. Progress: stage 'evaluate', one unit per case. Cancellation (CancelledSignal) stops the
 * whole run; every other failure is recorded on its case and the next case goes on.
 */
export async function evaluateCohort(
  pairs: readonly CasePair[],
  unmatched: { predOnly: CaseFile[]; refOnly: CaseFile[] } = { predOnly: [], refOnly: [] },
  opts: EvaluateOptions = {},
): Promise<EvaluationReport> {
  const read = opts.read ?? ((p: string) => readImageFile(p, { signal: opts.signal }));
  const toleranceMm = opts.toleranceMm ?? 1;
  const outcomes: CaseOutcome[] = [];
  const perCase = new Map<string, LabelMetrics[]>();
  for (const [n, pair] of pairs.entries()) {
    throwIfCancelled(opts.signal);
    opts.onProgress?.({ stage: 'evaluate', done: n, total: pairs.length, detail: pair.case });
    const t0 = performance.now();
    let outcome: CaseOutcome;
    try {
      const pred = await read(pair.pred);
      const ref = await read(pair.ref);
      const { metrics, present } = await compareLabelmaps(pred, ref, {
        ...(opts.labels ? { labels: opts.labels } : {}),
        toleranceMm,
        predName: pair.pred,
        refName: pair.ref,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      perCase.set(pair.case, metrics);
      outcome = { ...pair, status: 'ok', labelsPresent: present, seconds: (performance.now() - t0) / 1000 };
    } catch (e) {
      if (isCancelled(e)) throw e;
      outcome = { ...pair, status: 'failed', error: toDelineateError(e).toJSON(), seconds: (performance.now() - t0) / 1000 };
    }
    outcomes.push(outcome);
    opts.onCase?.(outcome, n, pairs.length);
  }
  opts.onProgress?.({ stage: 'evaluate', done: pairs.length, total: pairs.length });
  const labels = opts.labels
    ? [...new Set(opts.labels)].sort((a, b) => a - b)
    : [...new Set(outcomes.flatMap((o) => o.labelsPresent ?? []))].sort((a, b) => a - b);
  const rows: ReportRow[] = [];
  for (const o of outcomes) {
    const metrics = perCase.get(o.case);
    if (!metrics) continue;
    const byLabel = new Map(metrics.map((m) => [m.label, m]));
    // A label evaluated in the cohort but absent from both sides of this case: NaN row (nnU-Net's convention).
    for (const l of labels) rows.push({ case: o.case, ...(byLabel.get(l) ?? absentLabelMetrics(l)) });
  }
  const { perLabel, foregroundMean } = summariseCohort(rows, labels);
  return {
    tool: 'delineate evaluate',
    reportVersion: 1,
    settings: { pred: opts.predRoot ?? '', ref: opts.refRoot ?? '', labels: opts.labels ? [...labels] : null, toleranceMm, hdPercentile: 95 },
    conventions: REPORT_CONVENTIONS,
    labels,
    cases: outcomes,
    unmatched,
    rows,
    summary: perLabel,
    foregroundMean,
  };
}
