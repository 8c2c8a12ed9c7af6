/**
 * The engine's CPU network pool (main/core/inference/network-pool.ts, tile-worker.ts) gives exactly the in-process
 * result: the same network-grid logits (every row, bit for bit) and label map for 1, 2 and 3 workers, with and
 * without mirroring TTA, one and two folds (float16 per-fold accumulators), float32 accumulation, 3-D and 2-D
 * networks and two input channels, with tasks of one mirror variant (few tiles) and of all variants of a tile (summed
 * in the worker). Cancelling between tiles stops the workers cleanly (no process abort), and a
 * failing worker start falls back to the in-process path with the same error a broken model gives there.
 * Small fixture networks on synthetic volumes (no real data needed).
 */
import { cpSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CancelledSignal } from '../../../main/common/errors';
import { segment, type SegmentOptions } from '../../../main/core/inference/engine';
import { networkCostFactor, poolShape, recordedBundle, type BundleRecord } from '../../../main/core/inference/network-pool';
import { loadModel } from '../../../main/core/models/registry';
import { ort } from '../../../main/core/inference/session';
import { PROJECT_ROOT } from '../../helpers/data';
import { phantom, segmentDigest } from '../../helpers/engine-runs';


const fixture = (name: string): string => `${PROJECT_ROOT}/test/fixtures/engine/${name}`;

const run = (model: string, channels: number, size: [number, number, number], opts: SegmentOptions) => segmentDigest(fixture(model), channels, size, opts);

describe('CPU network pool = in-process network', () => {
  const cases: [string, number, [number, number, number], SegmentOptions][] = [
    ['tcia-mr-2ch', 2, [70, 60, 20], { tta: true }],
    ['tcia-mr-2ch', 2, [70, 60, 20], { tta: false, folds: [1] }],
    ['multiclass-unet', 1, [45, 40, 14], { tta: true, accumulation: 'float32' }],
    ['multiclass-unet', 1, [90, 80, 40], { tta: false }],
    ['multiclass-2d', 1, [45, 40, 6], { tta: true }],
  ];
  for (const [model, channels, size, opts] of cases)
    it(`${model} ${JSON.stringify(opts)}`, { timeout: 300_000 }, async () => {
      const inProcess = await run(model, channels, size, { ...opts, networkWorkers: 1 });
      expect(inProcess.workers).toBe(1);
      for (const workers of [2, 3]) {
        const pooled = await run(model, channels, size, { ...opts, networkWorkers: workers });
        expect(pooled.workers).toBe(Math.min(workers, pooled.runs));
        expect(pooled.runs).toBe(inProcess.runs);
        expect(pooled.rows).toBe(inProcess.rows);
        expect(pooled.labels).toBe(inProcess.labels);
      }
    });

  it('cancelling after the first tile stops the workers and throws CancelledSignal', { timeout: 120_000 }, async () => {
    const m = await loadModel(fixture('multiclass-unet'));
    const ac = new AbortController();
    let tiles = 0;
    let total = 0;
    const p = segment(m, [phantom([90, 80, 40], 0)], {
      device: 'cpu',
      threads: 2,
      networkWorkers: 2,
      signal: ac.signal,
      onProgress: (pr) => {
        total = pr.total;
        if (pr.stage === 'inference' && pr.done > 0 && ++tiles === 1) ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledSignal);
    expect(total).toBeGreaterThan(2);
    expect(tiles).toBe(1);
    // The process is still healthy: a new run on the pool works.
    const again = await run('tcia-mr-2ch', 2, [70, 60, 20], { tta: true, folds: [1], networkWorkers: 2 });
    expect(again.workers).toBe(2);
  });

  it('in-process, cancelling stops between the mirror runs of a tile (not only between tiles)', { timeout: 120_000 }, async () => {
    const m = await loadModel(fixture('tcia-mr-2ch'));
    const ac = new AbortController();
    // onnxruntime-common types InferenceSession as a factory; at run time it is the session class.
    const proto = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
    const realRun = proto.run;
    let runs = 0;
    // Abort as the first network run of the first tile returns (the tile has 8 mirror runs).
    proto.run = async function (this: ort.InferenceSession, ...args: Parameters<ort.InferenceSession['run']>) {
      const out = await realRun.apply(this, args);
      if (++runs === 1) ac.abort();
      return out;
    } as ort.InferenceSession['run'];
    try {
      const p = segment(m, [phantom([70, 60, 20], 0), phantom([70, 60, 20], 1)], { device: 'cpu', threads: 2, networkWorkers: 1, tta: true, folds: [1], signal: ac.signal, keepWarm: false });
      await expect(p).rejects.toBeInstanceOf(CancelledSignal);
      expect(runs).toBe(1);
    } finally {
      proto.run = realRun;
    }
  });

  it('a fold file ONNX Runtime cannot load gives the in-process error naming the file', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'delineate-pool-'));
    try {
      cpSync(fixture('multiclass-unet'), dir, { recursive: true });
      writeFileSync(join(dir, 'fold_0.onnx'), Buffer.from('not an onnx model'));
      const m = await loadModel(dir, { verifyHashes: false });
      const lines: string[] = [];
      const err = await segment(m, [phantom([45, 40, 14], 0)], { device: 'cpu', threads: 2, networkWorkers: 2, log: (l) => lines.push(l) }).catch((e: unknown) => e);
      expect(String((err as Error).message)).toMatch(/fold_0\.onnx: could not start an ONNX Runtime session/);
      expect(lines.join('\n')).toMatch(/network workers unavailable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('poolShape: a worker per core up to 4, each with ≥ 0.75 M run-voxels of work, within the memory budget', () => {
    const bench = 24 * 128 * 128;
    expect(poolShape(2, 4, bench, 10)).toEqual({ workers: 2, threadsPerWorker: 1 });
    expect(poolShape(2, 1, bench, 10)).toEqual({ workers: 1, threadsPerWorker: 2 });
    expect(poolShape(2, 32, bench, 10)).toEqual({ workers: 2, threadsPerWorker: 1 });
    expect(poolShape(16, 1000, bench, 10)).toEqual({ workers: 4, threadsPerWorker: 4 });
    expect(poolShape(8, 12, bench, 10)).toEqual({ workers: 4, threadsPerWorker: 2 });
    expect(poolShape(8, 6, bench, 10)).toEqual({ workers: 3, threadsPerWorker: 2 });
    expect(poolShape(8, 3, bench, 10)).toEqual({ workers: 1, threadsPerWorker: 8 });
    expect(poolShape(2, 32, bench, 1.5)).toEqual({ workers: 1, threadsPerWorker: 2 });
    // The bundled 2d model (160² patch): fast preset on a 22-slice study in-process, accurate preset pooled.
    expect(poolShape(2, 22, 160 * 160, 10).workers).toBe(1);
    expect(poolShape(2, 264, 160 * 160, 10).workers).toBe(2);
    // nnU-Net's default widths (123 MB folds): 4 runs of the bench patch are worth two workers, 1 run never is.
    const wide = networkCostFactor(123e6);
    expect(networkCostFactor(9e6)).toBe(1);
    expect(wide).toBeCloseTo(12.9, 1);
    expect(poolShape(2, 2, bench, 10)).toEqual({ workers: 1, threadsPerWorker: 2 });
    expect(poolShape(2, 2, bench, 10, wide)).toEqual({ workers: 2, threadsPerWorker: 1 });
    expect(poolShape(4, 3, bench, 10, wide)).toEqual({ workers: 3, threadsPerWorker: 1 });
    expect(poolShape(2, 1, bench, 10, wide).workers).toBe(1);
  });

  it('a worker bundle recorded by an earlier process is reused only while every input file is unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'delineate-bundle-'));
    try {
      const entry = join(dir, 'tile-worker.ts');
      const dep = join(dir, 'session.ts');
      const bundle = join(dir, 'tile-worker-0123.mjs');
      writeFileSync(entry, 'import "./session";');
      writeFileSync(dep, 'export {};');
      writeFileSync(bundle, '// bundle');
      const stat = (p: string) => ({ size: statSync(p).size, mtimeMs: statSync(p).mtimeMs });
      const recordFile = join(dir, 'tile-worker.json');
      const write = (r: Partial<BundleRecord>): void => writeFileSync(recordFile, JSON.stringify(r));
      write({ entry, bundle, builder: 'b1', inputs: { [entry]: stat(entry), [dep]: stat(dep) } });
      expect(recordedBundle(recordFile, entry, 'b1')).toBe(bundle);
      // Another builder (esbuild version or options), another entry (another checkout), a missing record, a record
      // that is not JSON: no bundle.
      expect(recordedBundle(recordFile, entry, 'b2')).toBeUndefined();
      expect(recordedBundle(recordFile, join(dir, 'other.ts'), 'b1')).toBeUndefined();
      expect(recordedBundle(join(dir, 'none.json'), entry, 'b1')).toBeUndefined();
      writeFileSync(recordFile, '{');
      expect(recordedBundle(recordFile, entry, 'b1')).toBeUndefined();
      // A record that does not list the entry among its inputs: not trusted.
      write({ entry, bundle, builder: 'b1', inputs: { [dep]: stat(dep) } });
      expect(recordedBundle(recordFile, entry, 'b1')).toBeUndefined();
      // A dependency touched (same size, new mtime), then edited, then deleted: stale.
      write({ entry, bundle, builder: 'b1', inputs: { [entry]: stat(entry), [dep]: stat(dep) } });
      utimesSync(dep, new Date(), new Date(Date.now() + 5000));
      expect(recordedBundle(recordFile, entry, 'b1')).toBeUndefined();
      write({ entry, bundle, builder: 'b1', inputs: { [entry]: stat(entry), [dep]: stat(dep) } });
      expect(recordedBundle(recordFile, entry, 'b1')).toBe(bundle);
      writeFileSync(dep, 'export const x = 1;');
      expect(recordedBundle(recordFile, entry, 'b1')).toBeUndefined();
      write({ entry, bundle, builder: 'b1', inputs: { [entry]: stat(entry), [dep]: stat(dep) } });
      rmSync(dep);
      expect(recordedBundle(recordFile, entry, 'b1')).toBeUndefined();
      // The bundle itself gone: no bundle.
      writeFileSync(dep, 'export {};');
      write({ entry, bundle, builder: 'b1', inputs: { [entry]: stat(entry), [dep]: stat(dep) } });
      expect(recordedBundle(recordFile, entry, 'b1')).toBe(bundle);
      rmSync(bundle);
      expect(recordedBundle(recordFile, entry, 'b1')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
