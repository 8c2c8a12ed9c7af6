/**
 * The job manager's worker handling, with a stand-in worker that speaks the real protocol (a stuck ONNX Runtime
 * run cannot be provoked on demand): workers are reused between jobs, a job whose worker ignores cancel ends after
 * the grace period and later jobs get a fresh worker, a worker is never terminated inside a (stand-in) network run
 * but once it answers, a crashing worker fails its job with the reason.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Job, JobManager } from '../../../main/core/api-server/index';

const entry = new URL('./stand-in-worker.mjs', import.meta.url);
const root = mkdtempSync(join(tmpdir(), 'delineate-jobs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (what: 'done' | 'hang' | 'crash' | `busy:${number}:${string}`) => ({ modelId: 'm', modelDir: what, inputs: [], options: {}, dir: mkdtempSync(join(root, 'job-')) });

/** Wait (bounded: 200 × 25 ms) until the job leaves `running`/`queued`. */
async function settle(jobs: JobManager, job: Job): Promise<Job> {
  for (let n = 0; n < 200 && ['queued', 'running'].includes(job.state.status); n++) await new Promise((r) => setTimeout(r, 25));
  return jobs.get(job.id) ?? job;
}

describe('JobManager workers', () => {
  it('reuses a worker for the next job', async () => {
    const jobs = new JobManager({ workerEntry: entry, concurrency: 1 });
    try {
      const a = await settle(jobs, jobs.submit(spec('done')));
      const b = await settle(jobs, jobs.submit(spec('done')));
      expect(a.state.status).toBe('succeeded');
      expect(b.state.status).toBe('succeeded');
      expect(b.summary!.device).toBe(a.summary!.device);
    } finally {
      await jobs.close();
    }
  });

  it('ends a job that ignores cancel after the grace period, and starts a fresh worker for the next job', async () => {
    const jobs = new JobManager({ workerEntry: entry, concurrency: 1, cancelGraceMs: 200, retireKillMs: 300 });
    try {
      const first = await settle(jobs, jobs.submit(spec('done')));
      const stuck = jobs.submit(spec('hang'));
      const queued = jobs.submit(spec('done'));
      expect(stuck.state.status).toBe('running');
      expect(queued.state.status).toBe('queued');
      expect(jobs.cancel(stuck.id)).toBe(true);
      expect(stuck.state.status).toBe('running'); // cooperative first
      expect((await settle(jobs, stuck)).state.status).toBe('cancelled');
      const next = await settle(jobs, queued);
      expect(next.state.status).toBe('succeeded');
      expect(next.summary!.device).not.toBe(first.summary!.device); // the stuck worker was replaced
      expect(jobs.cancel(next.id)).toBe(false); // already finished
    } finally {
      await jobs.close();
    }
  });

  it('fails the job of a worker that exits, naming the exit, and keeps serving', async () => {
    const jobs = new JobManager({ workerEntry: entry, concurrency: 1 });
    try {
      const crashed = await settle(jobs, jobs.submit(spec('crash')));
      expect(crashed.state).toMatchObject({ status: 'failed', error: { code: 'INTERNAL', message: expect.stringContaining('exited (code 3)') } });
      expect((await settle(jobs, jobs.submit(spec('done')))).state.status).toBe('succeeded');
    } finally {
      await jobs.close();
    }
  });

  it('never terminates a worker inside a network run: a removed or force-cancelled job\'s worker is ended after it answers', async () => {
    // Terminating a thread while ONNX Runtime runs aborts the process; the stand-in's busy loop plays that run.
    const jobs = new JobManager({ workerEntry: entry, concurrency: 1, cancelGraceMs: 100 });
    try {
      const markerA = join(root, 'answered-a');
      const a = jobs.submit(spec(`busy:800:${markerA}`));
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      await jobs.remove(a.id);
      // remove() waited for the worker to come out of its run (≈ 700 ms more), not just the grace period.
      expect(existsSync(markerA)).toBe(true);
      expect(Date.now() - t0).toBeGreaterThan(400);
      const markerB = join(root, 'answered-b');
      const b = jobs.submit(spec(`busy:800:${markerB}`));
      const next = jobs.submit(spec('done'));
      await new Promise((r) => setTimeout(r, 100));
      jobs.cancel(b.id);
      // Reported cancelled after the grace period, while its worker finishes the run it is in; the next job waits for
      // that (retired workers count against the concurrency) and runs on a fresh worker.
      expect((await settle(jobs, b)).state.status).toBe('cancelled');
      expect(existsSync(markerB)).toBe(false);
      expect((await settle(jobs, next)).state.status).toBe('succeeded');
      expect(existsSync(markerB)).toBe(true);
      // Shutting down waits for the retired worker's run to end too.
      await jobs.close();
      expect(existsSync(markerB)).toBe(true);
    } finally {
      await jobs.close();
    }
  });

  it('refuses a job when the queue is full (BUSY)', async () => {
    const jobs = new JobManager({ workerEntry: entry, concurrency: 1, maxQueue: 1, cancelGraceMs: 200, retireKillMs: 300 });
    try {
      jobs.submit(spec('hang'));
      jobs.submit(spec('hang'));
      expect(() => jobs.submit(spec('done'))).toThrow(expect.objectContaining({ code: 'BUSY' }));
    } finally {
      await jobs.close();
    }
  });
});
