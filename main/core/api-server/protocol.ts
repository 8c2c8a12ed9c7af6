/** Messages between the API server's job manager and its job worker threads (see ./job-worker.ts). */
import type { SerializedError } from '../../common/errors';
import type { Progress } from '../../common/progress';

/** Engine options a job may set (validated by the server before the job is queued). */
export interface JobEngineOptions {
  device?: 'auto' | 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';
  tta?: boolean;
  folds?: number[];
  tileStepSize?: number;
  threads?: number;
}

/** One job as sent to a job worker. */
export interface JobWorkerData {
  jobId: string;
  modelDir: string;
  /** Input volumes in channel order: an image file, or a folder with an unzipped DICOM series. */
  inputs: { kind: 'image' | 'dicom'; path: string; name: string }[];
  options: JobEngineOptions;
  /** Folder to write labels.nii.gz and stats.json into. */
  outDir: string;
}

/** What a job worker posts. */
export type WorkerMessage =
  | { type: 'progress'; progress: Progress }
  | {
      type: 'done';
      summary: {
        device: string;
        tiles: number;
        networkRuns: number;
        seconds: { preprocess: number; inference: number; total: number };
        /** Whether a DICOM SEG was written (DICOM series inputs only), or why not. */
        dicomSeg: { written: true } | { written: false; reason: string };
      };
    }
  | { type: 'failed'; error: SerializedError }
  | { type: 'cancelled' };

/** A worker message tagged with its job. */
export type Tagged = WorkerMessage & { jobId: string };

/** Messages to a job worker. */
export type ToWorker = { type: 'run'; job: JobWorkerData } | { type: 'cancel'; jobId: string };

/** Everything a job worker posts: `ready` once it has loaded, then tagged job messages. */
export type FromWorker = { type: 'ready' } | Tagged;
