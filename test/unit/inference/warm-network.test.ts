/**
 * A network kept warm between segment() calls (main/core/inference/warm-network.ts): the next run with the same fold
 * files, device and settings reuses the sessions or the worker pool and gives the same network-grid logits and
 * labels, bit for bit; anything else (other settings, a touched fold file, another model) starts cold and frees
 * the kept one; a run that fails or is cancelled keeps nothing. Fixture networks on synthetic volumes.
 */
import { cpSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CancelledSignal } from '../../../main/common/errors';
import { segment, type SegmentOptions } from '../../../main/core/inference/engine';
import { keepWarmNetwork, releaseWarmNetwork, type WarmNetwork, warmNetworkKey } from '../../../main/core/inference/warm-network';
import { loadModel } from '../../../main/core/models/registry';
import { PROJECT_ROOT } from '../../helpers/data';
import { phantom, segmentDigest } from '../../helpers/engine-runs';


const tmp = mkdtempSync(join(tmpdir(), 'delineate-warm-'));
/** A private copy of a fixture model (so that touching its files affects no other test). */
function modelCopy(name: string): string {
  const dir = join(tmp, `${name}-${Math.random().toString(36).slice(2)}`);
  cpSync(`${PROJECT_ROOT}/test/fixtures/engine/${name}`, dir, { recursive: true });
  return dir;
}

const run = segmentDigest;

afterEach(async () => {
  await releaseWarmNetwork();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('network kept warm between runs', () => {
  const cases: [string, number, [number, number, number], SegmentOptions][] = [
    ['tcia-mr-2ch', 2, [70, 60, 20], { tta: true, networkWorkers: 1 }],
    ['tcia-mr-2ch', 2, [70, 60, 20], { tta: true, networkWorkers: 2 }],
    ['multiclass-unet', 1, [45, 40, 14], { tta: false, networkWorkers: 1, headClasses: 2 }],
    ['multiclass-2d', 1, [45, 40, 6], { tta: true, networkWorkers: 2 }],
  ];
  for (const [model, channels, size, opts] of cases)
    it(`${model} ${JSON.stringify(opts)}: the second run is warm and gives the same logits and labels`, { timeout: 300_000 }, async () => {
      const dir = modelCopy(model);
      const cold = await run(dir, channels, size, { ...opts, keepWarm: false });
      expect(cold.warm).toBe(false);
      expect(warmNetworkKey()).toBeUndefined();
      const first = await run(dir, channels, size, opts);
      expect(first.warm).toBe(false);
      expect(warmNetworkKey()).toBeDefined();
      const second = await run(dir, channels, size, opts);
      expect(second.warm).toBe(true);
      expect(second.workers).toBe(first.workers);
      for (const r of [first, second]) {
        expect(r.rows).toBe(cold.rows);
        expect(r.labels).toBe(cold.labels);
      }
    });

  it('other settings, a touched fold file or another model start cold', { timeout: 300_000 }, async () => {
    const dir = modelCopy('tcia-mr-2ch');
    const size: [number, number, number] = [70, 60, 20];
    const opts: SegmentOptions = { tta: false, networkWorkers: 1 };
    expect((await run(dir, 2, size, opts)).warm).toBe(false);
    const key = warmNetworkKey();
    // Other folds: another key (the kept network is freed first).
    expect((await run(dir, 2, size, { ...opts, folds: [1] })).warm).toBe(false);
    expect(warmNetworkKey()).not.toBe(key);
    expect((await run(dir, 2, size, { ...opts, folds: [1] })).warm).toBe(true);
    // A fold file rewritten or touched since: cold.
    const m = await loadModel(dir);
    const later = new Date(Date.now() + 5000);
    utimesSync(m.folds.find((f) => f.fold === 1)!.path, later, later);
    expect((await run(dir, 2, size, { ...opts, folds: [1] })).warm).toBe(false);
    // Another model.
    expect((await run(modelCopy('multiclass-unet'), 1, [45, 40, 14], opts)).warm).toBe(false);
    expect((await run(dir, 2, size, { ...opts, folds: [1] })).warm).toBe(false);
  });

  it('two runs ending at once: the later one is kept, the other released, none lost', async () => {
    const released: string[] = [];
    const net = (key: string, releaseMs = 0): WarmNetwork => ({
      key,
      value: null,
      release: async () => {
        await new Promise((r) => setTimeout(r, releaseMs));
        released.push(key);
      },
    });
    await keepWarmNetwork(net('x', 50));
    // 'a' is still releasing the slow 'x' when 'b' arrives.
    await Promise.all([keepWarmNetwork(net('a')), keepWarmNetwork(net('b'))]);
    expect(warmNetworkKey()).toBe('b');
    expect(released.sort()).toEqual(['a', 'x']);
  });

  it('a failed or cancelled run keeps nothing (and frees what it took)', { timeout: 300_000 }, async () => {
    const dir = modelCopy('tcia-mr-2ch');
    const size: [number, number, number] = [70, 60, 20];
    for (const networkWorkers of [1, 2]) {
      const opts: SegmentOptions = { tta: true, networkWorkers };
      await run(dir, 2, size, opts);
      expect(warmNetworkKey()).toBeDefined();
      // Cancelled before the first tile (the network was taken at the start): released, nothing kept.
      const ac = new AbortController();
      const cancelled = await run(dir, 2, size, { ...opts, signal: ac.signal, onProgress: (p) => p.stage === 'inference' && p.done === 0 && ac.abort() }).then(() => undefined, (e: unknown) => e);
      expect(cancelled).toBeInstanceOf(CancelledSignal);
      expect(warmNetworkKey()).toBeUndefined();
      // Taken, then the input is refused by preprocessing (non-finite voxels): nothing kept.
      await run(dir, 2, size, opts);
      const m = await loadModel(dir);
      const bad = [phantom(size, 0), phantom(size, 1)].map((v) => ({ ...v, dataType: 'float32' as const, data: Float32Array.from(v.data, (x, i) => (i === 5 ? Number.NaN : x)) }));
      await expect(segment(m, bad, { device: 'cpu', threads: 2, ...opts })).rejects.toThrow();
      expect(warmNetworkKey()).toBeUndefined();
    }
  });
});
