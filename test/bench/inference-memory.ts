/**
 * Peak memory of the engine on a many-class model over a large CT-sized volume (run as its own process by
 * inference.bench.ts so that its peak RSS is its own): the synthetic 100-class model of
 * test/fixtures/engine/synthetic-100 (1.5 mm network spacing, patch 128³) on a synthetic 512×512×300 volume of
 * 0.78×0.78×1.5 mm. Prints one JSON line: peak RSS (VmHWM), band bytes, and what classes × volume × 4 bytes
 * would be at the original and at the network resolution, and the label map's SHA-256 (to compare settings).
 *
 * Usage: tsx test/bench/inference-memory.ts [--step 1] [--tta] [--accumulation float16|float32] [--size 512,512,300]
 *   [--head-classes n] (0: run the network whole, as before the body + heads split; default: the engine's choice)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { segment } from '../../main/core/inference/engine';
import { loadModel } from '../../main/core/models/registry';
import type { Volume } from '../../main/common/volume';
import { PROJECT_ROOT } from '../helpers/data';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const size = (arg('size') ?? '512,512,300').split(',').map(Number) as [number, number, number];
const step = Number(arg('step') ?? '0.5');
const accumulation = (arg('accumulation') ?? 'float16') as 'float16' | 'float32';
const headClasses = arg('head-classes');

function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

const [nx, ny, nz] = size;
const data = new Int16Array(nx * ny * nz);
// Smooth synthetic "CT": body ellipse with structures of many intensities, air outside.
for (let k = 0; k < nz; k++)
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      const x = (i - nx / 2) / (nx / 2.2);
      const y = (j - ny / 2) / (ny / 2.6);
      const inside = x * x + y * y < 1;
      data[i + nx * (j + ny * k)] = inside ? Math.round(400 * Math.sin(i / 23) * Math.cos(j / 17) + 300 * Math.sin(k / 11) + 40) : -1000;
    }
const volume: Volume = { size, spacingMm: [0.78, 0.78, 1.5], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'int16', data };
const model = await loadModel(`${PROJECT_ROOT}/test/fixtures/engine/synthetic-100`);
const t0 = performance.now();
const res = await segment(model, [volume], { device: 'cpu', tta: args.includes('--tta'), tileStepSize: step, accumulation, ...(headClasses !== undefined ? { headClasses: Number(headClasses) } : {}) });
const seconds = (performance.now() - t0) / 1000;
const classes = model.manifest.output.labels.length;
const labelsPresent = new Set(res.labels.data).size;
const net = res.stats.networkShape;
console.log(
  JSON.stringify({
    size,
    classes,
    labelsPresent,
    labelsSha256: createHash('sha256').update(res.labels.data).digest('hex'),
    accumulation,
    step,
    tiles: res.stats.tiles,
    heads: res.stats.heads,
    networkShape: net,
    seconds,
    peakRssBytes: peakRssBytes(),
    bandBytes: res.stats.bandBytes,
    fullLogitsOriginalBytes: classes * nx * ny * nz * 4,
    fullLogitsNetworkBytes: classes * net[0] * net[1] * net[2] * 4,
  }),
);
