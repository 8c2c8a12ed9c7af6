/**
 * The engine with many-class networks split into a body and pointwise heads (SegmentOptions.headClasses,
 * main/core/inference/onnx-graph.ts) gives exactly the result of the whole network: the same network-grid logits
 * (every row, bit for bit, float16 and float32 accumulation) and the same label map, with and without mirroring
 * TTA — covering both ways the TTA sum is formed (feature maps held per head, or one classes × patch sum) and a
 * head that reads the network input directly. Small 12-class fixtures from test/reference/make_multiclass_fixtures.py
 * on a synthetic volume (no real data needed).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Volume } from '../../../main/common/volume';
import { segment, type SegmentOptions } from '../../../main/core/inference/engine';
import { loadModel } from '../../../main/core/models/registry';
import { PROJECT_ROOT } from '../../helpers/data';

function phantom(size: [number, number, number]): Volume {
  const [nx, ny, nz] = size;
  const data = new Int16Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = Math.round(300 * Math.sin(i / 5) * Math.cos(j / 7) + 200 * Math.sin(k / 3) + 20 * ((i * 7 + j * 13 + k * 3) % 11));
  return { size, spacingMm: [1.2, 1.2, 2.5], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'int16', data };
}

async function run(model: string, opts: SegmentOptions): Promise<{ labels: string; rows: string; heads: number; runs: number }> {
  const m = await loadModel(`${PROJECT_ROOT}/test/fixtures/engine/${model}`);
  const h = createHash('sha256');
  const res = await segment(m, [phantom([45, 40, 14])], { device: 'cpu', ...opts, onNetworkRow: (u, v) => h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).update(String(u)) });
  return { labels: createHash('sha256').update(res.labels.data).digest('hex'), rows: h.digest('hex'), heads: res.stats.heads, runs: res.stats.networkRuns };
}

describe('body + pointwise heads = whole network', () => {
  const cases: [string, SegmentOptions][] = [
    ['multiclass-unet', { tta: false }],
    ['multiclass-unet', { tta: true }],
    ['multiclass-2d', { tta: true }],
    ['multiclass-pointwise', { tta: true }],
    ['multiclass-pointwise', { tta: false, accumulation: 'float32' }],
  ];
  for (const [model, opts] of cases)
    it(`${model} ${JSON.stringify(opts)}`, { timeout: 300_000 }, async () => {
      const whole = await run(model, { ...opts, headClasses: 0 });
      expect(whole.heads).toBe(1);
      // At most 3 classes per head (4 heads of 3) and at most 5 (3 heads of 4).
      for (const headClasses of model === 'multiclass-unet' ? [3, 5] : [5]) {
        const split = await run(model, { ...opts, headClasses });
        expect(split.heads).toBe(headClasses === 3 ? 4 : 3);
        expect(split.runs).toBe(whole.runs);
        expect(split.rows).toBe(whole.rows);
        expect(split.labels).toBe(whole.labels);
      }
    });
});
