import { describe, expect, it } from 'vitest';
import type { Vec3, Volume } from '../../../main/common/volume';
import { surfaceMetrics } from '../../../main/core/metrics/binary';
import { squaredDistanceTransform } from '../../../main/core/metrics/edt';
import { compareLabelmaps } from '../../../main/core/metrics/labelmap';
import { percentile } from '../../../main/core/metrics/percentile';
import { surfaceVoxels } from '../../../main/core/metrics/surface';
import { DICE_TOLERANCE, NSD_TOLERANCE, close, distanceTolerance, expectedHd95, loadReference, maskFromRuns, refNumber } from './reference';

const reference = loadReference();

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('squaredDistanceTransform (Felzenszwalb–Huttenlocher)', () => {
  it('equals brute force on random anisotropic grids', () => {
    const rand = rng(1);
    for (const [size, spacing, density] of [
      [[9, 7, 5], [0.7, 1.3, 2.9], 0.05],
      [[1, 6, 11], [1, 0.5, 0.25], 0.1],
      [[13, 1, 1], [2, 1, 1], 0.2],
      [[6, 6, 6], [1, 1, 1], 0.003],
    ] as [Vec3, Vec3, number][]) {
      const n = size[0] * size[1] * size[2];
      const sites = new Uint8Array(n);
      for (let x = 0; x < n; x++) sites[x] = rand() < density ? 1 : 0;
      if (!sites.some((s) => s)) sites[Math.floor(n / 2)] = 1;
      const d2 = squaredDistanceTransform(sites, size, spacing);
      const pts: Vec3[] = [];
      for (let x = 0; x < n; x++) if (sites[x]) pts.push([x % size[0], Math.floor(x / size[0]) % size[1], Math.floor(x / (size[0] * size[1]))]);
      for (let x = 0; x < n; x++) {
        const q: Vec3 = [x % size[0], Math.floor(x / size[0]) % size[1], Math.floor(x / (size[0] * size[1]))];
        let best = Infinity;
        for (const p of pts) best = Math.min(best, ((p[0] - q[0]) * spacing[0]) ** 2 + ((p[1] - q[1]) * spacing[1]) ** 2 + ((p[2] - q[2]) * spacing[2]) ** 2);
        expect(Math.abs(d2[x]! - best)).toBeLessThanOrEqual(1e-9 * Math.max(1, best));
      }
    }
  });

  it('is +Infinity everywhere without sites', () => {
    const d2 = squaredDistanceTransform(new Uint8Array(24), [2, 3, 4], [1, 1, 1]);
    expect([...d2].every((v) => v === Infinity)).toBe(true);
  });
});

describe('surfaceVoxels', () => {
  it('keeps the interior of a 3×3×3 cube out and counts the grid edge as background', () => {
    const size: Vec3 = [5, 5, 5];
    const m = new Uint8Array(125);
    for (let k = 1; k < 4; k++) for (let j = 1; j < 4; j++) for (let i = 1; i < 4; i++) m[i + 5 * (j + 5 * k)] = 1;
    expect(surfaceVoxels(m, size).count).toBe(26);
    expect(surfaceVoxels(m, size).surface[2 + 5 * (2 + 5 * 2)]).toBe(0);
    // A full grid: every voxel on the grid's faces is a surface voxel.
    expect(surfaceVoxels(new Uint8Array(27).fill(1), [3, 3, 3]).count).toBe(26);
  });
});

describe('percentile (NumPy linear)', () => {
  it.each(reference.percentiles.map((c, n) => [n, c] as const))('case %i', (_n, c) => {
    expect(Math.abs(percentile(c.values, c.q) - c.expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(c.expected)));
  });
});

function volumeOf(data: Uint8Array, size: Vec3, spacingMm: Vec3): Volume {
  return { size, spacingMm, originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'uint8', data };
}

describe('metrics vs MONAI / nnU-Net on synthetic edge cases', () => {
  it.each(reference.synthetic.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const n = c.shape[0] * c.shape[1] * c.shape[2];
    const pred = maskFromRuns(c.predRuns, n);
    const ref = maskFromRuns(c.refRuns, n);
    const want = c.metrics;
    for (const tol of reference.tolerancesMm) {
      const { metrics } = await compareLabelmaps(volumeOf(pred, c.shape, c.spacingMm), volumeOf(ref, c.shape, c.spacingMm), { labels: [1], toleranceMm: tol });
      const got = metrics[0]!;
      expect(got.tp).toBe(want.tp);
      expect(got.fp).toBe(want.fp);
      expect(got.fn).toBe(want.fn);
      expect(close(got.dice, refNumber(want.dice), DICE_TOLERANCE)).toBe(true);
      expect(close(got.iou, refNumber(want.iou), DICE_TOLERANCE)).toBe(true);
      expect(close(got.nsd, refNumber(want.nsd[String(tol.toFixed(1))]!), NSD_TOLERANCE), `nsd@${tol}: ${got.nsd} vs ${JSON.stringify(want.nsd)}`).toBe(true);
      expect(close(got.hdMm, refNumber(want.hdMm), distanceTolerance(refNumber(want.hdMm)))).toBe(true);
      expect(close(got.assdMm, refNumber(want.assdMm), distanceTolerance(refNumber(want.assdMm)))).toBe(true);
      expect(close(got.hd95Mm, expectedHd95(want), distanceTolerance(refNumber(want.hd95Mm))), `hd95 ${got.hd95Mm} vs ${want.hd95Mm}`).toBe(true);
      expect(got.predVolumeMl).toBeCloseTo(want.predVolumeMl, 12);
      expect(got.refVolumeMl).toBeCloseTo(want.refVolumeMl, 12);
    }
  });
});

describe('surfaceMetrics invariants', () => {
  it('does not depend on cropping (box with margin vs full grid)', () => {
    const rand = rng(5);
    const size: Vec3 = [20, 18, 9];
    const n = size[0] * size[1] * size[2];
    const a = new Uint8Array(n);
    const b = new Uint8Array(n);
    for (let k = 3; k < 7; k++) for (let j = 4; j < 14; j++) for (let i = 5; i < 15; i++) {
      const x = i + size[0] * (j + size[1] * k);
      a[x] = rand() < 0.9 ? 1 : 0;
      b[x] = rand() < 0.7 ? 1 : 0;
    }
    const full = surfaceMetrics(a, b, size, [0.6, 0.9, 3], 1.5);
    const cs: Vec3 = [12, 12, 6];
    const ca = new Uint8Array(cs[0] * cs[1] * cs[2]);
    const cb = new Uint8Array(ca.length);
    for (let k = 0; k < cs[2]; k++) for (let j = 0; j < cs[1]; j++) for (let i = 0; i < cs[0]; i++) {
      const x = i + 4 + size[0] * (j + 3 + size[1] * (k + 2));
      ca[i + cs[0] * (j + cs[1] * k)] = a[x]!;
      cb[i + cs[0] * (j + cs[1] * k)] = b[x]!;
    }
    const cropped = surfaceMetrics(ca, cb, cs, [0.6, 0.9, 3], 1.5);
    expect(cropped.predSurfaceVoxels).toBe(full.predSurfaceVoxels);
    expect(cropped.refSurfaceVoxels).toBe(full.refSurfaceVoxels);
    expect(cropped.nsd).toBe(full.nsd);
    for (const key of ['hd95Mm', 'hdMm', 'assdMm'] as const) expect(Math.abs(cropped[key] - full[key])).toBeLessThan(1e-12);
  });

  it('is symmetric in HD95/HD/ASSD/NSD when prediction and reference swap', () => {
    const c = reference.synthetic.find((s) => s.name === 'random-blobs-1')!;
    const n = c.shape[0] * c.shape[1] * c.shape[2];
    const p = maskFromRuns(c.predRuns, n);
    const r = maskFromRuns(c.refRuns, n);
    const ab = surfaceMetrics(p, r, c.shape, c.spacingMm, 1);
    const ba = surfaceMetrics(r, p, c.shape, c.spacingMm, 1);
    expect(ba.hd95Mm).toBe(ab.hd95Mm);
    expect(ba.hdMm).toBe(ab.hdMm);
    expect(ba.assdMm).toBeCloseTo(ab.assdMm, 12);
    expect(ba.nsd).toBeCloseTo(ab.nsd, 12);
  });
});
