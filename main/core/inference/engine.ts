/**
 * The segmentation engine: nnU-Net v2's predictor (nnunetv2/inference/predict_from_raw_data.py) on ONNX Runtime,
 * in bounded memory.
 *
 * Pipeline (tensor axes, see main/common/manifest.ts): transpose → crop to non-zero → normalise → resample to the
 * network spacing → pad to the patch → sliding window (nnU-Net tile steps, Gaussian or constant blending,
 * mirroring TTA over all 2^d − 1 axis combinations averaged with the identity, folds averaged) → logits
 * resampled back to the cropped grid (probabilities order, separate-z rule) → argmax / sigmoid regions →
 * un-crop → un-transpose → optional keep-largest-component.
 *
 * ## Bounded memory: the band
 * Tiles are visited with tensor axis 0 outermost (as nnU-Net orders them). Every tile at axis-0 position s0
 * writes rows [s0, s0 + p0); once all tiles at s0 are done, rows before the next position s0' can receive no
 * more contributions. So the accumulator is a band of p0 rows × the padded in-plane extent × classes (plus one
 * weight plane per row), not the whole volume: after each s0 the finished rows [s0, s0') are divided by their
 * weights, handed to the {@link RowExporter} and the band slides down (the rows still open are moved to its top).
 * The exporter resamples each finished network row in-plane at once and along axis 0 as soon as the (at most
 * two, for order ≤ 1) network rows an output row interpolates from are there — a one-row halo — then argmaxes it
 * straight into the uint8/uint16 label volume. So neither classes × volume at the network resolution nor at the
 * original resolution is ever held; the peak is the band (classes × p0 × P1 × P2, 2 bytes per value in the
 * float16 mode that nnU-Net itself uses, 4 in float32 mode), one tile's network output and TTA sum, and the
 * image channels. Exceptions, documented: order-3 resampling of logits along axis 0 (its recursive prefilter
 * needs whole columns) and `probabilities` output hold full volumes.
 *
 * ## Numerics
 * `accumulation: 'float16'` reproduces nnU-Net bit for bit around the network: its Gaussian map, logit sum and
 * weight sum are torch.float16 (each add computed in float32 and rounded to half), the division, fold average and
 * the resampled logits are half too (so argmax ties happen where nnU-Net's happen). `'float32'` keeps everything
 * in float32 (more precise; differs from nnU-Net only near ties). The network itself runs in float32 in both.
 */
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CancelledSignal, DelineateError, throwIfCancelled } from '../../common/errors';
import { type ModelManifest, networkInputChannels, networkOutputChannels } from '../../common/manifest';
import type { JobOptions } from '../../common/progress';
import type { Labelmap, Segment, Volume } from '../../common/volume';
import { foldFileIdentity, type LoadedModel, takeVerifiedFoldBytes } from '../models/registry';
import { RowExporter, RowLabeller, softmaxRow } from './export';
import { halfBitsFromFloat32, HALF_TO_FLOAT } from './half';
import { rewriteDepthAsBatch, rewriteStridedConvTranspose, splitPointwiseHead } from './onnx-graph';
import { keepLargestComponent } from './postprocess';
import { cropTensor, preprocess, type PreprocessRecord, toTensor, type Vec3n } from './preprocess';
import { axisOrders, resizeChannel, separateZAxis } from './resample';
import { createSession, type DeviceName, ort, resolveDevice } from './session';
import { NetworkPool, networkCostFactor, poolShape, type SessionMeta } from './network-pool';
import { keepWarmNetwork, releaseWarmNetwork, takeWarmNetwork } from './warm-network';
import { flipInto, mirrorCombinations } from './tta';
import { networkGeometry, slidingWindowPlan } from './plan';
import { blendingWeights } from './tiling';

export interface SegmentOptions extends JobOptions {
  device?: DeviceName;
  /** Mirroring test-time augmentation over the manifest's axes (default true). */
  tta?: boolean;
  /** Fold numbers to use (default: all in the manifest). */
  folds?: number[];
  /** Override the manifest's tile step (0 < step ≤ 1). */
  tileStepSize?: number;
  /** Accumulation precision (default: 'float16' for nnU-Net models — bitwise nnU-Net behaviour — else 'float32'). */
  accumulation?: 'float16' | 'float32';
  /** CPU threads in all (default: all cores). */
  threads?: number;
  /**
   * CPU network workers (see ./network-pool.ts): each runs its own sessions on `threads / workers` intra-op
   * threads, on different tiles and mirror variants at once. Default ({@link cpuNetworkPool}): one per thread up
   * to 4, each with ≥ 0.75 M run-voxels (scaled by the fold size) of work, within a memory budget; an explicit value is capped only by the
   * number of runs. 1 runs the network in this thread (as GPU providers and split many-class networks always do).
   */
  networkWorkers?: number;
  /** Also return per-class probabilities on the input grid (holds classes × volume float32). */
  probabilities?: boolean;
  /** Label map of the previous cascade stage, on the grid of the inputs (required when the manifest has `cascade`). */
  previousStage?: Labelmap;
  /**
   * Run each fold as a body plus pointwise heads of at most this many classes (see onnx-graph.ts
   * splitPointwiseHead; bit-identical to the whole network), so that no `classes × patch` output is ever held
   * twice; 0 never splits. Default: on the CPU, when one tile's output would reach 128 MiB, heads of ≤ 64 MiB of
   * output each. Models whose output does not come from a pointwise Conv always run whole.
   */
  headClasses?: number;
  /** Names of the inputs for messages (file paths). */
  inputNames?: string[];
  /**
   * Keep the network (sessions or worker pool) loaded for the next run with the same fold files, device and
   * settings, for WARM_NETWORK_IDLE_MS (./warm-network.ts; default true). False releases it at the end of this run.
   */
  keepWarm?: boolean;
  /**
   * On the CPU, run a 3-D network's convolutions as 2-D convolutions over its depth slices (onnx-graph.ts
   * rewriteDepthAsBatch: ≈ 30 % less time per pass, twice the activation memory; logits equal up to float32
   * summation order). Default true where memory allows (see cpuDepthAsBatch); false runs the graph as exported (for
   * comparisons). Networks the rewrite does not cover run as exported anyway.
   */
  depthAsBatch?: boolean;
  /** Human-readable log lines (device choice, fallbacks). */
  log?: (line: string) => void;
  /**
   * Called with each finished row of the network-grid logits (tensor row u of [A, N1, N2], after division by the
   * weights and fold averaging) — for tests and reference comparisons. Do not keep `values`.
   */
  onNetworkRow?: (u: number, values: Float32Array) => void;
}

export interface SegmentStats {
  device: string;
  /** CPU network worker threads used (1: in-process) and intra-op threads of each. */
  networkWorkers: number;
  threadsPerWorker: number;
  tiles: number;
  networkRuns: number;
  networkShape: Vec3n;
  paddedShape: Vec3n;
  bandBytes: number;
  accumulation: 'float16' | 'float32';
  /** Pointwise heads per fold when the network ran as body + heads (1: whole). */
  heads: number;
  /** Whether the network was kept warm from the previous run (no file reading, rewriting or session start). */
  networkWarm: boolean;
  seconds: { preprocess: number; inference: number; total: number };
}

export interface SegmentResult {
  labels: Labelmap;
  /** Softmax (or sigmoid) probabilities per output channel on the input grid, when asked for. */
  probabilities?: Float32Array[];
  record: PreprocessRecord;
  stats: SegmentStats;
}

/**
 * A garbage collector to call after each tile when tiles are huge: ONNX Runtime's output tensors live in external
 * ArrayBuffers that V8 frees only at its next GC, so with a 100-class 128³ model several 0.8 GB outputs would
 * otherwise pile up before a collection. Null when the runtime does not allow it.
 */
const collectGarbage: (() => void) | null = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
})();

/**
 * Memory budgeted per CPU network session (a worker's, or the in-process one), in bytes per patch voxel: the arena
 * of activations of one run. Measured (peak RSS of one session's runs minus its start, one thread): the bench's
 * PlainConvUNet 16…96 on a 24×128×128 patch 640 bytes per voxel as exported, 880 as depth-as-batch 2-D
 * convolutions (onnx-graph.ts rewriteDepthAsBatch); nnU-Net's default widths 32…320 on 24×128×128 1,230 / 1,700,
 * on 128³ 1,400 / 2,900 (its shifted depth taps and blocked-layout copies: twice the activations).
 */
const NETWORK_BYTES_PER_VOXEL = { exported: 1536, depthAsBatch: 3072 } as const;

/**
 * Whether one tile's network output (classes × patch voxels × 4 bytes) reaches 128 MiB: such tiles run in this
 * thread without ONNX Runtime's arena, split into pointwise heads on the CPU, with a GC after each tile.
 */
export function bigTileOutput(m: ModelManifest): boolean {
  return networkOutputChannels(m) * m.patchSize.reduce((a, b) => a * b, 1) * 4 >= 128 * 2 ** 20;
}

/** This machine's (or container's) memory, a quarter of which the CPU network's sessions may take. */
function networkMemoryBudget(): number {
  // A container's memory limit where there is one (Node ≥ 19.6; 0 or undefined when none).
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() || Infinity;
  return Math.min(totalmem(), constrained) / 4;
}

/**
 * Whether a CPU run of model `m` uses the depth-as-batch graph: a 3-D network whose tiles are not split into heads
 * (those runs are the memory-bound ones: the 100-class target keeps its measured graph), with one session's
 * activations at NETWORK_BYTES_PER_VOXEL.depthAsBatch within the network memory budget; otherwise the graph runs
 * as exported (half the activation memory, ≈ 30 % more time per pass).
 */
export function cpuDepthAsBatch(m: ModelManifest): boolean {
  const tileVox = m.patchSize.reduce((a, b) => a * b, 1);
  if (m.dimensionality !== '3d' || bigTileOutput(m)) return false;
  return tileVox * NETWORK_BYTES_PER_VOXEL.depthAsBatch <= networkMemoryBudget();
}

/**
 * Largest fold (ONNX bytes) whose depth-as-batch graph runs in the worker pool for fewer than
 * DEPTH_BATCH_POOL_MIN_RUNS_BIG_FOLD runs; a bigger one then runs in this thread, all threads in one session:
 * its 2-D convolutions use two threads well (a pass of nnU-Net's widths 1.5× faster with 2 threads than 1), and
 * each worker holds its own activations and weights. Measured on 2 cores, PGBM-001 T1c, two workers vs in-process:
 * without TTA (4 runs of 24×128×128) 9.5 MB fold (16…96) 1.96–2.07 vs 2.59–2.87 s — the pool's start and first
 * passes overlap preprocessing; 48 MB (24…192) 3.61 vs 3.83–3.88 s at 1.89 vs 1.02 GiB peak RSS; 123 MB
 * (32…320) 5.20–5.34 vs 5.31–5.56 s at 2.41 vs 1.28 GiB (PyTorch: 3.64 s / 1.71 GiB, 5.92 s / 2.20 GiB). With
 * TTA (32 runs) the pool stays faster: 48 MB 17.7 vs 21.1 s (1.89 vs 1.05 GiB).
 */
export const DEPTH_BATCH_POOL_MAX_FOLD_BYTES = 24e6;
/** See {@link DEPTH_BATCH_POOL_MAX_FOLD_BYTES}: from this many runs even a big fold's network uses the pool. */
export const DEPTH_BATCH_POOL_MIN_RUNS_BIG_FOLD = 8;

/**
 * The CPU worker pool `segment()` uses by default for `runs` network runs of model `m` with `threads` threads in
 * all (workers 1 = the network runs in the calling thread, on all `threads`): none for tiles whose output reaches
 * 128 MiB (those run in-process, split into heads) and for fewer than 8 runs of a depth-as-batch fold over
 * {@link DEPTH_BATCH_POOL_MAX_FOLD_BYTES}, else ./network-pool.ts `poolShape` within a memory budget of
 * a quarter of this machine's (or container's) memory, counting NETWORK_BYTES_PER_VOXEL per patch voxel (of the
 * graph the run uses, see {@link cpuDepthAsBatch}) and twice the folds' ONNX bytes (`modelBytes`, all `folds`
 * together) per worker; the work a worker needs scales with the fold size (networkCostFactor). Also used by the
 * models panel's time estimate.
 */
export function cpuNetworkPool(m: ModelManifest, runs: number, threads: number = availableParallelism(), modelBytes = 0, folds = 1, depthAsBatch = cpuDepthAsBatch(m)): { workers: number; threadsPerWorker: number } {
  const tileVox = m.patchSize.reduce((a, b) => a * b, 1);
  if (bigTileOutput(m)) return { workers: 1, threadsPerWorker: threads };
  if (depthAsBatch && runs < DEPTH_BATCH_POOL_MIN_RUNS_BIG_FOLD && modelBytes / Math.max(1, folds) > DEPTH_BATCH_POOL_MAX_FOLD_BYTES) return { workers: 1, threadsPerWorker: threads };
  // Per worker: activations, plus every fold's weights twice (the session's copy and ONNX Runtime's prepacked one).
  const perWorker = tileVox * NETWORK_BYTES_PER_VOXEL[depthAsBatch ? 'depthAsBatch' : 'exported'] + 2 * modelBytes;
  return poolShape(threads, runs, tileVox, networkMemoryBudget() / perWorker, networkCostFactor(modelBytes / Math.max(1, folds)));
}

/** Output bytes per pointwise head when a many-class network is split (see SegmentOptions.headClasses). */
const HEAD_OUTPUT_BYTES = 64 * 2 ** 20;

/** A network kept warm between runs (./warm-network.ts): the worker pool, or the in-process runners and all their sessions. */
interface WarmValue {
  pool?: NetworkPool;
  runners?: FoldRunner[];
  sessions?: ort.InferenceSession[];
}

/** How one fold runs: the whole network, or its body (null: the head reads the input) and pointwise heads. */
interface FoldRunner {
  whole?: ort.InferenceSession;
  body?: ort.InferenceSession | null;
  featuresName?: string;
  featureChannels?: number;
  heads?: { session: ort.InferenceSession; firstClass: number; count: number }[];
}

function checkSessionAgainstManifest(s: SessionMeta, m: ModelManifest, file: string, inDims: number[], outChannels: number): void {
  const subject = file;
  if (!s.inputNames.includes(m.onnx.inputName))
    throw new DelineateError('MODEL', `${file}: the ONNX has inputs [${s.inputNames.join(', ')}], but manifest.json onnx.inputName is '${m.onnx.inputName}' (model ${m.id})`, { subject });
  if (!s.outputNames.includes(m.onnx.outputName))
    throw new DelineateError('MODEL', `${file}: the ONNX has outputs [${s.outputNames.join(', ')}], but manifest.json onnx.outputName is '${m.onnx.outputName}' (model ${m.id})`, { subject });
  const meta = s.inputMetadata.find((x) => x.name === m.onnx.inputName);
  if (meta && meta.isTensor && meta.shape.length > 0) {
    if (meta.shape.length !== inDims.length)
      throw new DelineateError('MODEL', `${file}: input '${m.onnx.inputName}' has rank ${meta.shape.length}, but a ${m.dimensionality} model with manifest.json channels/patchSize needs [${inDims.join(', ')}] (model ${m.id})`, { subject });
    meta.shape.forEach((d, i) => {
      if (i > 0 && typeof d === 'number' && d > 0 && d !== inDims[i])
        throw new DelineateError('MODEL', `${file}: input '${m.onnx.inputName}' dimension ${i} is ${d}, but the manifest implies ${inDims[i]} (${i === 1 ? 'channels' : `patchSize[${i - 2}]`}; model ${m.id})`, { subject });
    });
  }
  const ometa = s.outputMetadata.find((x) => x.name === m.onnx.outputName);
  if (ometa && ometa.isTensor && ometa.shape.length > 1 && typeof ometa.shape[1] === 'number' && ometa.shape[1] > 0 && ometa.shape[1] !== outChannels)
    throw new DelineateError('MODEL', `${file}: output '${m.onnx.outputName}' has ${ometa.shape[1]} channels, but manifest.json output lists ${outChannels} (model ${m.id})`, { subject });
}

/** Cascade: previous stage's labels → one-hot channels on the network grid (nnU-Net resample as segmentation). */
function cascadeChannels(m: ModelManifest, prev: Labelmap, rec: PreprocessRecord): Float32Array {
  const labels = m.cascade!.foregroundLabels;
  const n = prev.data.length;
  const t = new Float32Array(n);
  toTensor(prev as unknown as Volume, m.tensorAxesFromIjk, t, 'previous stage');
  const cropped = cropTensor(t, 1, rec.shapeBeforeCropping, rec.bbox[0], rec.bbox[1]);
  const cs = rec.shapeAfterCropping;
  const ns = rec.networkShape;
  const nn = ns[0] * ns[1] * ns[2];
  let seg: Float32Array = cropped;
  if (ns.some((s, d) => s !== cs[d])) {
    const axis = separateZAxis(m.resampling.forceSeparateZ, rec.spacingMm, rec.networkSpacingMm, m.resampling.anisotropyThreshold);
    seg = new Float32Array(nn);
    const uniq = [...new Set(cropped)].sort((a, b) => a - b);
    for (const l of uniq) {
      const mask = Float64Array.from(cropped, (v) => (v === l ? 1 : 0));
      const r = resizeChannel(mask, cs, ns, m.resampling.segOrder, 0, axis);
      for (let i = 0; i < nn; i++) if (r[i]! >= 0.5) seg[i] = l;
    }
  }
  const out = new Float32Array(labels.length * nn);
  labels.forEach((l, c) => {
    for (let i = 0; i < nn; i++) if (seg[i] === l) out[c * nn + i] = 1;
  });
  return out;
}

/**
 * Segment co-registered input channels (one Volume per manifest channel, all on one grid) with a loaded model.
 * Returns a label map on the grid of the first channel. Throws DelineateError (INPUT, GEOMETRY, MODEL …) with the
 * model, field or file named; CancelledSignal when `signal` fires (checked between tiles).
 */
export async function segment(model: LoadedModel, inputs: readonly Volume[], opts: SegmentOptions = {}): Promise<SegmentResult> {
  const t0 = performance.now();
  const m = model.manifest;
  const log = opts.log ?? (() => {});
  const names = opts.inputNames ?? inputs.map((_, i) => `input ${i + 1}`);
  const accumulation = opts.accumulation ?? (m.framework === 'nnunetv2' ? 'float16' : 'float32');
  const step = opts.tileStepSize ?? m.tileStepSize;
  if (!(step > 0 && step <= 1)) throw new DelineateError('USAGE', `tile step must be in (0, 1], got ${step}`, { subject: '--step' });
  const useFolds = opts.folds ? model.folds.filter((f) => opts.folds!.includes(f.fold)) : model.folds;
  if (opts.folds) {
    const missing = opts.folds.filter((f) => !model.folds.some((x) => x.fold === f));
    if (missing.length) throw new DelineateError('USAGE', `Model ${m.id} has no fold ${missing.join(', ')} (folds: ${model.folds.map((f) => f.fold).join(', ')})`, { subject: '--folds' });
  }
  if (m.cascade && !opts.previousStage)
    throw new DelineateError('INPUT', `Model ${m.id} is a cascade stage: run '${m.cascade.previousModel}' first and pass its label map`, { subject: m.id });
  throwIfCancelled(opts.signal);

  // ---- network settings (known from the manifest alone)
  const is2d = m.dimensionality === '2d';
  const patch3: Vec3n = is2d ? [1, m.patchSize[0]!, m.patchSize[1]!] : [m.patchSize[0]!, m.patchSize[1]!, m.patchSize[2]!];
  const A = networkOutputChannels(m);
  const CinNet = networkInputChannels(m);
  const [p0, p1, p2] = patch3;
  const tileVox = p0 * p1 * p2;
  const inDims = is2d ? [1, CinNet, p1, p2] : [1, CinNet, p0, p1, p2];
  const mirrorAxes = opts.tta === false ? [] : m.mirroringAxes.map((a) => (is2d ? a + 1 : a));
  const combos = mirrorCombinations(mirrorAxes);
  /** Tiles whose network output is ≥ 128 MiB: no ORT arena, and a GC after each tile (see collectGarbage). */
  const bigTiles = bigTileOutput(m);
  const device = resolveDevice(opts.device ?? 'auto', log);
  const sessionSettings = { device, memArena: !bigTiles, ...(opts.threads ? { threads: opts.threads } : {}) };
  const spatialDims = inDims.slice(2);
  const maxHeadClasses = opts.headClasses ?? (device === 'cpu' && bigTiles ? Math.max(2, Math.floor(HEAD_OUTPUT_BYTES / (tileVox * 4))) : 0);
  const threads = opts.threads ?? availableParallelism();
  const depthAsBatch = device === 'cpu' && opts.depthAsBatch !== false && cpuDepthAsBatch(m);
  // The fold files' identities (size, times, inode) and sizes, without reading them: a network kept warm from the
  // previous run (./warm-network.ts) is reused only for the very same files, device and settings.
  const foldStats = await Promise.all(useFolds.map((f) => stat(f.path, { bigint: true }).catch(() => undefined)));
  // CPU worker pool (./network-pool.ts) for whole networks of ordinary size; GPU providers, split many-class
  // networks and huge tiles stay in this thread. Memory: each worker holds its own sessions and activations,
  // budgeted at NETWORK_WORKER_BYTES_PER_VOXEL per patch voxel against a quarter of the machine's memory.
  const poolable = device === 'cpu' && maxHeadClasses === 0 && !bigTiles;
  const modelBytes = foldStats.reduce((sum, st) => sum + Number(st?.size ?? 0), 0);
  const shapeFor = (runsTotal: number): { workers: number; threadsPerWorker: number } => {
    if (!poolable) return { workers: 1, threadsPerWorker: threads };
    if (opts.networkWorkers === undefined) return cpuNetworkPool(m, runsTotal, threads, modelBytes, useFolds.length, depthAsBatch);
    const workers = Math.max(1, Math.min(opts.networkWorkers, runsTotal));
    return { workers, threadsPerWorker: Math.max(1, Math.floor(threads / workers)) };
  };
  // The tile count this input will have (./plan.ts: the geometry preprocessing will produce, without computing it),
  // so that the workers start now and load their sessions while this thread preprocesses (≈ 0.25 s saved). Inputs
  // that preprocessing will refuse may not have a plan: then any mirroring or second fold (≥ 2 runs per tile) will do.
  let plannedRuns = 1;
  if (poolable)
    try {
      plannedRuns = slidingWindowPlan(m, networkGeometry(m, inputs).networkShape, step).tiles * useFolds.length * (combos.length + 1);
    } catch {
      plannedRuns = combos.length > 0 || useFolds.length > 1 ? Number.POSITIVE_INFINITY : 1;
    }
  const earlyShape = shapeFor(plannedRuns);
  const usePool = earlyShape.workers >= 2;
  const warmKey = foldStats.every((st) => st !== undefined)
    ? JSON.stringify({
        files: useFolds.map((f, i) => foldFileIdentity(f.path, foldStats[i]!)),
        device,
        sessionSettings,
        maxHeadClasses,
        depthAsBatch,
        inDims,
        A,
        io: [m.onnx.inputName, m.onnx.outputName],
        run: usePool ? earlyShape : 'in-process',
      })
    : undefined;
  const warm = warmKey !== undefined && opts.keepWarm !== false ? takeWarmNetwork<WarmValue>(warmKey) : undefined;
  // Another model (or other settings): free the network kept from before first, so two are never held at once.
  if (!warm) await releaseWarmNetwork();
  else log('network kept warm from the previous run');

  // On the CPU, a 3-D network runs as 2-D convolutions over its depth slices (onnx-graph.ts rewriteDepthAsBatch:
  // ONNX Runtime's blocked 2-D kernels instead of its im2col 3-D path, ≈ 30 % less time per pass). Where that
  // rewrite does not apply, and on WebGPU, 3-D kernel = stride ConvTransposes run as pointwise Conv + DepthToSpace
  // (see onnx-graph.ts): on the CPU bit-identical and ~8 % faster per pass; on WebGPU it is what lets 3-D U-Nets run
  // at all (its provider has no 3-D ConvTranspose: "Only Conv2d or Conv1d are supported"). 2-D models are never
  // rewritten, so their files are not read here (the bundled model's three folds: 76–146 ms per run). A file that
  // cannot be read here is left to the session's own error below. Nothing is read for a network kept warm.
  const foldModels: { path: string; bytes?: Uint8Array }[] = [];
  for (const [i, f] of useFolds.entries()) {
    let bytes: Uint8Array | undefined;
    // The bytes loadModel has just read and verified (taken either way, so that they are not kept for nothing).
    const verified = foldStats[i] ? takeVerifiedFoldBytes(f.path, foldStats[i]) : undefined;
    try {
      // The Buffer itself (a Uint8Array): a copy of a 123 MB fold cost ≈ 80 ms.
      if (!warm && !is2d && (device === 'cpu' || device === 'webgpu')) {
        const source = verified ?? (await readFile(f.path));
        const slices = depthAsBatch ? rewriteDepthAsBatch(source) : undefined;
        if (slices && i === 0) log(slices.model ? `network: ${slices.convs} 3-D convolutions run as 2-D convolutions over depth slices` : `network: 3-D convolutions run as exported (${slices.reason})`);
        else if (i === 0 && device === 'cpu' && opts.depthAsBatch !== false)
          log(`network: run as exported (${bigTiles ? 'many-class tiles split into heads' : 'its depth-slice form would need more than a quarter of memory for activations'})`);
        bytes = slices?.model ?? rewriteStridedConvTranspose(source)?.model;
      }
    } catch {
      bytes = undefined;
    }
    foldModels.push({ path: f.path, ...(bytes ? { bytes } : {}) });
  }
  /** Start the pool; never rejects (a pool that cannot start leaves the network to this thread, with the reason logged). */
  const startPool = async (sh: { workers: number; threadsPerWorker: number }): Promise<NetworkPool | undefined> => {
    try {
      return await NetworkPool.start(
        { folds: foldModels.map((f) => ({ path: f.path, ...(f.bytes ? { bytes: f.bytes } : {}) })), threadsPerWorker: sh.threadsPerWorker, inputName: m.onnx.inputName, outputName: m.onnx.outputName, inDims, outChannels: A },
        sh.workers,
        m.id,
        Math.max(threads, sh.workers * sh.threadsPerWorker),
      );
    } catch (e) {
      // The in-process path below gives the exact error of a model that cannot load (or runs where workers cannot).
      log(`network workers unavailable (${(e as Error).message}); running the network in this thread`);
      return undefined;
    }
  };
  const early = usePool ? { shape: earlyShape, pool: warm?.value.pool ? Promise.resolve<NetworkPool | undefined>(warm.value.pool) : startPool(earlyShape) } : undefined;
  /** Set once the run has finished: its sessions or pool are then kept warm instead of released. */
  let keep = false;
  /** Whether warm in-process sessions were taken over into `sessions` below. */
  let warmAdopted = false;
  /** In-process sessions of this run; released (or kept) by the sliding window's `finally`, else by the last one. */
  const sessions: ort.InferenceSession[] = [];
  let sessionsSettled = false;
  // From here on the workers may be starting: whatever leaves segment() (result, error, cancellation) first lets
  // them release their sessions and exit (see NetworkPool.close; close() is idempotent).
  try {
    // ---- preprocessing
    opts.onProgress?.({ stage: 'preprocess', done: 0, total: 1 });
    const pre = preprocess(m, inputs, names);
    const rec = pre.record;
    let data = pre.data;
    let Cin = pre.channels;
    if (m.cascade) {
      const extra = cascadeChannels(m, opts.previousStage!, rec);
      const joined = new Float32Array(data.length + extra.length);
      joined.set(data);
      joined.set(extra, data.length);
      data = joined;
      Cin += m.cascade.foregroundLabels.length;
    }
    if (Cin !== CinNet) throw new DelineateError('INTERNAL', `channel count ${Cin} ≠ ${CinNet}`);
    const tPre = performance.now();
    // Large volumes: free preprocessing's float64 intermediates before the band is allocated.
    if (inputs[0]!.data.length > 2 ** 24) collectGarbage?.();

    // ---- geometry of the sliding window (./plan.ts: the same plan models.estimate reports)
    const N = rec.networkShape;
    const plan = slidingWindowPlan(m, N, step);
    const P = plan.paddedShape;
    const before = plan.padBefore;
    const steps = plan.steps;
    const nTiles = plan.tiles;
    const g = blendingWeights(is2d ? [patch3[1], patch3[2]] : patch3, m.blending, accumulation);

    // ---- sessions
    const shape = early?.shape ?? { workers: 1, threadsPerWorker: threads };
    const pool: NetworkPool | undefined = early ? await early.pool : undefined;
    if (pool) {
      try {
        throwIfCancelled(opts.signal);
        pool.meta.forEach((meta, i) => checkSessionAgainstManifest(meta, m, useFolds[i]!.path, inDims, A));
      } catch (e) {
        await pool.close();
        throw e;
      }
      log(`CPU: ${pool.size} network workers × ${shape.threadsPerWorker} thread${shape.threadsPerWorker > 1 ? 's' : ''}`);
      // The workers hold the (rewritten) models now; the in-process path will not need these bytes.
      for (const f of foldModels) delete f.bytes;
    } else throwIfCancelled(opts.signal);
    const runners: FoldRunner[] = [];
    if (!pool && warm?.value.runners) {
      runners.push(...warm.value.runners);
      sessions.push(...warm.value.sessions!);
      warmAdopted = true;
    } else if (!pool) {
      try {
        for (const f of foldModels) {
          let s: ort.InferenceSession;
          try {
            s = await createSession(f.bytes ?? f.path, sessionSettings, f.path);
          } catch (e) {
            // A graph rewritten here that ONNX Runtime will not load (a network unlike those the rewrites were
            // checked on) must not cost the user the run: the file as exported, with the reason logged.
            if (!f.bytes) throw e;
            log(`network: the rewritten graph did not load (${(e as Error).message.split('\n')[0]}); running ${f.path} as exported`);
            delete f.bytes;
            s = await createSession(f.path, sessionSettings, f.path);
          }
          sessions.push(s);
          checkSessionAgainstManifest(s, m, f.path, inDims, A);
          const split = maxHeadClasses > 0 && maxHeadClasses < A ? splitPointwiseHead(f.bytes ?? (await readFile(f.path)), m.onnx.outputName, maxHeadClasses, spatialDims) : null;
          if (!split || split.heads.length < 2) {
            runners.push({ whole: s });
            continue;
          }
          sessions.pop();
          await s.release();
          const body = split.body ? await createSession(split.body, sessionSettings, `${f.path} (body)`) : null;
          if (body) sessions.push(body);
          const heads: FoldRunner['heads'] = [];
          for (const h of split.heads) {
            const hs = await createSession(h.model, sessionSettings, `${f.path} (classes ${h.firstClass}–${h.firstClass + h.count - 1})`);
            sessions.push(hs);
            heads.push({ session: hs, firstClass: h.firstClass, count: h.count });
          }
          runners.push({ body, featuresName: split.featuresName, featureChannels: split.featureChannels, heads });
        }
      } catch (e) {
        for (const s of sessions.splice(0)) await s.release();
        throw e;
      }
    }
    const F = pool ? useFolds.length : runners.length;
    const headsPerFold = runners[0]?.heads?.length ?? 1;
    if (headsPerFold > 1) log(`${A} classes: each fold runs as a body and ${headsPerFold} pointwise heads (no ${A}-class tile output held twice)`);

    // ---- band accumulators
    const bandRows = p0;
    const plane = P[1] * P[2];
    const bandVox = bandRows * plane;
    const perFold = accumulation === 'float16' && F > 1;
    const nAcc = perFold ? F : 1;
    const acc32 = accumulation === 'float32' ? new Float32Array(A * bandVox) : undefined;
    const acc16 = accumulation === 'float16' ? Array.from({ length: nAcc }, () => new Uint16Array(A * bandVox)) : [];
    const w32 = accumulation === 'float32' ? new Float32Array(bandVox) : undefined;
    const w16 = accumulation === 'float16' ? new Uint16Array(bandVox) : undefined;
    const bandBytes = (acc32?.byteLength ?? 0) + acc16.reduce((s, a) => s + a.byteLength, 0) + (w32?.byteLength ?? 0) + (w16?.byteLength ?? 0);
    let bandStart = 0;

    // ---- export: resample back, label, un-crop, un-transpose
    const inGrid = inputs[0]!;
    const maxLabel = m.output.kind === 'softmax' ? A - 1 : Math.max(...m.output.regionClassOrder);
    const outData = maxLabel > 255 ? new Uint16Array(inGrid.data.length) : new Uint8Array(inGrid.data.length);
    const perm = m.tensorAxesFromIjk;
    const strideIjk = [1, inGrid.size[0], inGrid.size[0] * inGrid.size[1]];
    const ts0 = strideIjk[perm[0]!]!;
    const ts1 = strideIjk[perm[1]!]!;
    const ts2 = strideIjk[perm[2]!]!;
    const M = rec.shapeAfterCropping;
    const [bb0, bb1, bb2] = rec.bbox[0];
    const outPlane = M[1] * M[2];
    const probs = opts.probabilities ? Array.from({ length: A }, () => new Float32Array(inGrid.data.length)) : undefined;
    if (probs && m.output.kind === 'softmax') {
      // Outside the crop box nnU-Net sets background probability 1.
      probs[0]!.fill(1);
    }
    const writeRow = (o: number, rowLabels: Uint16Array, values: Float32Array | undefined): void => {
      const a = o + bb0;
      let i = 0;
      for (let b = 0; b < M[1]; b++) {
        const base = a * ts0 + (b + bb1) * ts1 + bb2 * ts2;
        for (let c = 0; c < M[2]; c++, i++) outData[base + c * ts2] = rowLabels[i]!;
      }
      if (probs && values) {
        if (m.output.kind === 'softmax') softmaxRow(values, A, outPlane);
        else for (let k = 0; k < values.length; k++) values[k] = Math.fround(1 / (1 + Math.exp(-values[k]!)));
        for (let c = 0; c < A; c++) {
          const pc = probs[c]!;
          let k = c * outPlane;
          for (let b = 0; b < M[1]; b++) {
            const base = a * ts0 + (b + bb1) * ts1 + bb2 * ts2;
            for (let x = 0; x < M[2]; x++, k++) pc[base + x * ts2] = values[k]!;
          }
        }
      }
    };
    const sink = new RowLabeller(m.output, outPlane, A, probs !== undefined, writeRow);
    const r = m.resampling;
    // Export resamples from the network spacing back to the image spacing (nnU-Net passes them in that order).
    const sepAxis = separateZAxis(r.forceSeparateZ, rec.networkSpacingMm, rec.spacingMm, r.anisotropyThreshold);
    const orders = axisOrders(3, r.probabilitiesOrder, r.probabilitiesOrderZ, sepAxis);
    const exporter = new RowExporter(A, N, M, orders, sepAxis, accumulation, sink);
    if (exporter.buffersWholeVolume)
      log(`note: order-${orders[0]} resampling of the logits along tensor axis 0 needs whole columns; holding ${A} × ${N.join('×')} float32 logits`);

    /** Divide finished band rows [bandStart, end) by their weights and hand them to the exporter; slide the band. */
    const finalise = (end: number): void => {
      const [N0, N1, N2] = N;
      const netPlane = N1 * N2;
      for (let rr = bandStart; rr < end; rr++) {
        const u = rr - before[0];
        if (u < 0 || u >= N0) continue;
        const band = rr - bandStart;
        const row = new Float32Array(A * netPlane);
        for (let c = 0; c < A; c++)
          for (let y = 0; y < N1; y++) {
            const src = c * bandVox + band * plane + (y + before[1]) * P[2] + before[2];
            const wsrc = band * plane + (y + before[1]) * P[2] + before[2];
            const dst = (c * N1 + y) * N2;
            if (acc32) {
              for (let x = 0; x < N2; x++) row[dst + x] = Math.fround(acc32[src + x]! / w32![wsrc + x]!) / F;
            } else {
              for (let x = 0; x < N2; x++) {
                const w = HALF_TO_FLOAT[w16![wsrc + x]!]!;
                let s = HALF_TO_FLOAT[halfBitsFromFloat32(Math.fround(HALF_TO_FLOAT[acc16[0]![src + x]!]! / w))]!;
                for (let f = 1; f < nAcc; f++) {
                  const v = HALF_TO_FLOAT[halfBitsFromFloat32(Math.fround(HALF_TO_FLOAT[acc16[f]![src + x]!]! / w))]!;
                  s = HALF_TO_FLOAT[halfBitsFromFloat32(Math.fround(s + v))]!;
                }
                if (nAcc > 1) s = HALF_TO_FLOAT[halfBitsFromFloat32(Math.fround(s / nAcc))]!;
                if (!Number.isFinite(s))
                  throw new DelineateError('MODEL', `Model ${m.id}: non-finite logits (float16 overflow) at network voxel ${u},${y},${x}; run with float32 accumulation`, { subject: m.id });
                row[dst + x] = s;
              }
            }
          }
        opts.onNetworkRow?.(u, row);
        exporter.push(u, row);
      }
      // Slide: rows [end, bandStart + bandRows) move to the top of the band; the rest is cleared.
      const shift = end - bandStart;
      if (shift <= 0) return;
      const keep = Math.max(0, bandRows - shift);
      const slide = (arr: Float32Array | Uint16Array, channels: number): void => {
        for (let c = 0; c < channels; c++) {
          const base = c * bandVox;
          if (keep > 0) arr.copyWithin(base, base + shift * plane, base + bandRows * plane);
          arr.fill(0, base + keep * plane, base + bandVox);
        }
      };
      if (acc32) slide(acc32, A);
      for (const a of acc16) slide(a, A);
      if (w32) slide(w32, 1);
      if (w16) slide(w16, 1);
      bandStart = end;
    };

    // ---- sliding window
    const x = new Float32Array(Cin * tileVox);
    const xf = combos.length ? new Float32Array(Cin * tileVox) : undefined;
    const tileDims: [number, number, number, number] = [Cin, p0, p1, p2];
    const outDims: [number, number, number, number] = [A, p0, p1, p2];
    const nIn = N[0] * N[1] * N[2];
    const runNamed = async (s: ort.InferenceSession, inName: string, input: Float32Array, dims: readonly number[], outName: string, outChannels: number): Promise<ort.Tensor> => {
      const feeds = { [inName]: new ort.Tensor('float32', input, dims) };
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await s.run(feeds, [outName]);
      } catch (e) {
        throw new DelineateError('MODEL', `Model ${m.id}: ONNX Runtime failed on a ${inDims.join('×')} tile: ${(e as Error).message}`, { subject: m.id, cause: e });
      }
      const t = out[outName] as ort.Tensor;
      if (t.type !== 'float32' || t.data.length !== outChannels * tileVox)
        throw new DelineateError('MODEL', `Model ${m.id}: output '${outName}' is ${t.type} [${t.dims.join(', ')}], expected float32 [1, ${outChannels}, ${spatialDims.join(', ')}]`, { subject: m.id });
      return t;
    };
    const run = (s: ort.InferenceSession, input: Float32Array): Promise<ort.Tensor> => runNamed(s, m.onnx.inputName, input, inDims, m.onnx.outputName, A);
    /** Add `count` classes of a tile prediction [count, p0, p1, p2] (class `first` onwards), Gaussian-weighted, into the band. */
    const accumulate = (pred: Float32Array, first: number, count: number, f: number, s0: number, s1: number, s2: number): void => {
      const acc = acc16[perFold ? f : 0];
      for (let c = 0; c < count; c++)
        for (let a = 0; a < p0; a++) {
          const br = s0 + a - bandStart;
          for (let b = 0; b < p1; b++) {
            const dst = (first + c) * bandVox + br * plane + (s1 + b) * P[2] + s2;
            const src = ((c * p0 + a) * p1 + b) * p2;
            const gs = (a * p1 + b) * p2;
            if (acc32) for (let q = 0; q < p2; q++) acc32[dst + q]! += Math.fround(pred[src + q]! * g[gs + q]!);
            else
              for (let q = 0; q < p2; q++) {
                const prod = Math.fround(pred[src + q]! * g[gs + q]!);
                acc![dst + q] = halfBitsFromFloat32(Math.fround(HALF_TO_FLOAT[acc![dst + q]!]! + prod));
              }
          }
        }
    };
    const divide = (pred: Float32Array, div: number): void => {
      for (let i = 0; i < pred.length; i++) pred[i] = pred[i]! / div;
    };
    /** The TTA sum of all classes when a split network's feature maps would cost more than holding it (see below). */
    let predSum: Float32Array | undefined;
    /**
     * One fold on the tile in `x` as body + heads, the TTA sum made per head. When the J = 1 + mirror-combination
     * feature maps are smaller than the classes × patch sum, the J feature maps are held and each head sums its
     * own classes (nothing of size classes × patch exists); otherwise each TTA run's features are pushed through
     * every head into one classes × patch sum. Either way each value gets the same float32 additions, in the same
     * order, as in the whole-network path.
     */
    const runSplit = async (r: FoldRunner, f: number, s0: number, s1: number, s2: number): Promise<void> => {
      const C = r.featureChannels!;
      const featDims = [1, C, ...spatialDims];
      const J = combos.length + 1;
      const features = async (input: Float32Array): Promise<Float32Array> => {
        if (!r.body) return input;
        const t = await runNamed(r.body, m.onnx.inputName, input, inDims, r.featuresName!, C);
        runs++;
        return t.data as Float32Array;
      };
      const head = async (h: NonNullable<FoldRunner['heads']>[number], feats: Float32Array): Promise<Float32Array> =>
        (await runNamed(h.session, r.featuresName!, feats, featDims, m.onnx.outputName, h.count)).data as Float32Array;
      if (J === 1 || J * C <= A) {
        const feats: Float32Array[] = [await features(x)];
        for (const axes of combos) {
          if (opts.signal?.aborted) throw new CancelledSignal();
          const flipped = r.body ? xf! : new Float32Array(Cin * tileVox);
          flipInto(x, tileDims, axes, flipped, false);
          feats.push(await features(flipped));
        }
        if (!r.body) runs += J;
        for (const h of r.heads!) {
          const sum = await head(h, feats[0]!);
          for (let j = 1; j < J; j++) flipInto(await head(h, feats[j]!), [h.count, p0, p1, p2], combos[j - 1]!, sum, true);
          if (J > 1) divide(sum, J);
          accumulate(sum, h.firstClass, h.count, f, s0, s1, s2);
        }
      } else {
        predSum ??= new Float32Array(A * tileVox);
        for (let j = 0; j < J; j++) {
          if (opts.signal?.aborted) throw new CancelledSignal();
          if (j > 0) flipInto(x, tileDims, combos[j - 1]!, xf!, false);
          const feats = await features(j === 0 ? x : xf!);
          if (!r.body) runs++;
          for (const h of r.heads!) {
            const o = await head(h, feats);
            const dst = predSum.subarray(h.firstClass * tileVox, (h.firstClass + h.count) * tileVox);
            if (j === 0) dst.set(o);
            else flipInto(o, [h.count, p0, p1, p2], combos[j - 1]!, dst, true);
          }
        }
        divide(predSum, J);
        accumulate(predSum, 0, A, f, s0, s1, s2);
      }
    };
    let done = 0;
    let runs = 0;
    const tInf0 = performance.now();
    opts.onProgress?.({ stage: 'inference', done: 0, total: nTiles });
    /** Copy the tile at (s0, s1, s2) of the padded grid into `into` (zero outside the image = nnU-Net's constant padding). */
    const extractTile = (s0: number, s1: number, s2: number, into: Float32Array): void => {
      into.fill(0);
      for (let c = 0; c < Cin; c++)
        for (let a = 0; a < p0; a++) {
          const ia = s0 + a - before[0];
          if (ia < 0 || ia >= N[0]) continue;
          for (let b = 0; b < p1; b++) {
            const ib = s1 + b - before[1];
            if (ib < 0 || ib >= N[1]) continue;
            const lo = Math.max(0, before[2] - s2);
            const hi = Math.min(p2, N[2] + before[2] - s2);
            if (hi <= lo) continue;
            const src = c * nIn + (ia * N[1] + ib) * N[2] + (s2 + lo - before[2]);
            into.set(data.subarray(src, src + (hi - lo)), ((c * p0 + a) * p1 + b) * p2 + lo);
          }
        }
    };
    // Pool mode: tiles are handed to the workers ahead of the one being blended (tile extraction reads the
    // preprocessed input, never the band), enough to keep every worker busy; results are taken in tile, fold and
    // mirror order, so the sums are the in-process path's, value for value.
    const tileOrder: Vec3n[] = [];
    for (const s0 of steps[0]!) for (const s1 of steps[1]!) for (const s2 of steps[2]!) tileOrder.push([s0, s1, s2]);
    const variants: number[][] = [[], ...combos];
    // A task is a tile × fold with all its mirror variants (summed in the worker, in order) when there are enough of
    // those to keep every worker busy; otherwise (few tiles, e.g. a small volume with TTA) one task per variant,
    // summed here in the same order. Never any other grouping: float32 sums must keep the in-process order.
    const groups: number[][][] = pool && nTiles * F < 2 * pool.size ? variants.map((v) => [v]) : [variants];
    const pendingRuns: (Promise<Float32Array>[][] | undefined)[] = [];
    let submitted = 0;
    const tilesAhead = pool ? Math.ceil((2 * pool.size) / (F * groups.length)) : 0;
    const submitThrough = (last: number): void => {
      for (; pool && submitted <= Math.min(last, tileOrder.length - 1); submitted++) {
        const [s0, s1, s2] = tileOrder[submitted]!;
        const xi = new Float32Array(Cin * tileVox);
        extractTile(s0, s1, s2, xi);
        pendingRuns[submitted] = Array.from({ length: F }, (_, f) =>
          groups.map((group) => {
            const p = pool!.run(f, xi, group);
            // Awaited in order below; a failure of a later run must not surface as an unhandled rejection first.
            p.catch(() => {});
            return p;
          }),
        );
      }
    };
    let tileIndex = 0;
    try {
      for (let k0 = 0; k0 < steps[0]!.length; k0++) {
        const s0 = steps[0]![k0]!;
        for (const s1 of steps[1]!)
          for (const s2 of steps[2]!) {
            if (opts.signal?.aborted) throw new CancelledSignal();
            const ti = tileIndex++;
            if (pool) {
              submitThrough(ti + tilesAhead);
              const tileRuns = pendingRuns[ti]!;
              pendingRuns[ti] = undefined;
              for (let f = 0; f < F; f++) {
                const pred = await tileRuns[f]![0]!;
                for (let j = 1; j < groups.length; j++) {
                  const o = await tileRuns[f]![j]!;
                  for (let i = 0; i < pred.length; i++) pred[i]! += o[i]!;
                }
                runs += variants.length;
                if (combos.length) divide(pred, variants.length);
                accumulate(pred, 0, A, f, s0, s1, s2);
              }
            } else {
              extractTile(s0, s1, s2, x);
              for (let f = 0; f < F; f++) {
                const r = runners[f]!;
                if (!r.whole) {
                  await runSplit(r, f, s0, s1, s2);
                  continue;
                }
                // TTA: identity + every mirror combination, summed in float32 then divided (nnU-Net order).
                // The identity run's output buffer doubles as the TTA sum (no extra classes × patch copy).
                const t = await run(r.whole, x);
                runs++;
                const pred = t.data as Float32Array;
                for (const axes of combos) {
                  // Cancellation between mirror runs too: a tile of 8 runs of an nnU-Net-width network is 10–20 s
                  // on 2 cores, longer than the API server's and the supervisor's grace before a hard kill.
                  if (opts.signal?.aborted) throw new CancelledSignal();
                  flipInto(x, tileDims, axes, xf!, false);
                  const tm = await run(r.whole, xf!);
                  runs++;
                  flipInto(tm.data as Float32Array, outDims, axes, pred, true);
                  tm.dispose();
                }
                if (combos.length) divide(pred, combos.length + 1);
                // Weighted accumulation into the band.
                accumulate(pred, 0, A, f, s0, s1, s2);
                t.dispose();
              }
            }
            for (let a = 0; a < p0; a++) {
              const br = s0 + a - bandStart;
              for (let b = 0; b < p1; b++) {
                const dst = br * plane + (s1 + b) * P[2] + s2;
                const gs = (a * p1 + b) * p2;
                if (w32) for (let q = 0; q < p2; q++) w32[dst + q]! += g[gs + q]!;
                else for (let q = 0; q < p2; q++) w16![dst + q] = halfBitsFromFloat32(Math.fround(HALF_TO_FLOAT[w16![dst + q]!]! + g[gs + q]!));
              }
            }
            done++;
            if (bigTiles) collectGarbage?.();
            opts.onProgress?.({ stage: 'inference', done, total: nTiles, ...(F > 1 ? { detail: `${F} folds` } : {}) });
          }
        finalise(k0 + 1 < steps[0]!.length ? steps[0]![k0 + 1]! : P[0]);
      }
      // Finished: keep the network for the next run when it is the kind this run's key names (a pool that could
      // not start left the network to this thread).
      keep = warmKey !== undefined && opts.keepWarm !== false && usePool === (pool !== undefined);
    } finally {
      if (keep) {
        const value: WarmValue = pool ? { pool } : { runners, sessions };
        await keepWarmNetwork({
          key: warmKey!,
          value,
          release: async () => {
            for (const s of sessions) await s.release();
            await pool?.close();
          },
          ...(pool ? { setIdle: (idle: boolean) => pool.setIdle(idle), usable: () => pool.usable } : {}),
        });
      } else {
        for (const s of sessions) await s.release();
        await pool?.close();
      }
      sessionsSettled = true;
    }
    const tInf = performance.now();

    // ---- post-processing and result
    const labels: Labelmap = {
      size: [...inGrid.size],
      spacingMm: [...inGrid.spacingMm],
      originMm: [...inGrid.originMm],
      direction: [...inGrid.direction],
      dataType: outData instanceof Uint16Array ? 'uint16' : 'uint8',
      data: outData,
      segments: m.output.labels.filter((l) => l.value !== 0).map((l): Segment => ({ value: l.value, name: l.name, color: [...l.color] })),
    };
    for (const pp of m.postprocessing) keepLargestComponent(labels, pp.labels === 'foreground' ? 'foreground' : pp.labels);
    const stats: SegmentStats = {
      device,
      networkWorkers: pool?.size ?? 1,
      threadsPerWorker: pool ? shape.threadsPerWorker : threads,
      tiles: nTiles,
      networkRuns: runs,
      networkShape: N,
      paddedShape: P,
      bandBytes,
      accumulation,
      heads: headsPerFold,
      networkWarm: warm !== undefined,
      seconds: { preprocess: (tPre - t0) / 1000, inference: (tInf - tInf0) / 1000, total: (performance.now() - t0) / 1000 },
    };
    return { labels, record: rec, stats, ...(probs ? { probabilities: probs } : {}) };
  } finally {
    if (!keep) {
      await (await early?.pool)?.close();
      // Sessions of a run that failed before its sliding window (an input refused by preprocessing, a band or
      // output allocation that failed): this run's own, or the warm ones it had not taken over yet.
      if (!sessionsSettled) for (const s of sessions) await s.release();
      if (!warmAdopted) for (const s of warm?.value.sessions ?? []) await s.release();
    }
  }
}

/** Cores ONNX Runtime uses by default. */
export const DEFAULT_THREADS = availableParallelism();
