/** Test helpers for engine runs on synthetic volumes: a deterministic phantom and a run summarised by digests. */
import { createHash } from 'node:crypto';
import type { Volume } from '../../main/common/volume';
import { segment, type SegmentOptions } from '../../main/core/inference/engine';
import { loadModel } from '../../main/core/models/registry';

/** A deterministic int16 phantom (channel `phase` shifts its pattern), spacing 1.2×1.2×2.5 mm. */
export function phantom(size: [number, number, number], phase: number): Volume {
  const [nx, ny, nz] = size;
  const data = new Int16Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++)
        data[i + nx * (j + ny * k)] = Math.round(300 * Math.sin(i / 5 + phase) * Math.cos(j / 7) + 200 * Math.sin(k / 3) + 20 * ((i * 7 + j * 13 + k * 3) % 11));
  return { size, spacingMm: [1.2, 1.2, 2.5], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'int16', data };
}

/**
 * Segment `channels` phantoms of `size` with the model in `modelDir` on the CPU (2 threads): SHA-256 of the label
 * map and of every network-grid row (bit for bit, in order), network runs, workers and whether the network was warm.
 */
export async function segmentDigest(
  modelDir: string,
  channels: number,
  size: [number, number, number],
  opts: SegmentOptions,
): Promise<{ labels: string; rows: string; runs: number; workers: number; warm: boolean }> {
  const m = await loadModel(modelDir);
  const h = createHash('sha256');
  const inputs = Array.from({ length: channels }, (_, c) => phantom(size, c));
  const res = await segment(m, inputs, { device: 'cpu', threads: 2, ...opts, onNetworkRow: (u, v) => h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).update(String(u)) });
  return { labels: createHash('sha256').update(res.labels.data).digest('hex'), rows: h.digest('hex'), runs: res.stats.networkRuns, workers: res.stats.networkWorkers, warm: res.stats.networkWarm };
}
