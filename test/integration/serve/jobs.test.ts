/**
 * The job manager's worker handling, with a stand-in worker that speaks the real protocol (a stuck ONNX Runtime
 * run cannot be provoked on demand): workers are reused between jobs, a worker that ignores cancel is terminated
 * after the grace period and replaced, a crashing worker fails its job with the reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Job, JobManager } from '../../../main/core/api-server/index';

const entry = new URL('./stand-in-worker.mjs', import.meta.url);
const root = mkdtempSync(join(tmpdir(), 'delineate-jobs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (what: 'done' | 'hang' | 'crash') => ({ modelId: 'm', modelDir: what, inputs: [], options: {}, dir: mkdtempSync(join(root, 'job-')) });

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

  it('terminates a worker that ignores cancel after the grace period, and starts a fresh one for the next job', async () => {
    const jobs = new JobManager({ workerEntry: entry, concurrency: 1, cancelGraceMs: 200 });
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

  it('refuses a job when the queue is full (BUSY)', async () => {
    const jobs = new JobManager({ workerEntry: entry, concurrency: 1, maxQueue: 1 });
    try {
      jobs.submit(spec('hang'));
      jobs.submit(spec('hang'));
      expect(() => jobs.submit(spec('done'))).toThrow(expect.objectContaining({ code: 'BUSY' }));
    } finally {
      await jobs.close();
    }
  });
});
