/**
 * A {@link ServiceClient} over any channel that carries encoded {@link RpcMessage}s (a worker port, a job
 * supervisor session, a WebSocket). The owner of the channel wires `send` (outgoing encoded messages; the
 * buffer may be transferred) and feeds every incoming encoded message to {@link RpcClient.receive}.
 *
 * Ids are allocated here, per client, starting at 1. Cancellation: aborting `options.signal` sends a `cancel`
 * message and the call rejects with {@link CancelledSignal} when the other side confirms (`cancelled`), or with
 * the error/result it sends if the work finished first.
 */
import type { CallOptions, MethodName, ParamsOf, ResultOf, ServiceClient } from './api';
import { CancelledSignal, DelineateError } from './errors';
import { decodeMessage, encodeMessage, type RpcMessage } from './rpc';

interface PendingCall {
  resolve(value: unknown): void;
  reject(reason: unknown): void;
  onProgress?: CallOptions['onProgress'];
  cleanup(): void;
}

export class RpcClient implements ServiceClient {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private closedWith: DelineateError | undefined;

  /** @param send Posts one encoded message to the other side (it may transfer the buffer). */
  constructor(private readonly send: (data: ArrayBuffer) => void) {}

  /** Number of calls waiting for an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  call<M extends MethodName>(method: M, params: ParamsOf<M>, options: CallOptions = {}): Promise<ResultOf<M>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(new CancelledSignal());
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const onAbort = () => {
        // The other side answers with `cancelled` (or with the result if it had already finished).
        this.trySend({ t: 'cancel', id });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        ...(onProgress ? { onProgress } : {}),
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      });
      try {
        this.send(encodeMessage({ t: 'req', id, method, params }));
      } catch (e) {
        this.settle(id)?.reject(e instanceof DelineateError ? e : new DelineateError('PROTOCOL', `Could not send '${method}': ${String(e)}`, { cause: e }));
      }
    });
  }

  /** Feed one incoming encoded message. Malformed messages and unknown ids are ignored (returns false). */
  receive(data: ArrayBuffer): boolean {
    let m: RpcMessage;
    try {
      m = decodeMessage(data);
    } catch {
      return false;
    }
    switch (m.t) {
      case 'res':
        this.settle(m.id)?.resolve(m.result);
        return true;
      case 'err':
        this.settle(m.id)?.reject(DelineateError.fromJSON(m.error));
        return true;
      case 'cancelled':
        this.settle(m.id)?.reject(new CancelledSignal());
        return true;
      case 'progress': {
        const p = this.pending.get(m.id);
        if (!p) return false;
        p.onProgress?.(m.progress);
        return true;
      }
      default:
        return false;
    }
  }

  /** Reject every pending call with `error` and refuse new ones (the channel is gone). */
  close(error: DelineateError = new DelineateError('INTERNAL', 'The connection to the compute service closed')): void {
    this.closedWith = error;
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(error);
  }

  private settle(id: number): PendingCall | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    p.cleanup();
    return p;
  }

  private trySend(message: RpcMessage): void {
    try {
      this.send(encodeMessage(message));
    } catch {
      // Channel gone: close() will reject the pending calls.
    }
  }
}
