/**
 * The compute side of the supervisor protocol ({@link ToCompute}/{@link FromCompute} in main/common/supervisor):
 * decodes each session's requests, runs them through a {@link Handler} with an AbortSignal per request
 * (cooperative cancel) and a throttled progress callback, and posts encoded answers back, transferring the
 * encoded buffers (never copying them again on this side).
 *
 * Transport-neutral: the Electron utilityProcess entry (./utility) and the worker_threads entry (./worker) wire
 * `post` and feed `receive`.
 */
import { CancelledSignal, DelineateError, isCancelled, toDelineateError } from '../common/errors';
import type { Progress } from '../common/progress';
import { decodeMessage, encodeMessage, type RpcMessage, tryReadId } from '../common/rpc';
import type { ComputeConfig, FromCompute, ToCompute } from '../common/supervisor';

export interface HandlerOptions {
  /** Fires when the client cancels (or goes away). Handlers check it between units of work. */
  signal: AbortSignal;
  onProgress: (p: Progress) => void;
}

/** Runs one service method. Throws DelineateError on failure and CancelledSignal when cancelled. */
export type Handler = (method: string, params: unknown, options: HandlerOptions) => Promise<unknown>;

/** Builds the handler once the supervisor's `init` message has brought the configuration. */
export type HandlerFactory = (config: ComputeConfig) => Handler;

/** Minimum interval between two progress messages of one request (the last one always goes). */
export const PROGRESS_INTERVAL_MS = 50;

export class ComputeServer {
  private handler: Handler | undefined;
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly post: (message: FromCompute, transfer: ArrayBuffer[]) => void,
    private readonly makeHandler: HandlerFactory,
  ) {}

  /** Number of requests being worked on. */
  get runningCount(): number {
    return this.running.size;
  }

  /** One message from the supervisor (structured-cloned or transferred). Never throws. */
  receive(message: unknown): void {
    const m = message as ToCompute;
    try {
      switch (m?.kind) {
        case 'init':
          this.handler = this.makeHandler(m.config);
          return;
        case 'msg':
          this.onRpc(m.session, m.data);
          return;
        case 'close':
          for (const [key, c] of this.running) if (key.startsWith(`${m.session}:`)) c.abort();
          return;
        default:
          this.log('warn', `ignored an unknown supervisor message ${JSON.stringify((m as { kind?: unknown })?.kind)}`);
      }
    } catch (e) {
      this.log('error', `failed to handle a supervisor message: ${String((e as Error)?.stack ?? e)}`);
    }
  }

  private onRpc(session: number, data: unknown): void {
    const buffer = data instanceof ArrayBuffer ? data : toArrayBuffer(data);
    let msg: RpcMessage;
    try {
      if (!buffer) throw new DelineateError('PROTOCOL', 'RPC message is not binary');
      msg = decodeMessage(buffer);
    } catch (e) {
      const id = tryReadId(buffer);
      if (id !== undefined) this.send(session, { t: 'err', id, error: toDelineateError(e, 'PROTOCOL').toJSON() });
      else this.log('warn', `dropped a malformed RPC message: ${String(e)}`);
      return;
    }
    if (msg.t === 'cancel') {
      this.running.get(`${session}:${msg.id}`)?.abort();
      return;
    }
    if (msg.t !== 'req') return;
    void this.run(session, msg.id, msg.method, msg.params);
  }

  private async run(session: number, id: number, method: string, params: unknown): Promise<void> {
    const key = `${session}:${id}`;
    const controller = new AbortController();
    this.running.set(key, controller);
    let lastSent = 0;
    let queued: Progress | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      if (queued && this.running.get(key) === controller) {
        lastSent = Date.now();
        this.send(session, { t: 'progress', id, progress: queued });
      }
      queued = undefined;
    };
    const onProgress = (p: Progress) => {
      queued = { ...p };
      const wait = PROGRESS_INTERVAL_MS - (Date.now() - lastSent);
      if (wait <= 0 || p.done >= p.total) {
        if (timer) clearTimeout(timer);
        flush();
      } else timer ??= setTimeout(flush, wait);
    };
    try {
      if (!this.handler) throw new DelineateError('INTERNAL', 'The compute process was not initialised');
      if (controller.signal.aborted) throw new CancelledSignal();
      const result = await this.handler(method, params, { signal: controller.signal, onProgress });
      if (timer) clearTimeout(timer);
      // A job that finished despite a cancel still returns its result (nothing to undo).
      this.send(session, { t: 'res', id, result });
    } catch (e) {
      if (timer) clearTimeout(timer);
      if (isCancelled(e)) this.send(session, { t: 'cancelled', id });
      else {
        const err = toDelineateError(e);
        if (err.code === 'INTERNAL') this.log('error', `${method} failed: ${String((e as Error)?.stack ?? e)}`);
        this.send(session, { t: 'err', id, error: err.toJSON() });
      }
    } finally {
      this.running.delete(key);
    }
  }

  private send(session: number, message: RpcMessage): void {
    let data: ArrayBuffer;
    try {
      data = encodeMessage(message);
    } catch (e) {
      data = encodeMessage({ t: 'err', id: message.id, error: toDelineateError(e, 'INTERNAL').toJSON() });
    }
    this.post({ kind: 'msg', session, data }, [data]);
  }

  private log(level: 'info' | 'warn' | 'error', text: string): void {
    try {
      this.post({ kind: 'log', level, text }, []);
    } catch {
      // nowhere to log to
    }
  }
}

/** Structured clone across processes may turn an ArrayBuffer into a Node Buffer / Uint8Array. */
function toArrayBuffer(data: unknown): ArrayBuffer | undefined {
  if (ArrayBuffer.isView(data)) {
    const view = data as ArrayBufferView;
    if (view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength) return view.buffer;
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer;
  }
  return undefined;
}
