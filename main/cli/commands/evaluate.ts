/**
 * `delineate evaluate --pred <dir|file> --ref <dir|file> --output <report.json|report.csv> [--labels 1,2,5-7]
 * [--tolerance-mm 1] [--plot <file.svg>] [--label-names <names.json>] [--strict]` — compare predicted labelmaps
 * with references: per case × label Dice, IoU, HD95, HD, ASSD, NSD and volume differences; summaries per label.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { DelineateError } from '../../common/errors';
import {
  MAX_LABEL,
  evaluateCohort,
  pairCases,
  renderDistributionSvg,
  reportSummary,
  reportToCsv,
  reportToJson,
  nonFiniteAsString,
  writeTextAtomic,
} from '../../core/metrics/index';
import { parseArgs } from '../args';
import type { CliIo } from '../io';

export const usage = `Usage: delineate evaluate --pred <dir|file> --ref <dir|file> --output <report.json|report.csv>
                          [--labels 1,2,5-7] [--tolerance-mm 1] [--plot <plot.svg>] [--label-names <names.json[#table]>] [--strict]

Compare predicted labelmaps with reference labelmaps (NIfTI, NRRD, MetaImage), label by label:
  dice, iou        overlap (nnU-Net v2 formulas)
  hd95Mm, hdMm     95th-percentile and maximum symmetric Hausdorff distance in mm (MONAI compute_hausdorff_distance)
  assdMm           average symmetric surface distance in mm (MONAI, both directions pooled)
  nsd              normalised surface Dice at --tolerance-mm (MONAI compute_surface_dice, voxel-counted surfaces)
  predVolumeMl, refVolumeMl, volumeDiffMl (pred − ref), volumeDiffRel ((pred − ref)/ref)
Distances are in mm between voxel centres, using the voxel spacing. Prediction and reference of a case must be on
the same voxel grid (size, spacing, origin, direction); otherwise that case fails with a GEOMETRY error.

Pairing: with folders, cases are paired by file name without the image extension (case_001.nii.gz ↔
case_001.nii.gz or case_001.nrrd); other files are ignored. Cases found on one side only are listed (stderr and
"unmatched" in the report) and the cases present on both sides are evaluated; with --strict any unmatched case is
an error and nothing is evaluated. With two files, they form one case.

Empty labels: absent from both → dice, iou, hd95Mm, hdMm, assdMm, nsd are NaN; absent from one side → dice = iou =
nsd = 0 and hd95Mm = hdMm = assdMm = Infinity. Summaries (mean, median, SD with n − 1) use the finite values and
count NaN (nNaN) and Infinity (nInf) separately. JSON writes NaN/Infinity as the strings "NaN"/"Infinity".

Options:
  --pred <dir|file>        predicted labelmaps
  --ref <dir|file>         reference labelmaps
  --output <file>          report: .json (settings, cases, rows, summaries) or .csv (one row per case × label)
  --labels <list>          labels to evaluate, e.g. 1,2,5-7 (default: every non-zero label present in any case)
  --tolerance-mm <mm>      NSD tolerance (default 1)
  --plot <file.svg>        SVG box/strip plot of Dice, NSD, HD95 and ASSD per label
  --label-names <json>     {"1": "spleen", …} to name labels in the plot; for a file with several tables
                           ({"total": {…}, "total_mr": {…}}) choose one with names.json#total
  --strict                 fail when any case has no partner

Prints a JSON summary to stdout: {output, plot?, cases, evaluated, failed[], unmatched, toleranceMm, labels,
summary{label: {metric: {mean, median, sd, n, nNaN, nInf}}}, foregroundMean}.
Exit status: 0 when every paired case was evaluated; 1 when a case failed (the report is still written), nothing
could be paired, or --strict found unmatched cases; 2 for usage errors.`;

/** Parse "1,2,5-7" into sorted unique labels. */
export function parseLabelList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new DelineateError('USAGE', `--labels: '${part}' is not a label or a range like 5-7`, { subject: '--labels' });
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b > MAX_LABEL || b < a) throw new DelineateError('USAGE', `--labels: '${part}' must be within 1…${MAX_LABEL}, low to high`, { subject: '--labels' });
    for (let l = a; l <= b; l++) out.add(l);
  }
  if (out.size === 0) throw new DelineateError('USAGE', '--labels: no labels given', { subject: '--labels' });
  return [...out].sort((x, y) => x - y);
}

async function readLabelNames(spec: string): Promise<Record<number, string>> {
  // "names.json" or "names.json#task" for files holding several tables ({"total": {...}, "total_mr": {...}}).
  const hash = spec.lastIndexOf('#');
  const path = hash > 0 ? spec.slice(0, hash) : spec;
  const task = hash > 0 ? spec.slice(hash + 1) : undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new DelineateError('USAGE', `--label-names ${path}: cannot read JSON (${(e as Error).message})`, { subject: path, cause: e });
  }
  if (typeof json !== 'object' || json === null) throw new DelineateError('USAGE', `--label-names ${path}: expected a JSON object`, { subject: path });
  let obj = json as Record<string, unknown>;
  const tables = Object.entries(obj).filter(([, v]) => typeof v === 'object' && v !== null);
  if (task !== undefined) {
    const t = obj[task];
    if (typeof t !== 'object' || t === null)
      throw new DelineateError('USAGE', `--label-names ${path}: no table '${task}' (has ${tables.map(([k]) => k).join(', ') || 'none'})`, { subject: path });
    obj = t as Record<string, unknown>;
  } else if (tables.length === 1) obj = tables[0]![1] as Record<string, unknown>;
  else if (tables.length > 1)
    throw new DelineateError('USAGE', `--label-names ${path}: several tables (${tables.map(([k]) => k).join(', ')}); choose one with ${path}#<name>`, { subject: path });
  const out: Record<number, string> = {};
  for (const [k, v] of Object.entries(obj)) if (/^\d+$/.test(k) && typeof v === 'string') out[Number(k)] = v;
  return out;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    pred: { type: 'string' },
    ref: { type: 'string' },
    output: { type: 'string', alias: 'o' },
    labels: { type: 'string' },
    'tolerance-mm': { type: 'number' },
    plot: { type: 'string' },
    'label-names': { type: 'string' },
    strict: { type: 'boolean' },
  });
  if (positionals.length) throw new DelineateError('USAGE', `unexpected argument '${positionals[0]}'`);
  const pred = flags.pred as string | undefined;
  const ref = flags.ref as string | undefined;
  const output = flags.output as string | undefined;
  if (!pred || !ref || !output) throw new DelineateError('USAGE', `--pred, --ref and --output are required`);
  const format = extname(output).toLowerCase();
  if (format !== '.json' && format !== '.csv') throw new DelineateError('USAGE', `--output ${output}: must end in .json or .csv`, { subject: output });
  const plot = flags.plot as string | undefined;
  if (plot !== undefined && extname(plot).toLowerCase() !== '.svg') throw new DelineateError('USAGE', `--plot ${plot}: must end in .svg`, { subject: plot });
  const toleranceMm = (flags['tolerance-mm'] as number | undefined) ?? 1;
  if (toleranceMm < 0) throw new DelineateError('USAGE', `--tolerance-mm must be ≥ 0, got ${toleranceMm}`, { subject: '--tolerance-mm' });
  const labels = flags.labels !== undefined ? parseLabelList(String(flags.labels)) : undefined;
  const labelNames = flags['label-names'] ? await readLabelNames(flags['label-names'] as string) : {};

  const { pairs, predOnly, refOnly } = await pairCases(pred, ref);
  for (const c of predOnly) io.stderr(`warning: case '${c.case}' has a prediction (${c.path}) but no reference in ${ref}\n`);
  for (const c of refOnly) io.stderr(`warning: case '${c.case}' has a reference (${c.path}) but no prediction in ${pred}\n`);
  if (flags.strict && (predOnly.length || refOnly.length)) {
    const names = [...predOnly.map((c) => `${c.case} (prediction only)`), ...refOnly.map((c) => `${c.case} (reference only)`)];
    throw new DelineateError('INPUT', `--strict: ${names.length} case(s) without a partner: ${names.join(', ')}`);
  }
  if (pairs.length === 0) throw new DelineateError('INPUT', `no case names in common between ${pred} and ${ref}`);

  const report = await evaluateCohort(pairs, { predOnly, refOnly }, {
    ...(labels ? { labels } : {}),
    toleranceMm,
    predRoot: pred,
    refRoot: ref,
    signal: io.signal,
    onCase: (o, n, total) =>
      io.stderr(
        `[${n + 1}/${total}] ${o.case}: ${o.status === 'ok' ? `ok (${o.seconds.toFixed(1)} s)` : `FAILED — ${o.error?.message ?? 'unknown error'}`}\n`,
      ),
  });
  await writeTextAtomic(output, format === '.json' ? reportToJson(report) : reportToCsv(report));
  if (plot) await writeTextAtomic(plot, renderDistributionSvg(report, labelNames));
  io.stdout(JSON.stringify(reportSummary(report, output, plot), nonFiniteAsString) + '\n');
  const failed = report.cases.filter((c) => c.status === 'failed').length;
  if (failed) io.stderr(`${failed} of ${report.cases.length} case(s) failed; see "failed" in the summary\n`);
  return failed ? 1 : 0;
}
