/**
 * The API server's job manager: a bounded FIFO queue and a concurrency limit. Jobs run in worker threads
 * (./job-worker.ts) so that inference never blocks the HTTP event loop; a worker is kept for the next job (up to
 * `concurrency` of them), so module loading and wasm start-up are paid once, not per job. Jobs follow the state union of
 * main/common/progress.ts (`queued | running | succeeded | failed | cancelled`).
 *
 * Cancel is cooperative first (the worker's AbortSignal, checked between network runs) and forced after
 * `cancelGraceMs`: the job ends `cancelled` and later jobs get a fresh worker, while the old one is *retired* — it is
 * terminated only once it has answered (or after `retireKillMs`). Why not at once: terminating a thread while ONNX
 * Runtime runs in it aborts the whole process (onnxruntime-node throws a Napi::Error from a finaliser: "terminate
 * called after throwing an instance of 'Napi::Error'"; reproduced with a worker terminated mid-run), whereas an idle
 * thread that holds sessions ends cleanly. Finished jobs are kept (with their result files) up to
 * `maxFinishedJobs`; older ones are evicted, oldest first.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { DelineateError, type SerializedError } from '../../common/errors';
import { estimateEtaMs, type JobState, type Progress } from '../../common/progress';
import type { FromWorker, JobEngineOptions, JobWorkerData, ToWorker, WorkerMessage } from './protocol';
import { tsWorkerBootstrap } from '../worker-bootstrap';

/** Run in a job worker whose start-up failed: tell the manager, which fails the job with the reason. */
const JOB_WORKER_STARTUP_FAILED =
  "require('node:worker_threads').parentPort.postMessage({ type: 'startup-failed', message: String(e && e.message || e) });";

/** Entry of the job worker in this source tree. */
export const JOB_WORKER_ENTRY = new URL('./job-worker.ts', import.meta.url);

/** What a submitter gives for a new job. */
export interface JobSpec {
  modelId: string;
  modelDir: string;
  inputs: JobWorkerData['inputs'];
  options: JobEngineOptions;
  /** The job's own folder (inputs already in it; results are written into it; removed with the job). */
  dir: string;
}

/** A job as the manager keeps it. */
export interface Job {
  id: string;
  spec: JobSpec;
  state: JobState;
  createdAt: number;
  /** When the current progress stage started (for the ETA). */
  stageStartedAt?: number;
  summary?: Extract<WorkerMessage, { type: 'done' }>['summary'];
  /** The worker running it (running jobs). */
  worker?: PoolWorker;
  killTimer?: NodeJS.Timeout;
  /** Set when the job's worker was retired: resolves once that worker has ended (its folder may be removed then). */
  retired?: Promise<void>;
}

/** A job worker thread; reused for job after job until it is killed or dies. */
interface PoolWorker {
  worker: Worker;
  /** The job it runs now. */
  jobId?: string;
  dead?: boolean;
  /** Set when the worker is retired (see the file comment): resolves once it has exited. */
  retired?: Promise<void>;
  /** Ends a retirement: terminate (the worker is idle or has answered) and resolve `retired`. */
  endRetirement?: () => void;
}

/** Options of {@link JobManager}. */
export interface JobManagerOptions {
  /** Most queued (not yet running) jobs; a submit beyond it is refused with BUSY. Default 16. */
  maxQueue?: number;
  /** Jobs running at once. Default 1. */
  concurrency?: number;
  /** Finished jobs kept with their results. Default 100. */
  maxFinishedJobs?: number;
  /** Time a cancelled job gets to stop by itself before it is reported cancelled and its worker retired. Default 5000 ms. */
  cancelGraceMs?: number;
  /** Time a retired worker gets to answer before it is terminated whatever it is doing. Default 600 000 ms. */
  retireKillMs?: number;
  /** Worker entry (default: ./job-worker.ts next to this file). */
  workerEntry?: URL;
}

/** The public JSON view of a job (`GET /v1/jobs/{id}`): its state plus model and result links. */
export interface JobView {
  id: string;
  status: JobState['status'];
  model: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  progress?: Progress;
  /** Fraction of the inference done, 0…1 (running jobs). */
  fraction?: number;
  etaMs?: number;
  /** Position in the queue, 1 = next (queued jobs). */
  queuePosition?: number;
  error?: SerializedError;
  result?: {
    labels: string;
    stats: string;
    /** Link to the DICOM SEG (DICOM series inputs), absent otherwise. */
    seg?: string;
    device: string;
    tiles: number;
    networkRuns: number;
    seconds: { preprocess: number; inference: number; total: number };
  };
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private running = 0;
  private readonly maxQueue: number;
  private readonly concurrency: number;
  private readonly maxFinished: number;
  private readonly graceMs: number;
  private readonly retireKillMs: number;
  private readonly entry: URL;
  private closed = false;
  /** Job workers waiting for their next job (at most `concurrency`). */
  private readonly idle: PoolWorker[] = [];

  constructor(opts: JobManagerOptions = {}) {
    this.maxQueue = opts.maxQueue ?? 16;
    this.concurrency = opts.concurrency ?? 1;
    this.maxFinished = opts.maxFinishedJobs ?? 100;
    this.graceMs = opts.cancelGraceMs ?? 5000;
    this.retireKillMs = opts.retireKillMs ?? 600_000;
    this.entry = opts.workerEntry ?? JOB_WORKER_ENTRY;
    if (!(Number.isInteger(this.maxQueue) && this.maxQueue >= 0)) throw new DelineateError('USAGE', `max queue must be an integer ≥ 0, got ${this.maxQueue}`, { subject: '--max-queue' });
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) throw new DelineateError('USAGE', `concurrency must be an integer ≥ 1, got ${this.concurrency}`, { subject: '--concurrency' });
  }

  /** Whether a new job would be refused now (the queue is full). */
  get full(): boolean {
    return this.queue.length >= this.maxQueue && this.running >= this.concurrency;
  }

  /** Queue a job. Throws BUSY when the queue is full (the caller answers 429 and removes the job folder). */
  submit(spec: JobSpec): Job {
    if (this.closed) throw new DelineateError('BUSY', 'the server is shutting down');
    if (this.full) throw new DelineateError('BUSY', `the job queue is full (${this.maxQueue} queued, ${this.running} running); retry later`);
    const id = randomBytes(12).toString('hex');
    const now = Date.now();
    const job: Job = { id, spec, createdAt: now, state: { status: 'queued', id, kind: 'segment', queuedAt: now } };
    this.jobs.set(id, job);
    this.queue.push(job);
    this.pump();
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** All jobs, newest first. */
  list(): Job[] {
    return [...this.jobs.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * Cancel a job. Queued: cancelled at once. Running: the worker is asked to stop (state stays `running` until it
   * does, at most `cancelGraceMs`, then it is terminated). Returns false when the job had already finished.
   */
  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job) throw new DelineateError('NOT_FOUND', `no job ${id}`, { subject: id });
    if (job.state.status === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1);
      job.state = { status: 'cancelled', id, kind: 'segment', finishedAt: Date.now() };
      this.evict();
      return true;
    }
    if (job.state.status === 'running') {
      if (job.worker && !job.killTimer) {
        job.worker.worker.postMessage({ type: 'cancel', jobId: id } satisfies ToWorker);
        // Hard stop when the worker does not get back in time (e.g. stuck in one long network run).
        job.killTimer = setTimeout(() => {
          if (job.state.status === 'running') this.finish(job, { type: 'cancelled' }, 'retire');
        }, this.graceMs);
      }
      return true;
    }
    return false;
  }

  /** Remove a job and its files (cancelling it first when it is still queued or running). */
  async remove(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) throw new DelineateError('NOT_FOUND', `no job ${id}`, { subject: id });
    const pw = job.worker;
    if (job.state.status === 'queued') this.cancel(id);
    if (job.state.status === 'running') {
      pw?.worker.postMessage({ type: 'cancel', jobId: id } satisfies ToWorker);
      this.finish(job, { type: 'cancelled' }, 'retire');
    }
    this.jobs.delete(id);
    // The worker must be gone before its folder is removed (it may be writing results) — also one retired earlier.
    if (pw) await (pw.retired ?? pw.worker.terminate());
    else if (job.retired) await job.retired;
    await rm(job.spec.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  /** The public view of a job. */
  view(job: Job, now = Date.now()): JobView {
    const s = job.state;
    const out: JobView = { id: job.id, status: s.status, model: job.spec.modelId, createdAt: new Date(job.createdAt).toISOString() };
    if ('startedAt' in s) out.startedAt = new Date(s.startedAt).toISOString();
    if ('finishedAt' in s) out.finishedAt = new Date(s.finishedAt).toISOString();
    if (s.status === 'queued') out.queuePosition = this.queue.indexOf(job) + 1;
    if (s.status === 'running' && s.progress) {
      out.progress = s.progress;
      if (s.progress.stage === 'inference' && s.progress.total > 0) out.fraction = s.progress.done / s.progress.total;
      const eta = job.stageStartedAt !== undefined ? estimateEtaMs(job.stageStartedAt, now, s.progress) : undefined;
      if (eta !== undefined) out.etaMs = Math.round(eta);
    }
    if (s.status === 'failed') out.error = s.error;
    if (s.status === 'succeeded' && job.summary) {
      const { dicomSeg, ...rest } = job.summary;
      out.result = {
        labels: `/v1/jobs/${job.id}/result/labels`,
        stats: `/v1/jobs/${job.id}/result/stats`,
        ...(dicomSeg.written ? { seg: `/v1/jobs/${job.id}/result/seg` } : {}),
        ...rest,
      };
    }
    return out;
  }

  /**
   * Stop everything: running jobs are cancelled and their workers retired, idle workers terminated; then jobs are
   * forgotten and their folders deleted.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    const all = [...this.jobs.values()];
    for (const j of all) {
      if (j.killTimer) clearTimeout(j.killTimer);
      const pw = j.worker;
      if (pw) {
        pw.worker.postMessage({ type: 'cancel', jobId: j.id } satisfies ToWorker);
        this.finish(j, { type: 'cancelled' }, 'retire');
      }
    }
    // Every retired worker — these and any retired earlier — is waited for (a network run ends; terminating one
    // mid-run would abort the process before the job folders below are removed), up to its retireKillMs.
    await Promise.all([...this.retiring].map((w) => w.retired!));
    for (const pw of this.idle.splice(0)) {
      pw.dead = true;
      await pw.worker.terminate();
    }
    this.jobs.clear();
    await Promise.all(all.map((j) => rm(j.spec.dir, { recursive: true, force: true })));
  }

  /**
   * Start queued jobs while fewer than `concurrency` run — and fewer than `concurrency` retired workers are still
   * computing, so that cancelling job after job cannot pile up threads.
   */
  private pump(): void {
    while (!this.closed && this.running < this.concurrency && this.retiring.size < this.concurrency && this.queue.length > 0) this.start(this.queue.shift()!);
  }

  /** A new job worker; its messages are routed to the job it runs. */
  private spawn(): PoolWorker {
    const ts = this.entry.pathname.endsWith('.ts');
    const worker = new Worker(ts ? tsWorkerBootstrap(this.entry, JOB_WORKER_STARTUP_FAILED) : this.entry, { eval: ts, stdout: true, stderr: true });
    // Worker output (itk-wasm chatter) is read and dropped: stdout of the server is for its own JSON.
    worker.stdout.resume();
    worker.stderr.resume();
    const pw: PoolWorker = { worker };
    worker.on('message', (m: FromWorker | { type: 'startup-failed'; message: string }) => {
      if (m.type === 'ready') return;
      // A retired worker's answer to its cancelled job: it is out of ONNX Runtime now, so it can be terminated.
      if (pw.endRetirement && m.type !== 'progress') return pw.endRetirement();
      if (m.type === 'startup-failed') return this.workerDied(pw, `job worker failed to start: ${m.message}`);
      const job = this.jobs.get(m.jobId);
      if (!job || job.worker !== pw || job.state.status !== 'running') return;
      if (m.type === 'progress') {
        const prev = job.state.progress;
        if (!prev || prev.stage !== m.progress.stage) job.stageStartedAt = Date.now();
        job.state = { ...job.state, progress: m.progress };
      } else {
        const { jobId: _id, ...rest } = m;
        this.finish(job, rest as Exclude<WorkerMessage, { type: 'progress' }>);
      }
    });
    worker.on('error', (e) => this.workerDied(pw, `job worker crashed: ${e.message}`));
    worker.on('exit', (code) => this.workerDied(pw, `job worker exited (code ${code}) without a result`));
    return pw;
  }

  /** A worker ended or broke: never reuse it; its job (if any) fails with the reason. */
  private workerDied(pw: PoolWorker, reason: string): void {
    if (pw.endRetirement) return pw.endRetirement();
    const wasDead = pw.dead;
    pw.dead = true;
    const k = this.idle.indexOf(pw);
    if (k >= 0) this.idle.splice(k, 1);
    const job = pw.jobId !== undefined ? this.jobs.get(pw.jobId) : undefined;
    if (job && job.worker === pw && job.state.status === 'running') this.finish(job, { type: 'failed', error: new DelineateError('INTERNAL', reason).toJSON() }, 'terminate');
    else if (!wasDead) void pw.worker.terminate();
  }

  private start(job: Job): void {
    const now = Date.now();
    job.state = { status: 'running', id: job.id, kind: 'segment', startedAt: now };
    this.running++;
    const data: JobWorkerData = { jobId: job.id, modelDir: job.spec.modelDir, inputs: job.spec.inputs, options: job.spec.options, outDir: job.spec.dir };
    let pw: PoolWorker;
    try {
      pw = this.idle.pop() ?? this.spawn();
    } catch (e) {
      this.finish(job, { type: 'failed', error: new DelineateError('INTERNAL', `cannot start a job worker: ${(e as Error).message}`).toJSON() });
      return;
    }
    pw.jobId = job.id;
    job.worker = pw;
    pw.worker.postMessage({ type: 'run', job: data } satisfies ToWorker);
  }

  /**
   * End a running job; its worker goes back to the pool, or is ended: `terminate` (it died or is idle), `retire` (it
   * may still be inside a network run: terminated once it answers, or after `retireKillMs`).
   */
  private finish(job: Job, m: Exclude<WorkerMessage, { type: 'progress' }>, kill: false | 'terminate' | 'retire' = false): void {
    if (job.state.status !== 'running') return;
    const startedAt = job.state.startedAt;
    const finishedAt = Date.now();
    if (m.type === 'done') {
      job.state = { status: 'succeeded', id: job.id, kind: 'segment', startedAt, finishedAt };
      job.summary = m.summary;
    } else if (m.type === 'failed') job.state = { status: 'failed', id: job.id, kind: 'segment', finishedAt, error: m.error };
    else job.state = { status: 'cancelled', id: job.id, kind: 'segment', finishedAt };
    if (job.killTimer) clearTimeout(job.killTimer);
    const pw = job.worker;
    delete job.worker;
    delete job.killTimer;
    if (pw) {
      delete pw.jobId;
      if (kill === 'retire') {
        this.retire(pw, this.retireKillMs);
        job.retired = pw.retired;
      }
      else if (kill || pw.dead || this.closed || this.idle.length >= this.concurrency) {
        pw.dead = true;
        void pw.worker.terminate();
      } else this.idle.push(pw);
    }
    this.running--;
    this.evict();
    this.pump();
  }

  /** Workers retired and not yet ended. */
  private readonly retiring = new Set<PoolWorker>();

  /** Retire a worker that may be inside a network run (see the file comment). */
  private retire(pw: PoolWorker, killMs: number): void {
    if (pw.retired) return;
    pw.dead = true;
    let resolve!: () => void;
    pw.retired = new Promise<void>((r) => (resolve = r));
    this.retiring.add(pw);
    // Last resort for a worker that never answers (stuck): terminate it whatever it is doing.
    const timer = setTimeout(() => pw.endRetirement?.(), killMs);
    pw.endRetirement = () => {
      delete pw.endRetirement;
      clearTimeout(timer);
      this.retiring.delete(pw);
      void pw.worker.terminate().then(() => resolve());
      this.pump();
    };
  }

  private evict(): void {
    const finished = [...this.jobs.values()].filter((j) => 'finishedAt' in j.state).sort((a, b) => a.createdAt - b.createdAt);
    for (const j of finished.slice(0, Math.max(0, finished.length - this.maxFinished))) {
      this.jobs.delete(j.id);
      // After its retired worker (if any) has ended: it may still be writing into the folder.
      void (j.retired ?? Promise.resolve()).then(() => rm(j.spec.dir, { recursive: true, force: true }));
    }
  }
}
