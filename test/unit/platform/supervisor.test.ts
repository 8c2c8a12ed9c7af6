/**
 * The job supervisor with a REAL worker thread (test/unit/platform/fixtures/slow-worker.ts runs the real
 * ComputeServer with test jobs): progress relay, cooperative cancel, hard kill after the grace period,
 * crash → INTERNAL error + restart, sessions, malformed input.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledSignal, DelineateError } from '../../../main/common/errors';
import type { Progress } from '../../../main/common/progress';
import { encodeMessage } from '../../../main/common/rpc';
import { RpcClient } from '../../../main/common/rpc-client';
import { JobSupervisor, type JobFinished } from '../../../main/common/supervisor';
import { workerLauncher } from '../../../main/compute/launch-worker';

const FIXTURE = new URL('./fixtures/slow-worker.ts', import.meta.url);
const config = { transport: 'web' as const, version: 'test', userDataDir: '/nonexistent', nativeDialogs: false };

let supervisors: JobSupervisor[] = [];
afterEach(() => {
  for (const s of supervisors) s.dispose();
  supervisors = [];
});

function setup(cancelGraceMs = 5000) {
  const logs: string[] = [];
  const sup = new JobSupervisor(workerLauncher(FIXTURE), { config, cancelGraceMs, log: (l) => logs.push(l) });
  supervisors.push(sup);
  const finished: JobFinished[] = [];
  sup.onJobFinished((j) => finished.push(j));
  const client = connect(sup);
  return { sup, client, logs, finished };
}

function connect(sup: JobSupervisor) {
  const link: { session?: ReturnType<JobSupervisor['openSession']> } = {};
  const rpc = new RpcClient((d) => link.session?.receive(d));
  const session = sup.openSession((d) => void rpc.receive(d));
  link.session = session;
  const call = (method: string, params: unknown, opts: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {}) =>
    (rpc.call as (m: string, p: unknown, o: unknown) => Promise<unknown>)(method, params, opts);
  return { rpc, session, call };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('JobSupervisor with a real worker', () => {
  it('runs a job and relays its progress in order', async () => {
    const { client, finished } = setup();
    const progress: Progress[] = [];
    const result = (await client.call('test.slow', { steps: 5, stepMs: 60 }, { onProgress: (p) => progress.push(p) })) as { steps: number };
    expect(result.steps).toBe(5);
    expect(progress.length).toBeGreaterThanOrEqual(3); // 60 ms steps pass the 50 ms throttle
    expect(progress.at(-1)).toEqual({ stage: 'slow', done: 5, total: 5 });
    const dones = progress.map((p) => p.done);
    expect([...dones].sort((a, b) => a - b)).toEqual(dones);
    expect(finished).toMatchObject([{ method: 'test.slow', status: 'succeeded' }]);
  });

  it('carries typed arrays through both ways', async () => {
    const { client } = setup();
    const data = new Float32Array([1.5, -2, 3e6]);
    const back = (await client.call('test.echo', { data, name: 'x' })) as { data: Float32Array; name: string };
    expect(back.name).toBe('x');
    expect(back.data).toBeInstanceOf(Float32Array);
    expect([...back.data]).toEqual([1.5, -2, 3e6]);
  });

  it('cancels cooperatively without restarting the process', async () => {
    const { sup, client, finished } = setup();
    const thread = await client.call('test.thread', {});
    const controller = new AbortController();
    const job = client.call('test.slow', { steps: 100, stepMs: 20 }, { signal: controller.signal, onProgress: (p) => p.done >= 3 && !controller.signal.aborted && controller.abort() });
    expect(await rejection(job)).toBeInstanceOf(CancelledSignal);
    expect(sup.processGeneration).toBe(1);
    expect(await client.call('test.thread', {})).toBe(thread);
    expect(finished.map((f) => f.status)).toEqual(['succeeded', 'cancelled', 'succeeded']);
  });

  it('kills and restarts the process when a cancelled job ignores its signal; other calls fail clearly', async () => {
    const { sup, client, logs } = setup(300);
    const other = connect(sup);
    const thread = await client.call('test.thread', {});
    const controller = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const bystander = other.call('test.slow', { steps: 1000, stepMs: 10 }, { onProgress: () => started() });
    await running;
    const stuck = client.call('test.stuck', { ms: 60_000 }, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    controller.abort();
    expect(await rejection(stuck)).toBeInstanceOf(CancelledSignal);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const err = (await rejection(bystander)) as DelineateError;
    expect(err).toBeInstanceOf(DelineateError);
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toMatch(/'test\.slow' was interrupted.*cancelled 'test\.stuck' did not stop within 300 ms/);
    expect(sup.processGeneration).toBe(2);
    expect(logs.join('\n')).toMatch(/killing the compute process/);
    const after = await client.call('test.thread', {});
    expect(after).not.toBe(thread);
  });

  it('fails pending calls with INTERNAL on a crash and restarts', async () => {
    const { sup, client } = setup();
    const slow = client.call('test.slow', { steps: 1000, stepMs: 10 });
    const crash = client.call('test.crash', {});
    for (const p of [slow, crash]) {
      const err = (await rejection(p)) as DelineateError;
      expect(err.code).toBe('INTERNAL');
      expect(err.message).toMatch(/compute process stopped unexpectedly \(exit code 3\) while running 'test\.(slow|crash)'.*restarted/);
    }
    expect(sup.processGeneration).toBe(2);
    expect(((await client.call('test.slow', { steps: 2, stepMs: 1 })) as { steps: number }).steps).toBe(2);
  });

  it('stops restarting after too many crashes and says so', async () => {
    const sup = new JobSupervisor(workerLauncher(FIXTURE), { config, maxRestarts: 1, restartWindowMs: 60_000, log: () => {} });
    supervisors.push(sup);
    const { call } = connect(sup);
    await rejection(call('test.crash', {}));
    await rejection(call('test.crash', {}));
    const err = (await rejection(call('test.echo', {}))) as DelineateError;
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toMatch(/crashed 2 times within 60 s.*not restarted/);
  });

  it('cancels the jobs of a closed session', async () => {
    const { sup, finished } = setup();
    const c = connect(sup);
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    void c.call('test.slow', { steps: 1000, stepMs: 10 }, { onProgress: () => started() }).catch(() => {});
    await running; // the job is running in the worker
    expect(sup.runningJobs()).toHaveLength(1);
    c.session.close();
    for (let i = 0; i < 100 && sup.runningJobs().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sup.runningJobs()).toHaveLength(0);
    expect(finished.at(-1)).toMatchObject({ method: 'test.slow', status: 'cancelled' });
    expect(sup.processGeneration).toBe(1);
  });

  it('answers malformed and duplicate requests with PROTOCOL errors', async () => {
    const { sup } = setup();
    const replies: ArrayBuffer[] = [];
    const rpc = new RpcClient(() => {});
    const session = sup.openSession((d) => replies.push(d));
    session.receive(encodeMessage({ t: 'res', id: 7, result: 1 }));
    session.receive(encodeMessage({ t: 'req', id: 8, method: 'test.slow', params: { steps: 20, stepMs: 20 } }));
    session.receive(encodeMessage({ t: 'req', id: 8, method: 'test.slow', params: {} }));
    session.receive(new Uint8Array([1, 2, 3]).buffer);
    await new Promise((r) => setTimeout(r, 50));
    const { decodeMessage } = await import('../../../main/common/rpc');
    const msgs = replies.map((r) => decodeMessage(r));
    expect(msgs).toContainEqual(expect.objectContaining({ t: 'err', id: 7, error: expect.objectContaining({ code: 'PROTOCOL' }) }));
    expect(msgs).toContainEqual(expect.objectContaining({ t: 'err', id: 8, error: expect.objectContaining({ code: 'PROTOCOL', message: 'Request id 8 is already in use' }) }));
    expect(rpc.pendingCount).toBe(0);
  });
});
