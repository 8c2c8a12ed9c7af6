/**
 * The job supervisor (DESIGN.md, "Processes" and "Long jobs"): it owns the compute process and relays the
 * service's {@link RpcMessage}s between any number of client sessions (an Electron window, a WebSocket) and it.
 *
 * - **Start**: requests are forwarded untouched (the encoded buffer is transferred, only its JSON header is read)
 *   inside an envelope that names the session, so request ids are per session and never rewritten.
 * - **Progress** messages are relayed as they come.
 * - **Cancel** is cooperative first (the `cancel` message reaches the job's AbortSignal); if the job has not ended
 *   within `cancelGraceMs` (default 5 s) the compute process is killed, the cancelled call ends `cancelled`, every
 *   other call that was running there fails with an INTERNAL error saying so, and a fresh process is started.
 * - **Crash** (the process exits on its own): every pending call fails with an INTERNAL error naming the method
 *   and the exit, and the process restarts — unless it crashed `maxRestarts` times within `restartWindowMs`, in
 *   which case new calls fail at once with a message that says so.
 *
 * Pure logic: the process itself is behind {@link ComputeLauncher} (Electron utilityProcess in the shell,
 * worker_threads in the web host and tests).
 */
import type { ServiceClient } from './api';
import { DelineateError } from './errors';
import { RpcClient } from './rpc-client';
import { encodeMessage, peekMessage, type RpcMessage, tryReadId } from './rpc';

/** Start-up settings of a compute process (sent as the first message after every (re)start). */
export interface ComputeConfig {
  /** Which transport the renderer uses; reported by `app.info`. */
  transport: 'electron' | 'web';
  /** Delineate's version, reported by `app.info`. */
  version: string;
  /** Folder for the recent-items store and uploads; created if missing. */
  userDataDir: string;
  /** Data root offered as the starting folder (web host `--data-root`). */
  dataRoot?: string;
  /** Whether the shell can show native open dialogs. */
  nativeDialogs: boolean;
}

/** Messages from the supervisor to the compute process. `data` is one encoded RpcMessage. */
export type ToCompute =
  | { kind: 'init'; config: ComputeConfig }
  | { kind: 'msg'; session: number; data: ArrayBuffer }
  | { kind: 'close'; session: number };

/** Messages from the compute process to the supervisor. */
export type FromCompute =
  | { kind: 'msg'; session: number; data: ArrayBuffer }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; text: string };

/** How a compute process ended. */
export interface ComputeExit {
  /** Exit code, when the process exited with one. */
  code: number | null;
  /** Signal, crash reason or error message, when there is one. */
  reason?: string;
}

/** A running compute process, as the supervisor sees it. */
export interface ComputeHandle {
  /** Post a message; `transfer` lists buffers to move rather than copy (where the channel supports it). */
  post(message: ToCompute, transfer: ArrayBuffer[]): void;
  /** Terminate the process now (hard kill). The launcher still reports the exit through `onExit`. */
  kill(): void;
}

export interface ComputeEvents {
  onMessage(message: FromCompute): void;
  /** Called once when the process has ended, whatever the cause. */
  onExit(exit: ComputeExit): void;
}

/** Starts one compute process and wires its events. */
export type ComputeLauncher = (events: ComputeEvents) => ComputeHandle;

export interface SupervisorOptions {
  config: ComputeConfig;
  /** How long a cancelled job may keep running before the compute process is killed. Default 5000 ms. */
  cancelGraceMs?: number;
  /** Crashes tolerated within `restartWindowMs` before the supervisor stops restarting. Default 5. */
  maxRestarts?: number;
  /** Default 60 000 ms. */
  restartWindowMs?: number;
  log?: (line: string) => void;
}

/** Reported after every call that passed through the supervisor has ended. */
export interface JobFinished {
  session: number;
  id: number;
  method: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  durationMs: number;
}

interface PendingJob {
  session: number;
  id: number;
  method: string;
  startedAt: number;
  generation: number;
  cancelTimer?: ReturnType<typeof setTimeout>;
}

interface SessionState {
  send: (data: ArrayBuffer) => void;
  open: boolean;
}

/** One client's view of the supervisor: feed it the client's encoded messages; answers go to its `send`. */
export interface SupervisorSession {
  readonly id: number;
  /** One encoded RpcMessage from the client (request or cancel). The buffer may be transferred onwards. */
  receive(data: ArrayBuffer): void;
  /** The client went away: its running calls are cancelled (with the same grace period) and it gets no more messages. */
  close(): void;
}

export class JobSupervisor {
  private readonly cancelGraceMs: number;
  private readonly maxRestarts: number;
  private readonly restartWindowMs: number;
  private readonly log: (line: string) => void;
  private handle: ComputeHandle | undefined;
  private generation = 0;
  private crashTimes: number[] = [];
  private failedWith: DelineateError | undefined;
  private disposed = false;
  private nextSession = 1;
  private readonly sessions = new Map<number, SessionState>();
  private readonly pending = new Map<string, PendingJob>();
  private readonly finishedListeners = new Set<(job: JobFinished) => void>();
  private internal: RpcClient | undefined;

  constructor(
    private readonly launch: ComputeLauncher,
    private readonly options: SupervisorOptions,
  ) {
    this.cancelGraceMs = options.cancelGraceMs ?? 5000;
    this.maxRestarts = options.maxRestarts ?? 5;
    this.restartWindowMs = options.restartWindowMs ?? 60_000;
    this.log = options.log ?? (() => {});
  }

  /** Start the compute process (idempotent). Also done on the first request. */
  start(): void {
    if (!this.handle && !this.failedWith && !this.disposed) this.spawn();
  }

  /** Generation of the current compute process: 1 for the first, +1 per restart. 0 before start. */
  get processGeneration(): number {
    return this.generation;
  }

  /** Calls in flight, oldest first. */
  runningJobs(): { session: number; id: number; method: string; startedAt: number; cancelling: boolean }[] {
    return [...this.pending.values()].map((j) => ({
      session: j.session,
      id: j.id,
      method: j.method,
      startedAt: j.startedAt,
      cancelling: j.cancelTimer !== undefined,
    }));
  }

  /** Listen to finished calls (e.g. to refresh a Recent menu after `recent.add`). Returns an unsubscribe function. */
  onJobFinished(listener: (job: JobFinished) => void): () => void {
    this.finishedListeners.add(listener);
    return () => this.finishedListeners.delete(listener);
  }

  openSession(send: (data: ArrayBuffer) => void): SupervisorSession {
    const id = this.nextSession++;
    const state: SessionState = { send, open: true };
    this.sessions.set(id, state);
    return {
      id,
      receive: (data) => this.fromClient(id, data),
      close: () => this.closeSession(id),
    };
  }

  /** A client for the host's own calls (menus, start-up checks), speaking through its own session. */
  client(): ServiceClient {
    if (!this.internal) {
      const link: { session?: SupervisorSession } = {};
      const client = new RpcClient((data) => link.session?.receive(data));
      link.session = this.openSession((data) => void client.receive(data));
      this.internal = client;
    }
    return this.internal;
  }

  /** Stop the compute process and fail whatever is pending. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const error = new DelineateError('INTERNAL', 'Delineate is shutting down; the call was not finished');
    for (const job of [...this.pending.values()]) this.finishWithError(job, error);
    this.internal?.close(error);
    const h = this.handle;
    this.handle = undefined;
    h?.kill();
  }

  // ---- client side ------------------------------------------------------------------------------------------

  private fromClient(session: number, data: ArrayBuffer): void {
    const state = this.sessions.get(session);
    if (!state?.open) return;
    let header;
    try {
      header = peekMessage(data);
    } catch (e) {
      const id = tryReadId(data);
      const err = e instanceof DelineateError ? e : new DelineateError('PROTOCOL', String(e));
      if (id !== undefined) this.sendTo(session, { t: 'err', id, error: err.toJSON() });
      else this.log(`supervisor: dropped a malformed message from session ${session}: ${err.message}`);
      return;
    }
    const key = `${session}:${header.id}`;
    if (header.t === 'req') {
      if (this.pending.has(key)) {
        this.sendTo(session, { t: 'err', id: header.id, error: new DelineateError('PROTOCOL', `Request id ${header.id} is already in use`, { subject: 'id' }).toJSON() });
        return;
      }
      if (this.disposed || this.failedWith) {
        const err = this.failedWith ?? new DelineateError('INTERNAL', 'Delineate is shutting down');
        this.sendTo(session, { t: 'err', id: header.id, error: err.toJSON() });
        return;
      }
      this.start();
      this.pending.set(key, { session, id: header.id, method: header.method!, startedAt: Date.now(), generation: this.generation });
      this.postToCompute({ kind: 'msg', session, data }, [data]);
      return;
    }
    if (header.t === 'cancel') {
      const job = this.pending.get(key);
      if (!job || job.cancelTimer) return;
      this.postToCompute({ kind: 'msg', session, data }, [data]);
      this.armCancelTimer(job);
      return;
    }
    this.sendTo(session, { t: 'err', id: header.id, error: new DelineateError('PROTOCOL', `Clients may send 'req' and 'cancel' messages, not '${header.t}'`, { subject: 't' }).toJSON() });
  }

  private closeSession(session: number): void {
    const state = this.sessions.get(session);
    if (!state) return;
    state.open = false;
    const jobs = [...this.pending.values()].filter((j) => j.session === session);
    for (const job of jobs) {
      if (job.cancelTimer) continue;
      const data = encodeMessage({ t: 'cancel', id: job.id });
      this.postToCompute({ kind: 'msg', session, data }, [data]);
      this.armCancelTimer(job);
    }
    if (jobs.length === 0) this.forgetSession(session);
  }

  private forgetSession(session: number): void {
    this.sessions.delete(session);
    this.postToCompute({ kind: 'close', session }, []);
  }

  private armCancelTimer(job: PendingJob): void {
    job.cancelTimer = setTimeout(() => {
      if (this.pending.get(`${job.session}:${job.id}`) !== job) return;
      this.log(`supervisor: '${job.method}' did not stop within ${this.cancelGraceMs} ms of its cancel; killing the compute process`);
      this.restart(job);
    }, this.cancelGraceMs);
  }

  // ---- compute side -----------------------------------------------------------------------------------------

  private spawn(): void {
    const generation = ++this.generation;
    let exited = false;
    const handle = this.launch({
      onMessage: (m) => {
        if (generation === this.generation) this.fromCompute(m);
      },
      onExit: (exit) => {
        if (exited) return;
        exited = true;
        this.onComputeExit(generation, exit);
      },
    });
    this.handle = handle;
    handle.post({ kind: 'init', config: this.options.config }, []);
  }

  private postToCompute(message: ToCompute, transfer: ArrayBuffer[]): void {
    if (!this.handle) return;
    try {
      this.handle.post(message, transfer);
    } catch (e) {
      // The process died between its exit and our learning of it; onExit fails the pending calls.
      this.log(`supervisor: could not post to the compute process: ${String(e)}`);
    }
  }

  private fromCompute(message: FromCompute): void {
    if (message.kind === 'log') {
      this.log(`compute ${message.level}: ${message.text}`);
      return;
    }
    let header;
    try {
      header = peekMessage(message.data);
    } catch (e) {
      this.log(`supervisor: the compute process sent a malformed message: ${String(e)}`);
      return;
    }
    const key = `${message.session}:${header.id}`;
    const job = this.pending.get(key);
    if (!job) return; // answer to a call already settled (e.g. killed and restarted)
    if (header.t === 'res' || header.t === 'err' || header.t === 'cancelled') {
      this.settle(job, header.t === 'res' ? 'succeeded' : header.t === 'err' ? 'failed' : 'cancelled');
    }
    const state = this.sessions.get(message.session);
    if (state?.open) this.deliver(state, message.data);
  }

  private onComputeExit(generation: number, exit: ComputeExit): void {
    if (generation !== this.generation || this.disposed) return; // an old process we killed on purpose
    this.handle = undefined;
    const how = exit.code !== null ? `exit code ${exit.code}` : (exit.reason ?? 'killed');
    this.log(`supervisor: the compute process stopped unexpectedly (${how})`);
    const now = Date.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < this.restartWindowMs), now];
    for (const job of [...this.pending.values()]) {
      if (job.generation !== generation) continue;
      if (job.cancelTimer) this.finishCancelled(job);
      else
        this.finishWithError(
          job,
          new DelineateError('INTERNAL', `The compute process stopped unexpectedly (${how}) while running '${job.method}'. It has been restarted; try again.`, { subject: job.method }),
        );
    }
    if (this.crashTimes.length > this.maxRestarts) {
      this.failedWith = new DelineateError(
        'INTERNAL',
        `The compute process crashed ${this.crashTimes.length} times within ${Math.round(this.restartWindowMs / 1000)} s (last: ${how}); it was not restarted. Restart Delineate.`,
      );
      this.log(`supervisor: ${this.failedWith.message}`);
      return;
    }
    this.spawn();
  }

  /** Kill the current process because `cause` ignored its cancel; restart. */
  private restart(cause: PendingJob): void {
    const old = this.handle;
    const oldGeneration = this.generation;
    // spawn() below bumps the generation, so events of the old process are ignored from then on.
    this.handle = undefined;
    for (const job of [...this.pending.values()]) {
      if (job.generation !== oldGeneration) continue;
      if (job === cause || job.cancelTimer) this.finishCancelled(job);
      else
        this.finishWithError(
          job,
          new DelineateError(
            'INTERNAL',
            `'${job.method}' was interrupted: the compute process was restarted because a cancelled '${cause.method}' did not stop within ${this.cancelGraceMs} ms. Try again.`,
            { subject: job.method },
          ),
        );
    }
    this.spawn();
    old?.kill();
  }

  // ---- settling ---------------------------------------------------------------------------------------------

  private settle(job: PendingJob, status: JobFinished['status']): void {
    const key = `${job.session}:${job.id}`;
    if (this.pending.get(key) !== job) return;
    this.pending.delete(key);
    if (job.cancelTimer) clearTimeout(job.cancelTimer);
    const finished: JobFinished = { session: job.session, id: job.id, method: job.method, status, durationMs: Date.now() - job.startedAt };
    for (const l of this.finishedListeners) {
      try {
        l(finished);
      } catch (e) {
        this.log(`supervisor: a job listener threw: ${String(e)}`);
      }
    }
    const state = this.sessions.get(job.session);
    if (state && !state.open && ![...this.pending.values()].some((j) => j.session === job.session)) this.forgetSession(job.session);
  }

  private finishWithError(job: PendingJob, error: DelineateError): void {
    this.settle(job, 'failed');
    this.sendTo(job.session, { t: 'err', id: job.id, error: error.toJSON() });
  }

  private finishCancelled(job: PendingJob): void {
    this.settle(job, 'cancelled');
    this.sendTo(job.session, { t: 'cancelled', id: job.id });
  }

  private sendTo(session: number, message: RpcMessage): void {
    const state = this.sessions.get(session);
    if (state?.open) this.deliver(state, encodeMessage(message));
  }

  private deliver(state: SessionState, data: ArrayBuffer): void {
    try {
      state.send(data);
    } catch (e) {
      this.log(`supervisor: could not deliver to a client: ${String(e)}`);
    }
  }
}
