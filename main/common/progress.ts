import type { SerializedError } from './errors';

/** Progress of a long job. `done`/`total` count the stage's units (tiles for inference, files for scanning). */
export interface Progress {
  stage: string;
  done: number;
  total: number;
  /** Optional human-readable detail (current file, fold). */
  detail?: string;
}

/** Options every long-running core function takes. */
export interface JobOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** The state union of a job, as shown by the UI, the API and the CLI. */
export type JobState =
  | { status: 'queued'; id: string; kind: string; queuedAt: number }
  | { status: 'running'; id: string; kind: string; startedAt: number; progress?: Progress; etaMs?: number }
  | { status: 'succeeded'; id: string; kind: string; startedAt: number; finishedAt: number }
  | { status: 'failed'; id: string; kind: string; finishedAt: number; error: SerializedError }
  | { status: 'cancelled'; id: string; kind: string; finishedAt: number };

/**
 * Estimate remaining time from progress so far. Returns undefined until at least one unit is done.
 * Linear in units: good enough for tiles of equal cost.
 */
export function estimateEtaMs(startedAt: number, now: number, p: Progress): number | undefined {
  if (p.done <= 0 || p.total <= 0 || p.done > p.total) return undefined;
  return ((now - startedAt) / p.done) * (p.total - p.done);
}
