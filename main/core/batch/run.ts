/**
 * Batch segmentation of a cohort: every case of a shard is read, segmented with the engine
 * (core/inference `segment`) and written as `<output>/<case id>.nii.gz` (atomically), one case after the other.
 * A case that fails (corrupt file, wrong channel count, grid mismatch …) is recorded with its error and the
 * batch goes on; cancellation (the AbortSignal) stops it after recording what finished. The run record (see
 * ./record.ts) is rewritten after every case.
 */
import { arch, availableParallelism, hostname, platform } from 'node:os';
import { readFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DelineateError, isCancelled, throwIfCancelled, toDelineateError } from '../../common/errors';
import type { JobOptions, Progress } from '../../common/progress';
import type { Volume } from '../../common/volume';
import { segment, type SegmentOptions } from '../inference/engine';
import { resolveDevice } from '../inference/session';
import { readImageFile, readVolume, writeVolume } from '../io/index';
import type { LoadedModel } from '../models/registry';
import type { BatchCase, Cohort } from './cases';
import { type CaseRecord, finishedCases, recordFileName, type RunRecord, writeRecord } from './record';
import { type Shard, selectShard } from './shard';

/** The tool version written into run records: package.json's `version` of this installation. */
export const TOOL_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'delineate' && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // bundled without package.json: fall through
  }
  return 'unknown';
})();

/** Events the batch reports while it runs (the CLI draws its progress bar from them). */
export type BatchEvent =
  | { type: 'start'; total: number; toRun: number; skippedAsDone: string[]; recordPath: string; notes: string[] }
  | { type: 'case-start'; id: string; index: number; toRun: number }
  | { type: 'case-progress'; id: string; index: number; toRun: number; progress: Progress }
  | { type: 'case-end'; id: string; index: number; toRun: number; record: CaseRecord }
  | { type: 'log'; line: string };

/** Options of {@link runBatch}. */
export interface BatchOptions extends JobOptions {
  /** Output folder (created if missing). */
  outputDir: string;
  /** Only this shard of the cohort (default: all). */
  shard?: Shard;
  /** Skip cases a previous run finished (see record.ts `finishedCases`). */
  resume?: boolean;
  /** Engine options: device, TTA, folds, step, accumulation, threads. */
  engine?: Pick<SegmentOptions, 'device' | 'tta' | 'folds' | 'tileStepSize' | 'accumulation' | 'threads'>;
  /** Input path as given (for the record). */
  inputPath: string;
  onEvent?: (e: BatchEvent) => void;
}

/** Result of {@link runBatch}. */
export interface BatchResult {
  recordPath: string;
  record: RunRecord;
  /** Whether the signal stopped the run before every case was done. */
  cancelled: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

async function readCase(c: BatchCase, opts: JobOptions): Promise<Volume[]> {
  const out: Volume[] = [];
  for (const input of c.inputs) {
    throwIfCancelled(opts.signal);
    out.push(input.kind === 'file' ? await readImageFile(input.path, opts.signal ? { signal: opts.signal } : {}) : await readVolume(input.volume, opts.signal ? { signal: opts.signal } : {}));
  }
  return out;
}

function labelCounts(data: Uint8Array | Uint16Array): Record<string, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < data.length; i++) counts.set(data[i]!, (counts.get(data[i]!) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v]));
}

/**
 * Run a cohort (or a shard of it) through a model. Never throws for a failing case (it is recorded as failed);
 * throws DelineateError for problems of the whole run (output folder not writable, record not writable) and
 * returns with `cancelled: true` when the signal fires (the case in progress is recorded as cancelled and its
 * output is not written).
 */
export async function runBatch(cohort: Cohort, model: LoadedModel, opts: BatchOptions): Promise<BatchResult> {
  const emit = opts.onEvent ?? (() => {});
  try {
    await mkdir(opts.outputDir, { recursive: true });
  } catch (e) {
    throw new DelineateError('IO', `${opts.outputDir}: cannot create the output folder (${(e as Error).message})`, { subject: opts.outputDir, cause: e });
  }
  const m = model.manifest;
  const eng = opts.engine ?? {};
  const folds = eng.folds ?? model.folds.map((f) => f.fold);
  // Resolve the execution provider once (an unavailable explicit choice fails the whole run, not every case).
  const device = resolveDevice(eng.device ?? 'auto', (line) => emit({ type: 'log', line }));
  const settings: RunRecord['settings'] = {
    device: eng.device ?? 'auto',
    deviceResolved: device,
    tta: eng.tta !== false,
    folds,
    tileStepSize: eng.tileStepSize ?? m.tileStepSize,
    accumulation: eng.accumulation ?? (m.framework === 'nnunetv2' ? 'float16' : 'float32'),
    ...(eng.threads ? { threads: eng.threads } : {}),
    outputFormat: '.nii.gz',
  };
  const modelInfo: RunRecord['model'] = {
    id: m.id,
    name: m.name,
    version: m.version,
    dir: model.dir,
    framework: m.framework,
    files: model.folds.filter((f) => folds.includes(f.fold)).map((f) => ({ fold: f.fold, file: f.path.slice(model.dir.length + 1), sha256: f.sha256 })),
  };
  const shard = opts.shard && opts.shard.count > 1 ? opts.shard : null;
  const cases = shard ? selectShard(cohort.cases, shard) : cohort.cases;
  const recordPath = join(opts.outputDir, recordFileName(shard));
  const started = Date.now();
  const record: RunRecord = {
    schemaVersion: 1,
    tool: { name: 'delineate', version: TOOL_VERSION, node: process.version },
    host: { platform: platform(), arch: arch(), cpus: availableParallelism(), hostname: hostname() },
    createdAt: iso(started),
    updatedAt: iso(started),
    input: { path: opts.inputPath, kind: cohort.kind, cases: cohort.cases.length },
    shard,
    model: modelInfo,
    settings,
    cases: {},
    summary: { total: cases.length, succeeded: 0, failed: 0, cancelled: 0, skippedAsDone: 0, pending: cases.length },
  };
  const notes: string[] = [];
  let toRun = cases;
  const skipped: string[] = [];
  if (opts.resume) {
    const fin = await finishedCases(opts.outputDir, modelInfo, settings);
    notes.push(...fin.notes);
    toRun = [];
    for (const c of cases) {
      const prev = fin.done.get(c.id);
      if (prev) {
        record.cases[c.id] = prev;
        skipped.push(c.id);
      } else toRun.push(c);
    }
  }
  const summarise = (): void => {
    const all = Object.values(record.cases);
    const s = record.summary;
    s.succeeded = all.filter((c) => c.status === 'succeeded').length;
    s.failed = all.filter((c) => c.status === 'failed').length;
    s.cancelled = all.filter((c) => c.status === 'cancelled').length;
    s.skippedAsDone = skipped.length;
    s.pending = cases.length - all.length;
    record.updatedAt = iso(Date.now());
  };
  summarise();
  await writeRecord(recordPath, record);
  emit({ type: 'start', total: cases.length, toRun: toRun.length, skippedAsDone: skipped, recordPath, notes });

  let cancelled = false;
  for (let index = 0; index < toRun.length; index++) {
    const c = toRun[index]!;
    if (opts.signal?.aborted) {
      cancelled = true;
      break;
    }
    emit({ type: 'case-start', id: c.id, index, toRun: toRun.length });
    const t0 = Date.now();
    const sec = { read: 0, segment: 0, write: 0, total: 0 } as CaseRecord['seconds'];
    const base = { inputs: c.inputs.map((i) => i.path), startedAt: iso(t0) };
    let entry: CaseRecord;
    try {
      if (c.problems.length) throw new DelineateError('INPUT', `case ${c.id}: ${c.problems.join('; ')}`, { subject: c.id });
      if (c.inputs.length !== m.channels.length)
        throw new DelineateError(
          'INPUT',
          `case ${c.id}: model ${m.id} needs ${m.channels.length} channel(s) (${m.channels.map((ch, k) => `_${String(k).padStart(4, '0')} ${ch.name}`).join(', ')}), the case has ${c.inputs.length} (${c.inputs.map((i) => i.path).join(', ')})`,
          { subject: c.id },
        );
      const r0 = performance.now();
      const volumes = await readCase(c, opts);
      sec.read = (performance.now() - r0) / 1000;
      const s0 = performance.now();
      const result = await segment(model, volumes, {
        ...eng,
        device,
        folds,
        inputNames: c.inputs.map((i) => i.path),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (p) => emit({ type: 'case-progress', id: c.id, index, toRun: toRun.length, progress: p }),
        log: (line) => emit({ type: 'log', line: `${c.id}: ${line}` }),
      });
      sec.segment = (performance.now() - s0) / 1000;
      sec.preprocess = result.stats.seconds.preprocess;
      sec.inference = result.stats.seconds.inference;
      throwIfCancelled(opts.signal);
      const w0 = performance.now();
      const outName = `${c.id}.nii.gz`;
      const outPath = join(opts.outputDir, outName);
      await writeVolume(result.labels, outPath);
      sec.write = (performance.now() - w0) / 1000;
      const bytes = (await stat(outPath)).size;
      sec.total = (Date.now() - t0) / 1000;
      entry = {
        status: 'succeeded',
        ...base,
        output: outName,
        outputBytes: bytes,
        finishedAt: iso(Date.now()),
        seconds: sec,
        device: result.stats.device,
        tiles: result.stats.tiles,
        networkRuns: result.stats.networkRuns,
        labelCounts: labelCounts(result.labels.data),
      };
    } catch (e) {
      sec.total = (Date.now() - t0) / 1000;
      if (isCancelled(e)) {
        cancelled = true;
        entry = { status: 'cancelled', ...base, finishedAt: iso(Date.now()), seconds: sec };
      } else {
        const err = toDelineateError(e);
        const named = err.message.includes(c.id) || c.inputs.some((i) => err.message.includes(i.path)) ? err : new DelineateError(err.code, `case ${c.id}: ${err.message}`, { subject: c.id, cause: err });
        entry = { status: 'failed', ...base, finishedAt: iso(Date.now()), seconds: sec, error: named.toJSON() };
      }
    }
    record.cases[c.id] = entry;
    summarise();
    await writeRecord(recordPath, record);
    emit({ type: 'case-end', id: c.id, index, toRun: toRun.length, record: entry });
    if (cancelled) break;
  }
  return { recordPath, record, cancelled };
}
