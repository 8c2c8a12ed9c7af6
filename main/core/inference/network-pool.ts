/**
 * The engine's CPU network pool: W worker threads (./tile-worker.ts), each with its own ONNX Runtime session per
 * fold at `threadsPerWorker` intra-op threads, taking tile runs from one FIFO queue.
 *
 * Why: ONNX Runtime's CPU kernels for ConvTranspose and InstanceNormalization run on one thread whatever the
 * intra-op thread count (measured on nnU-Net's PlainConvUNet, 24×128×128 patch: ConvTranspose 75 ms and
 * InstanceNormalization 48 ms per pass with 2 threads and with 1), so one session with 2 threads spends ~30 % of
 * each pass on one core. Two sessions with 1 thread each, working on different tiles or mirror variants, keep
 * both cores busy: 8 passes 3.0–3.2 s → 2.6 s including session start (see test/bench/inference.bench.ts).
 * ONNX Runtime's outputs do not depend on the thread count (checked bit for bit for 1, 2 and 3 threads), and the
 * engine adds the results in the same order as its in-process path, so the label maps are identical.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DelineateError } from '../../common/errors';
import type { ort } from './session';
import { tsWorkerBootstrap } from '../worker-bootstrap';

/** workerData of a tile worker. */
export interface TileWorkerInit {
  /** Per fold (index = fold position in the engine's list): the ONNX file, and the (rewritten) model bytes to load instead when given. */
  folds: { path: string; bytes?: Uint8Array }[];
  /** Intra-op threads of this worker's sessions (the pool may give some workers one more; see NetworkPool.start). */
  threadsPerWorker: number;
  /** The network's input and output names (manifest onnx.inputName / outputName). */
  inputName: string;
  outputName: string;
  /** Network input shape [1, Cin, ...patch] (2-D models: [1, Cin, p1, p2]). */
  inDims: number[];
  /** Output channels A: the output is [1, A, ...patch]. */
  outChannels: number;
}

/** What a fold session reports about itself (checked against the manifest by the engine). */
export type SessionMeta = Pick<ort.InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>;

/**
 * Engine → worker: a task (fold index into `folds`; `input` C-order [Cin, p0, p1, p2] float32 (2-D models p0 = 1);
 * `variants` the mirror variants, each the spatial axes to flip), or close (release the sessions and exit).
 */
export type TileWorkerIn = { type: 'run'; id: number; fold: number; input: Float32Array; variants: number[][] } | { type: 'close' };
/**
 * Worker → engine: ready (each fold session's metadata) or failed at start; per task a result (C-order
 * [A, p0, p1, p2] float32, the variants' outputs flipped back and summed in order) or an error.
 */
export type TileWorkerOut =
  | { type: 'ready'; meta: SessionMeta[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; output: Float32Array }
  | { type: 'error'; id: number; message: string; kind: 'run' | 'shape' };

/** Run in a worker whose start-up failed (module loading): tell the pool. */
const STARTUP_FAILED = "require('node:worker_threads').parentPort.postMessage({ type: 'failed', message: String(e && e.message || e) });";

/**
 * The worker script: the bundled `tile-worker.js` (electron-vite builds it next to the compute entry, or one folder
 * up from a shared chunk); from the TypeScript sources (CLI, tests, web host) the same bundle made with esbuild
 * into `node_modules/.cache/delineate/` (where `onnxruntime-node` resolves), reused by later processes while none of
 * its input files has changed; failing that, the source started through tsx. Why the bundle: a worker that loads
 * tsx spends ≈ 0.4 s in module loading before its sessions (measured: 400–460 ms from spawn to the worker's first
 * line, 18–76 ms for its sessions).
 */
async function workerScript(): Promise<{ script: string | URL; evalSource: boolean }> {
  const ready = readyWorkerScript();
  if (ready) return ready;
  const ts = new URL(`./${WORKER_NAME}.ts`, import.meta.url);
  if (!compileFailed)
    try {
      compiled ??= compileWorker(ts);
      return { script: await compiled, evalSource: false };
    } catch {
      // No esbuild here (it comes with tsx) or an unwritable node_modules: remember, and use the tsx bootstrap.
      compileFailed = true;
    }
  return { script: tsWorkerBootstrap(ts, STARTUP_FAILED), evalSource: true };
}

const WORKER_NAME = 'tile-worker';

/**
 * The worker script when it can be had without waiting: the built `tile-worker.js`, or a bundle from an earlier
 * process whose recorded inputs (path, size, mtime) are all unchanged. Synchronous on purpose: the engine starts
 * the pool and then preprocesses in this thread without yielding, and an esbuild call (≈ 30 ms of work, but
 * answered through this thread's event loop) left the workers unspawned until preprocessing ended — measured on
 * the bench's 4-tile MR: workers began 380–450 ms after the pool was asked for, and the first tile waited
 * ≈ 260 ms for them.
 */
function readyWorkerScript(): { script: URL; evalSource: false } | undefined {
  for (const rel of [`./${WORKER_NAME}.js`, `../${WORKER_NAME}.js`]) {
    const u = new URL(rel, import.meta.url);
    if (u.protocol === 'file:' && existsSync(fileURLToPath(u))) return { script: u, evalSource: false };
  }
  if (compiledUrl) return { script: compiledUrl, evalSource: false };
  let bundle: string | undefined;
  try {
    const esbuildVersion = (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version;
    bundle = recordedBundle(bundleRecordFile(), fileURLToPath(new URL(`./${WORKER_NAME}.ts`, import.meta.url)), bundleBuilder(esbuildVersion));
  } catch {
    // No onnxruntime-node to resolve the cache folder from: workerScript() reports what is missing.
  }
  if (!bundle) return undefined;
  compiledUrl = pathToFileURL(bundle);
  return { script: compiledUrl, evalSource: false };
}

/**
 * The bundle that `recordFile` (a {@link BundleRecord} as JSON) records for `entry`, when that record exists, the
 * bundle file exists and every recorded input file still has its recorded size and mtime; else undefined.
 */
export function recordedBundle(recordFile: string, entry: string, builder: string): string | undefined {
  let record: BundleRecord;
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as BundleRecord;
  } catch {
    return undefined;
  }
  if (record.entry !== entry || record.builder !== builder || typeof record.bundle !== 'string' || !existsSync(record.bundle) || typeof record.inputs !== 'object' || !record.inputs) return undefined;
  const inputs = Object.entries(record.inputs);
  if (!inputs.some(([path]) => path === entry)) return undefined;
  for (const [path, st] of inputs) {
    const now = statSync(path, { throwIfNoEntry: false });
    if (!now || now.size !== st?.size || now.mtimeMs !== st.mtimeMs) return undefined;
  }
  return record.bundle;
}

/** What a bundle was made from: the entry, the builder (esbuild version and options), each input's size and mtime. */
export interface BundleRecord {
  entry: string;
  bundle: string;
  builder: string;
  inputs: Record<string, { size: number; mtimeMs: number }>;
}

/** esbuild options of the worker bundle (also part of its record: other options, another bundle). */
const BUILD_OPTIONS = { bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['onnxruntime-node'] } as const;

/** What a bundle's record names as its builder: the esbuild version and BUILD_OPTIONS. */
function bundleBuilder(esbuildVersion: string): string {
  return `esbuild ${esbuildVersion} ${JSON.stringify(BUILD_OPTIONS)}`;
}

let compiled: Promise<URL> | undefined;
let compiledUrl: URL | undefined;
let compileFailed = false;

/** The folder of the bundle and its record: next to `onnxruntime-node`, so that the bundle's import of it resolves. */
function bundleDir(): string {
  const nodeModules = dirname(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')));
  return join(nodeModules, '.cache', 'delineate');
}

function bundleRecordFile(): string {
  return join(bundleDir(), `${WORKER_NAME}.json`);
}

/** Write `data` to `file` atomically (temporary file in the same folder, then rename). */
async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/**
 * Bundle the worker's TypeScript entry (onnxruntime-node external) into a content-addressed .mjs file, and record
 * its inputs for {@link readyWorkerScript} — unless one of them was modified after the build began (it might not
 * be what was bundled).
 */
async function compileWorker(entry: URL): Promise<URL> {
  const esbuild = await import('esbuild');
  const entryPath = fileURLToPath(entry);
  const cwd = dirname(entryPath);
  const buildStartMs = Date.now();
  const r = await esbuild.build({ entryPoints: [entryPath], absWorkingDir: cwd, ...BUILD_OPTIONS, external: [...BUILD_OPTIONS.external], write: false, metafile: true, logLevel: 'silent' });
  const code = r.outputFiles[0]!.contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const dir = bundleDir();
  const file = join(dir, `${WORKER_NAME}-${hash}.mjs`);
  await mkdir(dir, { recursive: true });
  if (!existsSync(file)) await writeAtomic(file, code);
  // A record is only an optimisation: failing to make or write it costs the next process one build.
  try {
    const inputs: BundleRecord['inputs'] = {};
    // The bundled sources and the tsconfig.json files esbuild reads settings from (the entry's folder upwards).
    const paths = Object.keys(r.metafile.inputs).map((rel) => resolve(cwd, rel));
    for (let dir = cwd; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'tsconfig.json'))) paths.push(join(dir, 'tsconfig.json'));
      if (dirname(dir) === dir) break;
    }
    for (const path of paths) {
      const st = statSync(path);
      inputs[path] = { size: st.size, mtimeMs: st.mtimeMs };
    }
    if (Object.values(inputs).every((st) => st.mtimeMs < buildStartMs))
      await writeAtomic(bundleRecordFile(), JSON.stringify({ entry: entryPath, bundle: file, builder: bundleBuilder(esbuild.version), inputs } satisfies BundleRecord));
  } catch {
    // No record: the next process builds again.
  }
  compiledUrl = pathToFileURL(file);
  return compiledUrl;
}

interface Task {
  id: number;
  fold: number;
  input: Float32Array;
  variants: number[][];
  resolve: (out: Float32Array) => void;
  reject: (e: unknown) => void;
}

interface PoolWorker {
  worker: Worker;
  /** Tasks sent to this worker, in the order it runs them (at most TASKS_IN_FLIGHT). */
  tasks: Task[];
}

/**
 * Tasks a worker holds at once: the one it runs and the next, so that it starts the next as soon as it posts a
 * result, without waiting for this thread to take that result and dispatch (this thread may be blending a tile
 * for tens of milliseconds: a worker waited 49 ms for its second tile in a traced 4-tile run).
 */
const TASKS_IN_FLIGHT = 2;

/**
 * Network work (runs × patch voxels, scaled by {@link networkCostFactor}) a worker must have to pay for its start
 * (60–120 ms for a pool of two, partly hidden behind preprocessing): about 2 runs of the bench's 24×128×128 patch
 * on its 9 MB PlainConvUNet. Measured on 2 cores, whole segment() in-process vs 2 workers: the bench net's 4 runs
 * on the PGBM-001 MR 2.73–2.86 vs 2.68–2.72 s from a fresh process and 2.30–2.59 vs 2.11–2.23 s with the network
 * kept warm from a previous run (./warm-network.ts: no start at all); its 32 runs 13.8–14.8 s vs 10.1–10.8 s; the
 * bundled 2d model (160² patch, ≈ 20 ms a run) 22 runs 0.76–0.88 s vs 0.81–0.93 s (stays in-process), 264 runs
 * 5.2–5.4 s vs 4.1–4.2 s. Rechecked with the depth-as-batch graph (passes ≈ 35 % shorter): the 4 runs still
 * favour two workers, 2.24–2.39 vs 2.59–2.87 s in-process from a fresh process.
 */
export const VOXEL_RUNS_PER_WORKER = 0.75e6;

/** Fold bytes of the network VOXEL_RUNS_PER_WORKER was measured with (the bench's PlainConvUNet 16…96). */
export const REFERENCE_FOLD_BYTES = 9.5e6;

/**
 * How much more a run costs per patch voxel than with the reference network, from the fold file's size (wider
 * networks have more weights and more operations per voxel): never below 1. A rough proxy, but the one that
 * matters: nnU-Net's default widths (32…320, 123 MB a fold) make 4 runs of the same patch 2.8 s each on one
 * thread, and 2 workers finish them 0.6–0.8 s sooner than one 2-thread session (5.8 vs 6.4–6.6 s), where the
 * 9 MB network breaks even.
 */
export function networkCostFactor(foldBytes: number): number {
  return Math.max(1, foldBytes / REFERENCE_FOLD_BYTES);
}

/**
 * How many workers and threads each for `runs` network runs of a `tileVox`-voxel patch on `threads` cores: one
 * worker per core up to 4 (beyond that, fewer workers with more threads each — only measured on 2 cores; the
 * `threads % workers` spare threads go to the first workers, see NetworkPool.start), each with at least
 * VOXEL_RUNS_PER_WORKER of work (× `costFactor`, see {@link networkCostFactor}), never more workers than runs, at
 * most `maxWorkersByMemory`; fewer than 2 workers means "run in-process".
 */
export function poolShape(threads: number, runs: number, tileVox: number, maxWorkersByMemory: number, costFactor = 1): { workers: number; threadsPerWorker: number } {
  const workers = Math.max(1, Math.min(threads, runs, Math.floor((runs * tileVox * costFactor) / VOXEL_RUNS_PER_WORKER), 4, Math.floor(maxWorkersByMemory)));
  return { workers, threadsPerWorker: Math.max(1, Math.floor(threads / workers)) };
}

export class NetworkPool {
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;
  private failure: DelineateError | undefined;

  private constructor(
    private readonly workers: PoolWorker[],
    /** Metadata of each fold session (from the first worker). */
    readonly meta: SessionMeta[],
    private readonly modelId: string,
    private readonly tileText: string,
  ) {
    for (const w of workers) this.listen(w);
  }

  /** Number of worker threads. */
  get size(): number {
    return this.workers.length;
  }

  /** Whether the pool can take runs (not closed, no worker lost, nothing queued or running). */
  get usable(): boolean {
    return !this.closed && !this.failure && !this.queue.length && this.workers.every((w) => !w.tasks.length);
  }

  /**
   * Idle between runs (kept warm, ./warm-network.ts): the workers do not hold the process open (a CLI exits at once;
   * measured: a process exits cleanly with idle workers that hold sessions). Taken again: they do.
   */
  setIdle(idle: boolean): void {
    for (const w of this.workers) {
      if (idle) w.worker.unref();
      else w.worker.ref();
    }
  }

  /**
   * Start `workers` threads and their sessions; resolves once every worker is ready. Rejects with a MODEL error
   * (and stops every worker) when a session cannot be created.
   */
  static async start(init: TileWorkerInit, workers: number, modelId: string, threads: number = init.threadsPerWorker * workers): Promise<NetworkPool> {
    // Without an await when the script is ready (see readyWorkerScript): the workers must be spawned before the
    // caller goes on with synchronous work.
    const { script, evalSource } = readyWorkerScript() ?? (await workerScript());
    const started: Worker[] = [];
    try {
      const metas = await Promise.all(
        Array.from({ length: workers }, (_, i) => {
          // Spare threads (threads not divisible by workers) go to the first workers, so no core is left idle.
          // Each worker gets its own copy of the model bytes, transferred, not cloned: structured cloning a 123 MB
          // fold took 80–200 ms of this thread per worker, a plain copy ≈ 40 ms. The caller's bytes stay intact
          // (the in-process fallback needs them when the pool cannot start).
          const folds = init.folds.map((f) => (f.bytes ? { ...f, bytes: new Uint8Array(f.bytes) } : f));
          const transferList = folds.flatMap((f) => (f.bytes ? [f.bytes.buffer as ArrayBuffer] : []));
          const workerInit: TileWorkerInit = { ...init, folds, threadsPerWorker: init.threadsPerWorker + (i < threads - init.threadsPerWorker * workers ? 1 : 0) };
          // A compiled worker needs none of this process's loader flags (under tsx they would load tsx's loader into
          // every worker: ≈ 0.1 s each); the tsx bootstrap registers its own.
          const worker = new Worker(script, { eval: evalSource, workerData: workerInit, transferList, stdout: false, stderr: false, execArgv: [] });
          started.push(worker);
          return new Promise<SessionMeta[]>((resolve, reject) => {
            const onMessage = (m: TileWorkerOut): void => {
              worker.off('message', onMessage);
              if (m.type === 'ready') resolve(m.meta);
              else reject(new DelineateError('MODEL', `Model ${modelId}: a network worker could not start: ${m.type === 'failed' ? m.message : m.type}`, { subject: modelId }));
            };
            worker.on('message', onMessage);
            worker.once('error', (e) => reject(new DelineateError('MODEL', `Model ${modelId}: a network worker failed to start: ${e.message}`, { subject: modelId, cause: e })));
            worker.once('exit', (code) => reject(new DelineateError('MODEL', `Model ${modelId}: a network worker exited (code ${code}) before it was ready`, { subject: modelId })));
          });
        }),
      );
      // A worker that loaded fewer sessions than folds (a protocol slip) must not take runs of a fold it lacks.
      const short = metas.find((meta) => meta.length !== init.folds.length);
      if (short) throw new DelineateError('INTERNAL', `Model ${modelId}: a network worker loaded ${short.length} of ${init.folds.length} folds`, { subject: modelId });
      return new NetworkPool(
        started.map((worker) => ({ worker, tasks: [] })),
        metas[0]!,
        modelId,
        init.inDims.join('×'),
      );
    } catch (e) {
      // Ask every worker to release what it loaded and exit (see close()); a worker that failed has already ended.
      await new NetworkPool(started.map((worker) => ({ worker, tasks: [] })), [], modelId, '').close();
      throw e;
    }
  }

  private listen(w: PoolWorker): void {
    w.worker.on('message', (m: TileWorkerOut) => {
      const task = w.tasks[0];
      if (!task || (m.type !== 'result' && m.type !== 'error') || m.id !== task.id) return;
      w.tasks.shift();
      if (m.type === 'result') task.resolve(m.output);
      else
        task.reject(
          new DelineateError('MODEL', m.kind === 'shape' ? `Model ${this.modelId}: ${m.message}` : `Model ${this.modelId}: ONNX Runtime failed on a ${this.tileText} tile: ${m.message}`, { subject: this.modelId }),
        );
      this.dispatch();
    });
    const lost = (why: string): void => {
      if (this.closed) return;
      this.fail(new DelineateError('INTERNAL', `Model ${this.modelId}: a network worker ${why}`, { subject: this.modelId }));
    };
    w.worker.on('error', (e) => lost(`failed: ${e.message}`));
    w.worker.on('exit', (code) => lost(`exited unexpectedly (code ${code})`));
  }

  /** Fail every queued and running task and stop. */
  private fail(e: DelineateError): void {
    this.failure ??= e;
    const tasks = [...this.queue.splice(0), ...this.workers.flatMap((w) => w.tasks.splice(0))];
    for (const t of tasks) t.reject(e);
    void this.close();
  }

  private dispatch(): void {
    // Every worker its first task before any gets a second (queue order = tile order across workers).
    for (let depth = 1; depth <= TASKS_IN_FLIGHT; depth++)
      for (const w of this.workers) {
        if (!this.queue.length) return;
        if (w.tasks.length >= depth) continue;
        const t = this.queue.shift()!;
        w.tasks.push(t);
        const msg: TileWorkerIn = { type: 'run', id: t.id, fold: t.fold, input: t.input, variants: t.variants };
        // The input is copied (not transferred): the same tile goes to several runs (folds, mirror variants).
        w.worker.postMessage(msg);
      }
  }

  /**
   * Queue the network runs of fold `fold` on the tile `input` (C-order [Cin, p0, p1, p2]) for each mirror variant
   * in `variants` (each the spatial axes to flip); resolves with their outputs flipped back and summed in the given
   * order (C-order [A, p0, p1, p2], a new array). One worker runs the whole task; tasks start in queue order.
   */
  run(fold: number, input: Float32Array, variants: readonly (readonly number[])[]): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new DelineateError('INTERNAL', `Model ${this.modelId}: the network pool is closed`, { subject: this.modelId }));
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, fold, input, variants: variants.map((v) => [...v]), resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Stop the workers: queued runs are dropped (the engine only closes when it no longer waits for them); each worker
   * finishes the run it is in, releases its sessions and exits. Terminating a thread that still holds ONNX Runtime
   * sessions aborts the whole process (onnxruntime-node throws a Napi::Error from a finaliser: "terminate called
   * after throwing an instance of 'Napi::Error'"), so a worker is terminated only if it has not exited
   * `graceMs` after being asked to.
   */
  close(graceMs = 60_000): Promise<void> {
    this.closing ??= this.stop(graceMs);
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async stop(graceMs: number): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.worker.threadId < 0) return resolve();
            const timer = setTimeout(() => void w.worker.terminate(), graceMs);
            w.worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.worker.postMessage({ type: 'close' } satisfies TileWorkerIn);
          }),
      ),
    );
  }
}
