/**
 * The one error type of Delineate. Every failure that crosses a boundary (CLI, IPC, HTTP, worker) is a
 * {@link DelineateError} with a machine-readable {@link ErrorCode}, a message that names the file/field/model
 * concerned, and an optional cause. It serialises to plain JSON ({@link DelineateError.toJSON}) so it survives
 * IPC, WebSocket and worker boundaries, and is rebuilt on the other side with {@link DelineateError.fromJSON}.
 *
 * Cancellation is not an error: cancelled work throws {@link CancelledSignal}, which is deliberately not a
 * DelineateError, and jobs end in the `cancelled` state rather than `failed`.
 */

/** Machine-readable failure classes. Stable: scripts may match on them. */
export type ErrorCode =
  | 'USAGE' // bad command-line or API arguments
  | 'NOT_FOUND' // a file, series, model or job that does not exist
  | 'IO' // the file system refused (permissions, disk full, unwritable folder)
  | 'FORMAT' // a file that is not what it claims (truncated, broken header, not an image)
  | 'UNSUPPORTED' // a valid file using a feature Delineate does not handle
  | 'GEOMETRY' // inconsistent geometry (missing slice, grids that differ, degenerate direction)
  | 'MANIFEST' // a model manifest that fails validation
  | 'MODEL' // an ONNX model that disagrees with its manifest, or fails to load/run
  | 'INPUT' // inputs a pipeline cannot accept (wrong channel count, NaNs, mismatched grids)
  | 'OUT_OF_MEMORY' // an allocation that would exceed what is available
  | 'AUTH' // a missing or wrong token
  | 'BUSY' // a queue that is full
  | 'PROTOCOL' // a malformed IPC/RPC/HTTP message
  | 'INTERNAL'; // a bug: anything else

export const ERROR_CODES: readonly ErrorCode[] = [
  'USAGE',
  'NOT_FOUND',
  'IO',
  'FORMAT',
  'UNSUPPORTED',
  'GEOMETRY',
  'MANIFEST',
  'MODEL',
  'INPUT',
  'OUT_OF_MEMORY',
  'AUTH',
  'BUSY',
  'PROTOCOL',
  'INTERNAL',
];

/** JSON shape of a {@link DelineateError} on the wire. */
export interface SerializedError {
  name: 'DelineateError';
  code: ErrorCode;
  message: string;
  /** File, field, model or series the error is about, where there is one. */
  subject?: string;
  cause?: SerializedError | { name: string; message: string };
}

export interface DelineateErrorOptions {
  /** File path, manifest field, model id, series id … the error is about. */
  subject?: string;
  cause?: unknown;
}

export class DelineateError extends Error {
  override readonly name = 'DelineateError';
  readonly code: ErrorCode;
  readonly subject?: string;

  constructor(code: ErrorCode, message: string, options: DelineateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.subject !== undefined) this.subject = options.subject;
  }

  toJSON(): SerializedError {
    const out: SerializedError = { name: 'DelineateError', code: this.code, message: this.message };
    if (this.subject !== undefined) out.subject = this.subject;
    const cause = (this as { cause?: unknown }).cause;
    if (cause instanceof DelineateError) out.cause = cause.toJSON();
    else if (cause instanceof Error) out.cause = { name: cause.name, message: cause.message };
    return out;
  }

  static fromJSON(json: unknown): DelineateError {
    if (typeof json === 'object' && json !== null) {
      const o = json as Partial<SerializedError>;
      const code = (ERROR_CODES as readonly string[]).includes(o.code ?? '') ? (o.code as ErrorCode) : 'INTERNAL';
      const message = typeof o.message === 'string' ? o.message : 'Unknown error';
      const cause = o.cause && typeof o.cause === 'object' && 'code' in o.cause ? DelineateError.fromJSON(o.cause) : o.cause;
      const opts: DelineateErrorOptions = {};
      if (typeof o.subject === 'string') opts.subject = o.subject;
      if (cause !== undefined) opts.cause = cause;
      return new DelineateError(code, message, opts);
    }
    return new DelineateError('INTERNAL', String(json));
  }
}

/** Wrap anything thrown into a DelineateError (unknown throwables become INTERNAL). */
export function toDelineateError(e: unknown, fallbackCode: ErrorCode = 'INTERNAL'): DelineateError {
  if (e instanceof DelineateError) return e;
  if (e instanceof Error) return new DelineateError(fallbackCode, e.message, { cause: e });
  return new DelineateError(fallbackCode, String(e));
}

/**
 * Thrown (and only thrown) when work stops because its AbortSignal fired. Not an error: callers map it to a
 * `cancelled` job state and exit quietly.
 */
export class CancelledSignal extends Error {
  override readonly name = 'CancelledSignal';
  constructor(message = 'Cancelled') {
    super(message);
  }
}

export function isCancelled(e: unknown): e is CancelledSignal {
  return e instanceof CancelledSignal || (e instanceof Error && e.name === 'CancelledSignal');
}

/** Throw {@link CancelledSignal} if the signal has fired. Call between units of work (tiles, slices, files). */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledSignal();
}
