/**
 * The run record of a batch (`run.json`, or `run.shard-<i>-of-<n>.json` for a shard, beside the outputs): what
 * ran, with which model (id, version, SHA-256 of every ONNX file), settings, device, tool version, host, and per
 * case its status and timings. Written atomically (temporary file + rename) after every case, so it is always a
 * complete JSON document and lists a case as `succeeded` only after that case's output was renamed into place.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SerializedError } from '../../common/errors';
import { writeTextAtomic } from '../metrics/index';
import type { Shard } from './shard';

/** Status of one case in a run record. */
export type CaseStatus = 'succeeded' | 'failed' | 'cancelled';

/** One case in a run record. */
export interface CaseRecord {
  status: CaseStatus;
  /** Input files (image files, or a DICOM series folder) in channel order. */
  inputs: string[];
  /** Output file name relative to the output folder (succeeded cases). */
  output?: string;
  /** Size in bytes of the output when it was written (resume checks it). */
  outputBytes?: number;
  /** ISO-8601 UTC times. */
  startedAt: string;
  finishedAt: string;
  /** Wall-clock seconds: reading inputs, segmentation (engine's own split), writing, total. */
  seconds: { read: number; segment: number; write: number; total: number; preprocess?: number; inference?: number };
  /** Execution provider that ran the case. */
  device?: string;
  /** Sliding-window tiles and network runs (tiles × mirrorings × folds). */
  tiles?: number;
  networkRuns?: number;
  /** Label values present in the output and their voxel counts. */
  labelCounts?: Record<string, number>;
  error?: SerializedError;
}

/** The whole run record (schema version 1). */
export interface RunRecord {
  schemaVersion: 1;
  tool: { name: 'delineate'; version: string; node: string };
  host: { platform: string; arch: string; cpus: number; hostname?: string };
  createdAt: string;
  updatedAt: string;
  input: { path: string; kind: 'folder' | 'list' | 'dicom'; cases: number };
  shard: Shard | null;
  model: {
    id: string;
    name: string;
    version: string;
    dir: string;
    framework: string;
    /** Every ONNX file used, with its SHA-256 (verified against the manifest when loaded). */
    files: { fold: number; file: string; sha256: string }[];
  };
  settings: {
    /** Requested execution provider (`--device`) and the one it resolved to on this host. */
    device: string;
    deviceResolved: string;
    tta: boolean;
    folds: number[];
    tileStepSize: number;
    accumulation: 'float16' | 'float32';
    threads?: number;
    outputFormat: string;
  };
  /** Per case id. */
  cases: Record<string, CaseRecord>;
  summary: { total: number; succeeded: number; failed: number; cancelled: number; skippedAsDone: number; pending: number };
}

/** File name of the run record of a shard (or of an unsharded run). */
export function recordFileName(shard: Shard | null): string {
  return shard && shard.count > 1 ? `run.shard-${shard.index}-of-${shard.count}.json` : 'run.json';
}

/** Write a run record atomically. */
export async function writeRecord(path: string, record: RunRecord): Promise<void> {
  await writeTextAtomic(path, JSON.stringify(record, null, 2) + '\n');
}

/** Read every run record in a folder (`run.json`, `run.shard-*.json`); unreadable ones are returned as problems. */
export async function readRecords(folder: string): Promise<{ records: { file: string; record: RunRecord }[]; problems: string[] }> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return { records: [], problems: [] };
  }
  const records: { file: string; record: RunRecord }[] = [];
  const problems: string[] = [];
  for (const n of names.filter((x) => x === 'run.json' || /^run\.shard-\d+-of-\d+\.json$/.test(x)).sort()) {
    const file = join(folder, n);
    try {
      const json = JSON.parse(await readFile(file, 'utf8')) as RunRecord;
      if (json?.schemaVersion !== 1 || typeof json.cases !== 'object' || json.cases === null) throw new Error('not a version-1 run record');
      records.push({ file, record: json });
    } catch (e) {
      problems.push(`${file}: ignored (${(e as Error).message})`);
    }
  }
  return { records, problems };
}

/**
 * Cases that an earlier run finished: listed as succeeded in a run record made with the same ONNX files (same
 * SHA-256s) and the same TTA/folds/step/accumulation settings, whose output file still exists with the recorded
 * size. Returns case id → the record that lists it.
 */
export async function finishedCases(
  folder: string,
  model: RunRecord['model'],
  settings: Pick<RunRecord['settings'], 'tta' | 'folds' | 'tileStepSize' | 'accumulation'>,
): Promise<{ done: Map<string, CaseRecord>; notes: string[] }> {
  const { records, problems } = await readRecords(folder);
  const notes = [...problems];
  const done = new Map<string, CaseRecord>();
  const sameModel = (r: RunRecord): boolean =>
    r.model?.files?.length === model.files.length && r.model.files.every((f, i) => f.sha256 === model.files[i]!.sha256 && f.fold === model.files[i]!.fold);
  const sameSettings = (r: RunRecord): boolean =>
    r.settings?.tta === settings.tta &&
    r.settings.tileStepSize === settings.tileStepSize &&
    r.settings.accumulation === settings.accumulation &&
    JSON.stringify(r.settings.folds) === JSON.stringify(settings.folds);
  for (const { file, record } of records) {
    if (!sameModel(record)) {
      notes.push(`${file}: made with other model files (${record.model?.id ?? '?'}); its cases are not reused`);
      continue;
    }
    if (!sameSettings(record)) {
      notes.push(`${file}: made with other settings (tta/folds/step/accumulation); its cases are not reused`);
      continue;
    }
    for (const [id, c] of Object.entries(record.cases)) {
      if (c.status !== 'succeeded' || !c.output) continue;
      try {
        const st = await stat(join(folder, c.output));
        if (st.isFile() && st.size === c.outputBytes) done.set(id, c);
        else notes.push(`${id}: ${c.output} changed since ${file} recorded it; running it again`);
      } catch {
        notes.push(`${id}: ${c.output} listed in ${file} is missing; running it again`);
      }
    }
  }
  return { done, notes };
}
