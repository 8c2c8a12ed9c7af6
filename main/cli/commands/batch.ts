/**
 * `delineate batch <input-dir-or-list> --model <id|dir> --output <dir> [--shard i/n] [--resume] [...]` — segment
 * a cohort, case by case, resumable and shardable (see main/core/batch). Progress on stderr (a bar on a terminal,
 * plain lines otherwise), a JSON summary on stdout; exit 1 when any case failed.
 */
import { DelineateError } from '../../common/errors';
import { estimateEtaMs } from '../../common/progress';
import { type BatchEvent, discoverCases, parseShard, runBatch, type Shard } from '../../core/batch/index';
import { DEVICE_NAMES, type DeviceName } from '../../core/inference/session';
import { loadModel } from '../../core/models/registry';
import { parseArgs } from '../args';
import type { CliIo } from '../io';

export const usage = `Usage: delineate batch <input-dir-or-list> --model <id|dir> --output <dir> [--shard i/n] [--resume]
                       [--device auto|cpu|cuda|webgpu|dml|coreml] [--no-tta] [--folds 0,1] [--step s]
                       [--accumulation float16|float32] [--threads n]

Segment every case of a cohort and write <output>/<case>.nii.gz (label maps on each case's first-channel grid).

Inputs:
  a folder of images    nnU-Net/MSD naming: <case>_0000.nii.gz, <case>_0001.nii.gz … are the channels of <case>
                        (NIfTI, NRRD or MetaImage); a file without a _XXXX suffix is a one-channel case
  a folder of DICOM     (no image files at its top level) every series found is a one-channel case named
                        <patient>_<study date>_<series number>_<description>
  a text list           one case per line: a path, or tab-separated paths of its channels; # comments;
                        relative paths are relative to the list file; a DICOM series folder per line also works

Options:
  --model <id|dir>       model id from \`delineate models\` or a model folder
  --output <dir>         output folder (created if missing)
  --shard i/n            run only shard i of n (0-based): cases sorted by id, case k goes to shard k mod n
                         (round robin; shards are disjoint and together cover the cohort)
  --resume               skip cases that a run record in <output> lists as succeeded with the same model files
                         and settings, when their output file is still there with the recorded size
  --device <name>        execution provider (default auto)
  --no-tta               no mirroring test-time augmentation (≈2^d times faster)
  --folds <list>         folds to average, e.g. 0,1 (default: all)
  --step <s>             tile step, 0 < s ≤ 1 (default: the model's)
  --accumulation <type>  float16 (nnU-Net's) or float32
  --threads <n>          CPU threads for ONNX Runtime (default: all cores)

Writes the run record <output>/run.json (with --shard i/n, n > 1: run.shard-<i>-of-<n>.json, so that shards
sharing a folder never write the same file): tool version, host, model id/version and SHA-256 of each ONNX file,
settings, and per case its status (succeeded|failed|cancelled), inputs, output, timings, device and label counts.
It is rewritten atomically after every case; an output counts as finished only once it is renamed into place AND
listed in the record.

A case that fails (corrupt or missing file, wrong number of channels, grids that differ) is reported with its name
and the rest go on. Ctrl-C stops after recording the finished cases (exit 130); --resume continues.
Prints {"output", "record", "model", "shard", "cases", "succeeded", "failed", "cancelled", "skippedAsDone",
"failures": [{case, code, message}], "seconds"} to stdout. Exit status: 0 all cases succeeded, 1 any case failed,
2 usage, 130 cancelled.`;

function parseFolds(text: string): number[] {
  const folds = text.split(',').map((s) => Number(s.trim()));
  if (folds.some((f) => !Number.isInteger(f) || f < 0)) throw new DelineateError('USAGE', `--folds must be a comma-separated list of fold numbers, got '${text}'`, { subject: '--folds' });
  return folds;
}

/** Progress display: a redrawn bar on a terminal, one line per case (and every 25 % of a case's tiles) otherwise. */
function reporter(io: CliIo): (e: BatchEvent) => void {
  const t0 = Date.now();
  let caseStart = 0;
  let lastDraw = 0;
  let lastQuarter = -1;
  let drawn = false;
  const clear = (): void => {
    if (drawn) io.stderr('\r\x1b[K');
    drawn = false;
  };
  return (e) => {
    const now = Date.now();
    switch (e.type) {
      case 'start':
        for (const n of e.notes) io.stderr(`note: ${n}\n`);
        io.stderr(`batch: ${e.total} case(s)${e.skippedAsDone.length ? `, ${e.skippedAsDone.length} already done (resume)` : ''}, ${e.toRun} to run; record ${e.recordPath}\n`);
        break;
      case 'case-start':
        caseStart = now;
        lastQuarter = -1;
        if (!io.isTTY) io.stderr(`[${e.index + 1}/${e.toRun}] ${e.id}: started\n`);
        break;
      case 'case-progress': {
        const p = e.progress;
        if (p.stage !== 'inference') break;
        const frac = p.total > 0 ? p.done / p.total : 0;
        if (io.isTTY) {
          if (now - lastDraw < 100 && p.done !== p.total) break;
          lastDraw = now;
          const overall = (e.index + frac) / e.toRun;
          const elapsed = now - t0;
          const eta = overall > 0 ? (elapsed / overall) * (1 - overall) : undefined;
          const width = 30;
          const fill = Math.round(width * overall);
          io.stderr(
            `\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] case ${e.index + 1}/${e.toRun} ${e.id} tiles ${p.done}/${p.total}` +
              `${eta !== undefined ? ` ETA ${Math.ceil(eta / 1000)} s` : ''}\x1b[K`,
          );
          drawn = true;
        } else {
          const q = Math.floor(frac * 4);
          if (q > lastQuarter && q < 4) {
            lastQuarter = q;
            const eta = estimateEtaMs(caseStart, now, p);
            io.stderr(`[${e.index + 1}/${e.toRun}] ${e.id}: tiles ${p.done}/${p.total}${eta !== undefined ? ` (ETA ${Math.ceil(eta / 1000)} s)` : ''}\n`);
          }
        }
        break;
      }
      case 'case-end': {
        clear();
        const r = e.record;
        const text =
          r.status === 'succeeded'
            ? `ok (${r.seconds.total.toFixed(1)} s, ${r.device}) → ${r.output}`
            : r.status === 'cancelled'
              ? 'cancelled'
              : `FAILED — ${r.error?.message ?? 'unknown error'}`;
        io.stderr(`[${e.index + 1}/${e.toRun}] ${e.id}: ${text}\n`);
        break;
      }
      case 'log':
        clear();
        io.stderr(`${e.line}\n`);
        break;
    }
  };
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    model: { type: 'string', alias: 'm' },
    output: { type: 'string', alias: 'o' },
    shard: { type: 'string' },
    resume: { type: 'boolean' },
    device: { type: 'string' },
    'no-tta': { type: 'boolean' },
    folds: { type: 'string' },
    step: { type: 'number' },
    accumulation: { type: 'string' },
    threads: { type: 'number' },
  });
  if (positionals.length !== 1) throw new DelineateError('USAGE', `expected one input folder or list, got ${positionals.length}`);
  const input = positionals[0]!;
  if (!flags.model) throw new DelineateError('USAGE', '--model is required', { subject: '--model' });
  const output = flags.output as string | undefined;
  if (!output) throw new DelineateError('USAGE', '--output is required', { subject: '--output' });
  const shard: Shard | undefined = flags.shard !== undefined ? parseShard(String(flags.shard)) : undefined;
  const device = (flags.device as string | undefined) ?? 'auto';
  if (!DEVICE_NAMES.includes(device as DeviceName))
    throw new DelineateError('USAGE', `--device must be one of ${DEVICE_NAMES.join(', ')}, got '${device}'`, { subject: '--device' });
  const folds = flags.folds !== undefined ? parseFolds(String(flags.folds)) : undefined;
  const acc = flags.accumulation as string | undefined;
  if (acc !== undefined && acc !== 'float16' && acc !== 'float32') throw new DelineateError('USAGE', `--accumulation must be float16 or float32, got '${acc}'`, { subject: '--accumulation' });
  const threads = flags.threads as number | undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new DelineateError('USAGE', '--threads must be a positive integer', { subject: '--threads' });
  const step = flags.step as number | undefined;
  if (step !== undefined && !(step > 0 && step <= 1)) throw new DelineateError('USAGE', `--step must be in (0, 1], got ${step}`, { subject: '--step' });

  const t0 = performance.now();
  const model = await loadModel(flags.model as string);
  if (folds) {
    const missing = folds.filter((f) => !model.folds.some((x) => x.fold === f));
    if (missing.length) throw new DelineateError('USAGE', `model ${model.manifest.id} has no fold ${missing.join(', ')} (folds: ${model.folds.map((f) => f.fold).join(', ')})`, { subject: '--folds' });
  }
  const cohort = await discoverCases(input, { signal: io.signal });
  for (const s of cohort.skipped) io.stderr(`skipped: ${s.path} (${s.reason})\n`);
  const result = await runBatch(cohort, model, {
    inputPath: input,
    outputDir: output,
    ...(shard ? { shard } : {}),
    resume: Boolean(flags.resume),
    engine: {
      device: device as DeviceName,
      tta: !flags['no-tta'],
      ...(folds ? { folds } : {}),
      ...(step !== undefined ? { tileStepSize: step } : {}),
      ...(acc ? { accumulation: acc } : {}),
      ...(threads ? { threads } : {}),
    },
    signal: io.signal,
    onEvent: reporter(io),
  });
  const rec = result.record;
  const failures = Object.entries(rec.cases)
    .filter(([, c]) => c.status === 'failed')
    .map(([id, c]) => ({ case: id, code: c.error?.code ?? 'INTERNAL', message: c.error?.message ?? '' }));
  const s = rec.summary;
  io.stderr(
    `batch: ${s.succeeded} succeeded${s.skippedAsDone ? ` (${s.skippedAsDone} from an earlier run)` : ''}, ${s.failed} failed` +
      `${s.cancelled || s.pending ? `, ${s.cancelled + s.pending} not done (cancelled)` : ''} of ${s.total}` +
      `${failures.length ? `; failed: ${failures.map((f) => f.case).join(', ')}` : ''}\n`,
  );
  io.stdout(
    JSON.stringify({
      output,
      record: result.recordPath,
      model: { id: rec.model.id, version: rec.model.version },
      shard: rec.shard,
      cases: s.total,
      succeeded: s.succeeded,
      failed: s.failed,
      cancelled: s.cancelled + s.pending,
      skippedAsDone: s.skippedAsDone,
      failures,
      seconds: (performance.now() - t0) / 1000,
    }) + '\n',
  );
  if (result.cancelled) {
    io.stderr('delineate: cancelled\n');
    return 130;
  }
  return failures.length ? 1 : 0;
}
