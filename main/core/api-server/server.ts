/**
 * The local inference API (`delineate serve`): HTTP on a loopback address, every `/v1` route behind
 * `Authorization: Bearer <token>`. See ./openapi.ts for the contract (served at `GET /openapi.json`).
 *
 * Routes ({@link ROUTES}): POST /v1/jobs (upload → 202 {jobId}), GET /v1/jobs, GET /v1/jobs/{id},
 * POST /v1/jobs/{id}/cancel, DELETE /v1/jobs/{id}, GET /v1/jobs/{id}/result/labels (NIfTI),
 * GET /v1/jobs/{id}/result/stats (JSON), GET /v1/jobs/{id}/result/seg (DICOM SEG, for DICOM series uploads),
 * GET /v1/models, GET /openapi.json.
 *
 * Errors are JSON `{"error": SerializedError}` with 400 (bad upload or parameters, naming what is wrong), 401
 * (missing or wrong token), 404, 405, 409 (result of a job that has not succeeded; cancel of a finished job; 404 for the SEG of a non-DICOM job), 413
 * (upload over the limit), 429 (queue full), 500 (a bug). A request handler never throws out of the server.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DelineateError, type ErrorCode, toDelineateError } from '../../common/errors';
import { imageExtension, readImageFileHeader, scanPath } from '../io/index';
import { JobManager, type JobManagerOptions } from './jobs';
import { findModel, servedModels } from './models';
import { openApiDocument } from './openapi';
import type { JobEngineOptions, JobWorkerData } from './protocol';
import { detectUpload, type FormPart, parseMultipart } from './upload';
import { iterateZip } from './zip';

/** Options of {@link startApiServer}. */
export interface ApiServerOptions extends JobManagerOptions {
  /** Port (0 = any free port). */
  port: number;
  /** Address to listen on. Default 127.0.0.1. A non-loopback address needs `allowNonLoopback`. */
  host?: string;
  /** Listen on a non-loopback address (containers); the caller warns the user. */
  allowNonLoopback?: boolean;
  /** Bearer token (at least 16 characters); generated when absent. */
  token?: string;
  /** Extra models folder (model folders directly inside). */
  modelsDir?: string;
  /** Largest accepted request body in bytes. Default 1 GiB. */
  maxUploadBytes?: number;
  /** Where job folders live (default: a new folder in the OS temp dir, removed on close). */
  workDir?: string;
}

/** A running API server. */
export interface ApiServer {
  url: string;
  port: number;
  host: string;
  token: string;
  tokenGenerated: boolean;
  server: Server;
  jobs: JobManager;
  close(): Promise<void>;
}

type Params = Record<string, string>;
type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => Promise<void>;

/** One route: method, OpenAPI-style path template, whether it needs the token. */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  auth: boolean;
}

/** Every route of the server (the OpenAPI test checks each one appears in the document). */
export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/openapi.json', auth: false },
  { method: 'GET', path: '/v1/models', auth: true },
  { method: 'POST', path: '/v1/jobs', auth: true },
  { method: 'GET', path: '/v1/jobs', auth: true },
  { method: 'GET', path: '/v1/jobs/{id}', auth: true },
  { method: 'DELETE', path: '/v1/jobs/{id}', auth: true },
  { method: 'POST', path: '/v1/jobs/{id}/cancel', auth: true },
  { method: 'GET', path: '/v1/jobs/{id}/result/labels', auth: true },
  { method: 'GET', path: '/v1/jobs/{id}/result/stats', auth: true },
  { method: 'GET', path: '/v1/jobs/{id}/result/seg', auth: true },
];

/** An error with its HTTP status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: DelineateError,
  ) {
    super(error.message);
  }
}

const STATUS: Record<ErrorCode, number> = {
  USAGE: 400,
  INPUT: 400,
  FORMAT: 400,
  UNSUPPORTED: 400,
  PROTOCOL: 400,
  GEOMETRY: 400,
  MANIFEST: 500,
  MODEL: 500,
  NOT_FOUND: 404,
  IO: 500,
  OUT_OF_MEMORY: 500,
  AUTH: 401,
  BUSY: 429,
  INTERNAL: 500,
};

const http = (status: number, code: ErrorCode, message: string, subject?: string): HttpError =>
  new HttpError(status, new DelineateError(code, message, subject ? { subject } : {}));

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  const he = e instanceof HttpError ? e : new HttpError(STATUS[toDelineateError(e).code] ?? 500, toDelineateError(e));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = he.status === 401 ? { 'www-authenticate': 'Bearer realm="delineate"' } : {};
  if (he.status === 413) headers.connection = 'close';
  sendJson(res, he.status, { error: he.error.toJSON() }, headers);
}

/** Read a request body up to `max` bytes; 413 beyond (checked on Content-Length first, then while reading). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max)
    return Promise.reject(http(413, 'INPUT', `upload of ${declared} bytes is over the limit of ${max} bytes`, 'body'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        req.pause();
        reject(http(413, 'INPUT', `upload is over the limit of ${max} bytes`, 'body'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
      done = true;
    });
    req.on('error', (e) => {
      if (!done) reject(http(400, 'PROTOCOL', `upload interrupted: ${e.message}`, 'body'));
      done = true;
    });
    req.on('close', () => {
      if (!done) reject(http(400, 'PROTOCOL', 'upload interrupted: the connection closed before the body ended', 'body'));
      done = true;
    });
  });
}

/** Most bytes of an over-limit body read and dropped so that the client gets its 413. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

/** Read and drop the rest of a request body (at most `max` bytes); resolves when it ended or the cap was hit. */
function drain(req: IncomingMessage, max: number): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let n = 0;
    const done = (): void => {
      req.off('data', onData);
      resolve();
    };
    const onData = (c: Buffer): void => {
      n += c.length;
      if (n > max) {
        req.pause();
        done();
      }
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}

/** Parse job options from string fields (query string or form fields). 400 naming the field when malformed. */
export function parseJobOptions(get: (name: string) => string | undefined): JobEngineOptions {
  const out: JobEngineOptions = {};
  const device = get('device');
  if (device !== undefined) {
    const allowed = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
    if (!(allowed as readonly string[]).includes(device)) throw http(400, 'USAGE', `device must be one of ${allowed.join(', ')}, got '${device}'`, 'device');
    out.device = device as (typeof allowed)[number];
  }
  const tta = get('tta');
  if (tta !== undefined) {
    if (!['true', 'false', '1', '0'].includes(tta)) throw http(400, 'USAGE', `tta must be true or false, got '${tta}'`, 'tta');
    out.tta = tta === 'true' || tta === '1';
  }
  const folds = get('folds');
  if (folds !== undefined) {
    const list = folds.split(',').map((s) => Number(s.trim()));
    if (!list.length || list.some((f) => !Number.isInteger(f) || f < 0)) throw http(400, 'USAGE', `folds must be a comma-separated list of fold numbers, got '${folds}'`, 'folds');
    out.folds = list;
  }
  const step = get('step');
  if (step !== undefined) {
    const s = Number(step);
    if (!(s > 0 && s <= 1)) throw http(400, 'USAGE', `step must be a number in (0, 1], got '${step}'`, 'step');
    out.tileStepSize = s;
  }
  return out;
}

function checkToken(req: IncomingMessage, token: Buffer): void {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  if (!m) throw http(401, 'AUTH', 'missing token: send Authorization: Bearer <token>', 'Authorization');
  const given = Buffer.from(m[1]!);
  if (given.length !== token.length || !timingSafeEqual(given, token)) throw http(401, 'AUTH', 'wrong token', 'Authorization');
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Start the API server. Resolves once it listens. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !opts.allowNonLoopback)
    throw new DelineateError('USAGE', `refusing to listen on ${host}: the API listens on loopback only unless explicitly allowed (--expose, for containers)`, { subject: '--host' });
  if (opts.token !== undefined && opts.token.length < 16) throw new DelineateError('USAGE', 'the token must be at least 16 characters', { subject: '--token' });
  const tokenGenerated = opts.token === undefined;
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const maxUpload = opts.maxUploadBytes ?? 1024 ** 3;
  const ownWorkDir = opts.workDir === undefined;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'delineate-serve-')));
  await mkdir(workDir, { recursive: true });
  const jobs = new JobManager(opts);

  const jobOr404 = (id: string) => {
    const job = jobs.get(id);
    if (!job) throw http(404, 'NOT_FOUND', `no job ${id}`, id);
    return job;
  };

  /** Turn one uploaded file into a job input (written into the job folder), or a 400 saying what is wrong. */
  const saveInput = async (dir: string, k: number, data: Buffer, filename: string): Promise<JobWorkerData['inputs'][number]> => {
    const kind = detectUpload(data, filename);
    if (kind.kind === 'image') {
      const path = join(dir, `input_${String(k).padStart(4, '0')}${kind.extension}`);
      await writeFile(path, data);
      try {
        await readImageFileHeader(path);
      } catch (e) {
        const err = toDelineateError(e, 'FORMAT');
        throw http(400, 'FORMAT', `${filename}: ${err.message.replace(path, 'the upload')}`, filename);
      }
      return { kind: 'image', path, name: filename };
    }
    const root = join(dir, `series_${String(k).padStart(4, '0')}`);
    let files = 0;
    // One inflated entry in memory at a time; the whole directory (names, sizes, ratios) is checked first.
    for (const e of iterateZip(data, { maxTotalBytes: Math.min(8 * 1024 ** 3, Math.max(maxUpload * 8, 64 * 1024 ** 2)) })) {
      const p = join(root, e.name);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, e.data);
      files++;
    }
    if (files === 0) throw http(400, 'FORMAT', `${filename}: the zip archive holds no files`, filename);
    const scan = await scanPath(root);
    if (scan.volumes.length !== 1) {
      const why = scan.volumes.length
        ? `${scan.volumes.length} volumes (${scan.volumes.map((v) => v.description || v.id).join(', ')}); zip one series`
        : `no image series${scan.skipped.length ? ` (${scan.skipped.slice(0, 3).map((s) => `${s.path.slice(root.length + 1)}: ${s.reason}`).join('; ')})` : ''}`;
      throw http(400, 'FORMAT', `${filename}: the zip holds ${why}`, filename);
    }
    const v = scan.volumes[0]!;
    if (v.files.length === 1 && imageExtension(v.files[0]!)) return { kind: 'image', path: v.files[0]!, name: filename };
    return { kind: 'dicom', path: root, name: filename };
  };

  const createJob: Handler = async (req, res, _params, url) => {
    const ctype = String(req.headers['content-type'] ?? '');
    const body = await readBody(req, maxUpload);
    let files: { data: Buffer; filename: string }[];
    let fields: (name: string) => string | undefined;
    if (/^multipart\/form-data/i.test(ctype)) {
      const parts: FormPart[] = parseMultipart(body, ctype);
      files = parts.filter((p) => p.name === 'file').map((p, i) => ({ data: p.data, filename: p.filename || `file ${i + 1}` }));
      const known = new Set(['file', 'model', 'device', 'tta', 'folds', 'step']);
      const unknown = parts.filter((p) => !known.has(p.name)).map((p) => p.name);
      if (unknown.length) throw http(400, 'USAGE', `unknown form field(s): ${unknown.join(', ')} (expected file, model, device, tta, folds, step)`, unknown[0]);
      fields = (name) => {
        const p = parts.find((x) => x.name === name);
        return p ? p.data.toString('utf8').trim() : url.searchParams.get(name) ?? undefined;
      };
    } else {
      files = body.length ? [{ data: body, filename: url.searchParams.get('filename') ?? 'upload' }] : [];
      fields = (name) => url.searchParams.get(name) ?? undefined;
    }
    if (files.length === 0) throw http(400, 'USAGE', 'no file uploaded: send the volume as the request body or as multipart field "file"', 'file');
    const modelId = fields('model');
    if (!modelId) throw http(400, 'USAGE', 'model is required (query ?model=<id> or form field "model"; see GET /v1/models)', 'model');
    const options = parseJobOptions(fields);
    let model;
    try {
      model = await findModel(modelId, opts.modelsDir);
    } catch (e) {
      throw new HttpError(400, toDelineateError(e));
    }
    const channels = model.entry.channels?.length ?? 1;
    if (files.length !== channels)
      throw http(400, 'INPUT', `model ${modelId} needs ${channels} input volume(s) (${(model.entry.channels ?? []).join(', ')}); ${files.length} uploaded (send one "file" part per channel, in order)`, 'file');
    if (options.folds && model.entry.folds) {
      const missing = options.folds.filter((f) => !model.entry.folds!.includes(f));
      if (missing.length) throw http(400, 'USAGE', `model ${modelId} has no fold ${missing.join(', ')} (folds: ${model.entry.folds.join(', ')})`, 'folds');
    }
    if (jobs.full) throw http(429, 'BUSY', 'the job queue is full; retry later');
    const dir = await mkdtemp(join(workDir, 'job-'));
    try {
      const inputs: JobWorkerData['inputs'] = [];
      for (let k = 0; k < files.length; k++) {
        try {
          inputs.push(await saveInput(dir, k, files[k]!.data, files[k]!.filename));
        } catch (e) {
          if (e instanceof HttpError) throw e;
          throw new HttpError(400, toDelineateError(e, 'FORMAT'));
        }
      }
      // CPU threads per job: the cores shared among the jobs that may run at once.
      const threads = Math.max(1, Math.floor(availableParallelism() / (opts.concurrency ?? 1)));
      const job = jobs.submit({ modelId, modelDir: model.dir, inputs, options: { threads, ...options }, dir });
      sendJson(res, 202, { jobId: job.id, status: job.state.status, links: { self: `/v1/jobs/${job.id}` } }, { location: `/v1/jobs/${job.id}` });
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  };

  const sendResult = async (res: ServerResponse, id: string, file: 'labels.nii.gz' | 'stats.json' | 'seg.dcm'): Promise<void> => {
    const job = jobOr404(id);
    if (job.state.status !== 'succeeded') throw http(409, 'INPUT', `job ${id} is ${job.state.status}; results exist only for succeeded jobs`, id);
    const seg = job.summary?.dicomSeg;
    if (file === 'seg.dcm' && seg && !seg.written) throw http(404, 'NOT_FOUND', `job ${id} has no DICOM SEG: ${seg.reason}`, id);
    const path = join(job.spec.dir, file);
    if (file === 'stats.json') {
      const text = await readFile(path);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': text.length, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    const st = await stat(path);
    res.writeHead(200, {
      'content-type': file === 'seg.dcm' ? 'application/dicom' : 'application/gzip',
      'content-length': st.size,
      'content-disposition': `attachment; filename="${id}_${file === 'seg.dcm' ? 'seg.dcm' : 'labels.nii.gz'}"`,
      'cache-control': 'no-store',
    });
    await new Promise<void>((resolve, reject) => {
      createReadStream(path).on('error', reject).pipe(res).on('finish', resolve).on('error', reject);
    });
  };

  const handlers: Record<string, Handler> = {
    'GET /openapi.json': async (_req, res) => sendJson(res, 200, openApiDocument()),
    'GET /v1/models': async (_req, res) => sendJson(res, 200, { models: (await servedModels(opts.modelsDir)).map((m) => m.entry) }),
    'POST /v1/jobs': createJob,
    'GET /v1/jobs': async (_req, res) => sendJson(res, 200, { jobs: jobs.list().map((j) => jobs.view(j)) }),
    'GET /v1/jobs/{id}': async (_req, res, p) => sendJson(res, 200, jobs.view(jobOr404(p.id!))),
    'DELETE /v1/jobs/{id}': async (_req, res, p) => {
      jobOr404(p.id!);
      await jobs.remove(p.id!);
      res.writeHead(204).end();
    },
    'POST /v1/jobs/{id}/cancel': async (_req, res, p) => {
      const job = jobOr404(p.id!);
      if (!jobs.cancel(p.id!)) throw http(409, 'INPUT', `job ${p.id} already ${job.state.status}`, p.id);
      sendJson(res, 202, jobs.view(job));
    },
    'GET /v1/jobs/{id}/result/labels': (_req, res, p) => sendResult(res, p.id!, 'labels.nii.gz'),
    'GET /v1/jobs/{id}/result/stats': (_req, res, p) => sendResult(res, p.id!, 'stats.json'),
    'GET /v1/jobs/{id}/result/seg': (_req, res, p) => sendResult(res, p.id!, 'seg.dcm'),
  };
  const compiled = ROUTES.map((r) => ({
    ...r,
    re: new RegExp('^' + r.path.replace(/\{(\w+)\}/g, '(?<$1>[A-Za-z0-9_-]{1,64})') + '$'),
    handler: handlers[`${r.method} ${r.path}`]!,
  }));

  const server = createServer((req, res) => {
    void (async () => {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw http(400, 'PROTOCOL', 'malformed request URL');
      }
      const matches = compiled.filter((r) => r.re.test(url.pathname));
      if (matches.length === 0) throw http(404, 'NOT_FOUND', `no route ${url.pathname}`, url.pathname);
      const route = matches.find((r) => r.method === req.method);
      if (!route) {
        res.setHeader('allow', matches.map((r) => r.method).join(', '));
        throw http(405, 'USAGE', `${req.method} is not allowed on ${url.pathname} (allowed: ${matches.map((r) => r.method).join(', ')})`, url.pathname);
      }
      if (route.auth) checkToken(req, tokenBuf);
      const params = (route.re.exec(url.pathname)?.groups ?? {}) as Params;
      await route.handler(req, res, params, url);
    })().catch(async (e: unknown) => {
      // Read (and drop) what the client is still sending before answering, so that it sees the answer instead of a
      // reset connection — up to DRAIN_MAX_BYTES for a body over the limit; beyond that the connection closes.
      if (e instanceof HttpError && e.status === 413) await drain(req, DRAIN_MAX_BYTES);
      else req.resume();
      try {
        sendError(res, e);
      } catch {
        res.destroy();
      }
    });
  });
  server.requestTimeout = 0; // large uploads on slow links; the body limit bounds them
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new DelineateError('IO', `cannot listen on ${host}:${opts.port}: ${e.message}`, { subject: '--port', cause: e })));
    server.listen(opts.port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${urlHost}:${addr.port}`,
    port: addr.port,
    host,
    token,
    tokenGenerated,
    server,
    jobs,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await jobs.close();
      if (ownWorkDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}
