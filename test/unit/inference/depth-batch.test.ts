/**
 * The engine's choice of the depth-as-batch graph on the CPU (engine.ts cpuDepthAsBatch, onnx-graph.ts
 * rewriteDepthAsBatch): used for 3-D networks whose activations fit the memory budget, not for 2-D networks,
 * many-class tiles split into heads or patches too large; a run with it gives the labels of the graph as exported
 * (apart from float32 ties) and says so in its log; `depthAsBatch: false` runs the graph as exported.
 */
import { describe, expect, it } from 'vitest';
import { cpuDepthAsBatch, cpuNetworkPool, DEPTH_BATCH_POOL_MAX_FOLD_BYTES, DEPTH_BATCH_POOL_MIN_RUNS_BIG_FOLD, segment, type SegmentOptions } from '../../../main/core/inference/engine';
import { loadModel } from '../../../main/core/models/registry';
import { PROJECT_ROOT } from '../../helpers/data';
import { phantom } from '../../helpers/engine-runs';

const fixture = (name: string): string => `${PROJECT_ROOT}/test/fixtures/engine/${name}`;

describe('depth-as-batch graph on the CPU', () => {
  it('is chosen for 3-D networks within the memory budget only', async () => {
    const unet = (await loadModel(fixture('multiclass-unet'))).manifest;
    expect(cpuDepthAsBatch(unet)).toBe(true);
    expect(cpuDepthAsBatch((await loadModel(fixture('multiclass-2d'))).manifest)).toBe(false);
    // A 512³ patch: 128 M voxels × 3 KB of activations is beyond a quarter of any machine's memory here.
    expect(cpuDepthAsBatch({ ...unet, patchSize: [512, 512, 512] })).toBe(false);
    // 200 classes on a 64³ patch: a tile's output (210 MB) ≥ 128 MiB, split into heads, memory-bound: as exported,
    // though the activations alone (0.8 GB) would fit.
    const labels = Array.from({ length: 200 }, (_, v) => ({ value: v, name: `class ${v}`, color: [v, v, v] as [number, number, number] }));
    const small = { ...unet, patchSize: [64, 64, 64] };
    expect(cpuDepthAsBatch(small)).toBe(true);
    expect(cpuDepthAsBatch({ ...small, output: { ...unet.output, kind: 'softmax', labels } } as typeof unet)).toBe(false);
  });

  it('a big fold’s few runs stay in this thread on all cores (one copy of weights and activations)', async () => {
    const unet = (await loadModel(fixture('multiclass-unet'))).manifest;
    const big = DEPTH_BATCH_POOL_MAX_FOLD_BYTES + 1;
    const few = DEPTH_BATCH_POOL_MIN_RUNS_BIG_FOLD - 1;
    expect(cpuNetworkPool(unet, few, 4, big, 1, true)).toEqual({ workers: 1, threadsPerWorker: 4 });
    // Three folds of that size: the rule is per fold.
    expect(cpuNetworkPool(unet, few, 4, 3 * big, 3, true)).toEqual({ workers: 1, threadsPerWorker: 4 });
    // Many runs: the ordinary pool rule decides, as for the graph as exported.
    const pooled = (runs: number, bytes: number, folds: number, depthAsBatch: boolean) => cpuNetworkPool(unet, runs, 4, bytes, folds, depthAsBatch);
    // (16×32×32 patch: any machine's memory budget allows several workers, and 448 runs are plenty of work.)
    expect(pooled(few * 64, big, 1, true).workers).toBeGreaterThan(1);
    expect(pooled(few * 64, big, 1, true).workers).toBe(pooled(few * 64, big, 1, false).workers);
  });

  for (const [name, channels, size, opts] of [
    ['multiclass-unet', 1, [90, 80, 40], { tta: false }],
    ['tcia-mr-2ch', 2, [70, 60, 20], { tta: true, folds: [1] }],
  ] as [string, number, [number, number, number], SegmentOptions][])
    it(`${name}: same labels as the graph as exported (apart from ties), logged`, { timeout: 300_000 }, async () => {
      const m = await loadModel(fixture(name));
      const inputs = Array.from({ length: channels }, (_, c) => phantom(size, c));
      const runWith = async (depthAsBatch: boolean): Promise<{ labels: Uint8Array | Uint16Array; logs: string[] }> => {
        const logs: string[] = [];
        const res = await segment(m, inputs, { device: 'cpu', threads: 2, keepWarm: false, ...opts, depthAsBatch, log: (s) => logs.push(s) });
        return { labels: res.labels.data as Uint8Array | Uint16Array, logs };
      };
      const slices = await runWith(true);
      const exported = await runWith(false);
      expect(slices.logs.some((l) => /3-D convolutions run as 2-D convolutions over depth slices/.test(l))).toBe(true);
      expect(exported.logs.some((l) => /depth slices/.test(l))).toBe(false);
      let differing = 0;
      for (let i = 0; i < slices.labels.length; i++) if (slices.labels[i] !== exported.labels[i]) differing++;
      expect(differing / slices.labels.length).toBeLessThan(1e-4);
    });
});
