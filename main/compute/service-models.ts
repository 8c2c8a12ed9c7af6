/**
 * The models panel's time estimate (issue 5): 'models.estimate' says how long `segment.run` with the same model,
 * inputs, device and preset would take on this machine, before it runs.
 *
 * - Work: the engine's exact tile count for these inputs (main/core/inference/plan: the network grid preprocessing
 *   makes — crop to non-zero, target spacing — and the sliding window over it), times the preset's network runs per
 *   tile (fast: fold 0, no TTA = 1; accurate: all folds × 2^mirror axes), as `segment.run` counts them.
 * - Cost of one network run: one run of the fold's ONNX on a zero patch on the chosen device, timed (session creation
 *   not counted); on the CPU at the thread count of one of the engine's network workers, divided by the number of
 *   workers that will share the runs (engine `cpuNetworkPool`) — as if they scaled perfectly, so the estimate
 *   leaves out the workers' start and any uneven last round. A first run that takes under {@link WARM_RUN_BELOW_S} is followed by a second one and the faster
 *   is kept: a small network's first run is mostly one-time set-up (the 2D fixture net: 186 ms first, 3 ms after),
 *   while a large one's first run is representative and a second would double the wait. Cached per model, fold file
 *   (path, size, modification time) and device for the life of the compute process.
 *
 * The estimate counts network time only; preprocessing and export add to a real run (see the report in the tests).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelEstimate, SegmentPreset } from '../common/api';
import { DelineateError, throwIfCancelled } from '../common/errors';
import { networkInputChannels } from '../common/manifest';
import type { JobOptions } from '../common/progress';
import type { Grid, Volume, VolumeInfo } from '../common/volume';
import { bigTileOutput, cpuDepthAsBatch, cpuNetworkPool } from '../core/inference/engine';
import { rewriteDepthAsBatch, rewriteStridedConvTranspose } from '../core/inference/onnx-graph';
import { networkGeometry, networkRunsPerTile, slidingWindowPlan } from '../core/inference/plan';
import { createSession, DEVICE_NAMES, type DeviceName, ort, resolveDevice } from '../core/inference/session';
import { gridOfInfo, modelInputInfos } from './model-inputs';
import { loadModel, type LoadedModel } from '../core/models/registry';

/** How the estimator reaches the scanned volumes (by service id). */
export interface ModelsServiceHost {
  /** The core's VolumeInfo of a scanned volume (NOT_FOUND error for an unknown id). */
  info(volumeId: string): VolumeInfo;
  /** Read its voxels (only needed for models that crop to the non-zero region). */
  read(info: VolumeInfo, options: JobOptions): Promise<Volume>;
}

/** Params of 'models.estimate' (as validated by {@link validateEstimateParams}). */
export interface EstimateParams {
  modelId: string;
  volumeIds: string[];
  device: string;
  preset: SegmentPreset;
}

/** The fields 'models.estimate' accepts. */
export const ESTIMATE_PARAM_FIELDS = ['modelId', 'volumeIds', 'device', 'preset'] as const;

/** A first timed run shorter than this (seconds) is repeated once and the faster kept (see the module doc). */
export const WARM_RUN_BELOW_S = 1;

/** Tile plans kept (one per model + inputs; both presets of one mapping share one). */
const KEPT_PLANS = 8;

/** Input series of one estimate (as segment.run). */
const MAX_INPUTS = 16;

function fail(field: string, message: string, code: 'USAGE' | 'PROTOCOL' = 'USAGE'): never {
  throw new DelineateError(code, message, { subject: `params.${field}` });
}

/** Check the params of 'models.estimate' (already known to be an object with only {@link ESTIMATE_PARAM_FIELDS}). */
export function validateEstimateParams(p: Record<string, unknown>): EstimateParams {
  const m = 'models.estimate';
  if (typeof p.modelId !== 'string') fail('modelId', `'${m}' needs params.modelId as a string`, 'PROTOCOL');
  if (p.modelId === '') fail('modelId', `'${m}' needs a non-empty params.modelId`);
  const ids = p.volumeIds;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((v) => typeof v !== 'string' || v === ''))
    fail('volumeIds', `'${m}' needs params.volumeIds as a non-empty array of volume ids`, 'PROTOCOL');
  if (ids.length > MAX_INPUTS) fail('volumeIds', `params.volumeIds lists more than ${MAX_INPUTS} series`);
  if (typeof p.device !== 'string') fail('device', `'${m}' needs params.device as a string`, 'PROTOCOL');
  if (!(DEVICE_NAMES as readonly string[]).includes(p.device)) fail('device', `params.device must be one of ${DEVICE_NAMES.join(', ')}, got '${p.device}'`);
  if (p.preset !== 'fast' && p.preset !== 'accurate') fail('preset', `params.preset must be 'fast' or 'accurate', got ${JSON.stringify(p.preset)}`);
  return { modelId: p.modelId, volumeIds: ids as string[], device: p.device, preset: p.preset };
}


/**
 * Seconds of one network run of an ONNX fold file on a zero patch of the model's input shape, on `device` with
 * `threads` intra-op threads on the CPU (default all cores; session creation excluded; see the module doc for the
 * second run of small networks).
 */
export async function timeNetworkRun(model: LoadedModel, foldPath: string, device: Exclude<DeviceName, 'auto'>, threads?: number): Promise<number> {
  const m = model.manifest;
  const cin = networkInputChannels(m);
  const dims = [1, cin, ...m.patchSize];
  const tileVox = m.patchSize.reduce((a, b) => a * b, 1);
  // As the engine: no memory arena when one tile's output is ≥ 128 MiB; on the CPU the depth-as-batch graph where it
  // applies, else (and on WebGPU) the ConvTranspose rewrite.
  const bigTiles = bigTileOutput(m);
  const graph = (source: Uint8Array): Uint8Array | undefined => (device === 'cpu' && cpuDepthAsBatch(m) ? rewriteDepthAsBatch(source).model : null) ?? rewriteStridedConvTranspose(source)?.model;
  let rewritten: Uint8Array | undefined;
  // A file that cannot be read or parsed here is left to createSession's error, which names it.
  if (device === 'cpu' || device === 'webgpu') rewritten = await readFile(foldPath).then((b) => graph(new Uint8Array(b)), () => undefined).catch(() => undefined);
  const session = await createSession(rewritten ?? foldPath, { device, memArena: !bigTiles, ...(threads ? { threads } : {}) }, foldPath);
  try {
    const input = new Float32Array(cin * tileVox);
    const once = async (): Promise<number> => {
      const t0 = performance.now();
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await session.run({ [m.onnx.inputName]: new ort.Tensor('float32', input, dims) }, [m.onnx.outputName]);
      } catch (e) {
        throw new DelineateError('MODEL', `Model ${m.id}: ONNX Runtime failed on a ${dims.join('×')} patch of ${foldPath}: ${(e as Error).message}`, { subject: foldPath, cause: e });
      }
      const seconds = (performance.now() - t0) / 1000;
      for (const t of Object.values(out)) t.dispose();
      return seconds;
    };
    const first = await once();
    return first < WARM_RUN_BELOW_S ? Math.min(first, await once()) : first;
  } finally {
    await session.release();
  }
}

/** 'models.estimate' over the volumes the service knows. */
export class ModelsEstimator {
  /** `${modelId}\0${fold file}\0${size}:${mtime}\0${device}\0${threads}` → seconds per network run. */
  private readonly perRun = new Map<string, number>();
  /** `${modelId}\0${manifest mtime}\0${volume keys}` → tiles, least recently used first. */
  private readonly plans = new Map<string, number>();

  constructor(private readonly host: ModelsServiceHost) {}

  async estimate(p: EstimateParams, options: JobOptions): Promise<ModelEstimate> {
    const model = await loadModel(p.modelId, { verifyHashes: false });
    const m = model.manifest;
    const infos = modelInputInfos(m, p.volumeIds, (id) => this.host.info(id));
    const tiles = await this.tiles(model, infos, options);
    const fast = p.preset === 'fast';
    const folds = fast ? [model.folds[0]!] : model.folds;
    const networkRuns = tiles * networkRunsPerTile(m, { tta: !fast, folds: folds.length });
    const device = resolveDevice(p.device as DeviceName);
    // On the CPU the engine runs the network in a pool of workers (cpuNetworkPool): time one run at a worker's
    // thread count; the workers share the runs.
    let modelBytes = 0;
    for (const f of folds) modelBytes += (await stat(f.path)).size;
    const pool = device === 'cpu' ? cpuNetworkPool(m, networkRuns, undefined, modelBytes, folds.length) : { workers: 1, threadsPerWorker: undefined };
    let sum = 0;
    for (const f of folds) {
      throwIfCancelled(options.signal);
      sum += await this.secondsPerRun(model, f.path, device, pool.workers > 1 ? pool.threadsPerWorker : undefined);
    }
    const secondsPerRun = sum / folds.length / pool.workers;
    return { device, tiles, networkRuns, secondsPerRun, estimatedSeconds: networkRuns * secondsPerRun, basis: 'calibrated' };
  }

  private async tiles(model: LoadedModel, infos: VolumeInfo[], options: JobOptions): Promise<number> {
    const m = model.manifest;
    const manifestMtime = (await stat(join(model.dir, 'manifest.json'))).mtimeMs;
    const key = [m.id, model.dir, manifestMtime, ...infos.map((i) => `${i.source}\x01${i.id}\x01${i.files.length}\x01${i.size.join('x')}`)].join('\0');
    const cached = this.plans.get(key);
    if (cached !== undefined) {
      this.plans.delete(key);
      this.plans.set(key, cached);
      return cached;
    }
    let inputs: (Volume | Grid)[] = [gridOfInfo(infos[0]!)];
    if (m.cropToNonzero) {
      inputs = [];
      for (let i = 0; i < infos.length; i++) {
        options.onProgress?.({ stage: 'load', done: i, total: infos.length, detail: infos[i]!.source });
        inputs.push(await this.host.read(infos[i]!, options));
        throwIfCancelled(options.signal);
      }
    }
    const tiles = slidingWindowPlan(m, networkGeometry(m, inputs).networkShape).tiles;
    this.plans.set(key, tiles);
    while (this.plans.size > KEPT_PLANS) this.plans.delete(this.plans.keys().next().value!);
    return tiles;
  }

  private async secondsPerRun(model: LoadedModel, foldPath: string, device: Exclude<DeviceName, 'auto'>, threads?: number): Promise<number> {
    const st = await stat(foldPath);
    const key = `${model.manifest.id}\0${foldPath}\0${st.size}:${st.mtimeMs}\0${device}\0${threads ?? 'all'}`;
    const cached = this.perRun.get(key);
    if (cached !== undefined) return cached;
    const seconds = await timeNetworkRun(model, foldPath, device, threads);
    this.perRun.set(key, seconds);
    return seconds;
  }
}
