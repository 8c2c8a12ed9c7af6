/**
 * The banded export equals resampling the whole logit volume at once (the nnU-Net way), and keep-largest-component
 * post-processing keeps exactly the largest 26-connected component.
 */
import { describe, expect, it } from 'vitest';
import { RowExporter, RowLabeller, type RowSink } from '../../../main/core/inference/export';
import { HALF_TO_FLOAT, halfBitsFromFloat64 } from '../../../main/core/inference/half';
import { keepLargestComponent } from '../../../main/core/inference/postprocess';
import { axisOrders, resizeChannel, separateZAxis } from '../../../main/core/inference/resample';
import { mirrorCombinations } from '../../../main/core/inference/tta';
import type { Labelmap } from '../../../main/common/volume';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

describe('RowExporter (banded resampling back)', () => {
  const cases: { net: [number, number, number]; out: [number, number, number]; netSp: number[]; outSp: number[]; order: 0 | 1 | 3 }[] = [
    { net: [7, 9, 11], out: [13, 6, 17], netSp: [1, 1, 1], outSp: [0.55, 1.5, 0.65], order: 1 }, // order 1, all axes
    { net: [6, 20, 18], out: [6, 31, 27], netSp: [5, 1.3, 1.3], outSp: [5, 0.84, 0.87], order: 3 }, // separate z (axis 0), order 3 in-plane, clip per slice
    { net: [5, 8, 8], out: [11, 12, 10], netSp: [4, 1, 1], outSp: [1.8, 0.7, 0.8], order: 1 }, // separate z, z upsampled order 0
    { net: [13, 9, 11], out: [7, 6, 17], netSp: [0.55, 1.5, 0.65], outSp: [1, 1, 1], order: 1 }, // order 1, axis 0 downsampled (rows feed two outputs)
    { net: [4, 9, 7], out: [25, 14, 12], netSp: [1, 1, 1], outSp: [0.16, 0.64, 0.58], order: 1 }, // axis 0 upsampled 6× (in-plane resizes reused)
  ];
  for (const c of cases)
    it(`${c.net} → ${c.out}, order ${c.order}`, () => {
      const A = 3;
      const r = rng(42);
      const nNet = c.net[0] * c.net[1] * c.net[2];
      const logits = Float32Array.from({ length: A * nNet }, () => r() * 5);
      const sep = separateZAxis(null, c.netSp, c.outSp, 3);
      const orders = axisOrders(3, c.order, 0, sep);
      const got = new Float32Array(A * c.out[0] * c.out[1] * c.out[2]);
      const plane = c.out[1] * c.out[2];
      let ended = 0;
      const ex = new RowExporter(A, c.net, c.out, orders, sep, 'float32', {
        plane: (o, a, v) => got.set(v.subarray(0, plane), (a * c.out[0] + o) * plane),
        end: () => void ended++,
      });
      expect(ex.buffersWholeVolume).toBe(false);
      const np = c.net[1] * c.net[2];
      for (let u = 0; u < c.net[0]; u++) {
        const row = new Float32Array(A * np);
        for (let a = 0; a < A; a++) row.set(logits.subarray((a * c.net[0] + u) * np, (a * c.net[0] + u + 1) * np), a * np);
        ex.push(u, row);
      }
      expect(ended).toBe(c.out[0]);
      let maxDiff = 0;
      const nOut = c.out[0] * plane;
      for (let a = 0; a < A; a++) {
        const ref = resizeChannel(logits.subarray(a * nNet, (a + 1) * nNet), c.net, c.out, c.order, 0, sep);
        for (let i = 0; i < nOut; i++) maxDiff = Math.max(maxDiff, Math.abs(Math.fround(ref[i]!) - got[a * nOut + i]!));
      }
      expect(maxDiff).toBeLessThan(1e-5);
    });

  it('softmax labels from the values before the float16 cast = labels from the cast values (near-ties included)', () => {
    const softmax = { kind: 'softmax' } as ConstructorParameters<typeof RowLabeller>[0];
    const n = 60_000;
    const A = 4;
    const r = rng(7);
    const half = (x: number): number => HALF_TO_FLOAT[halfBitsFromFloat64(x)]!;
    // Values on and around float16 steps: equal halves, midpoints (ties to even), a double's step either side,
    // subnormal halves, large magnitudes and overflow, NaN.
    const base = Float64Array.from({ length: n }, () => half(r() * 8));
    const planes = Array.from({ length: A }, (_, c) =>
      Float64Array.from(base, (b, i) => {
        const k = (i * 7 + c * 13) % 11;
        const step = Math.abs(b) * 2 ** -10 || 2 ** -24;
        if (k === 0) return b;
        if (k === 1) return b + step / 2;
        if (k === 2) return b + step / 2 + Math.abs(b) * 2 ** -52;
        if (k === 3) return b - step / 2;
        if (k === 4) return b + step * (r() + 1);
        if (k === 5) return r() * 2 ** -20;
        if (k === 6) return 65504 + r() * 40;
        if (k === 7 && i % 997 === 0) return NaN;
        return b + r() * step * 3;
      }),
    );
    const labelsOf = (beforeCast: boolean): Uint16Array => {
      let out = new Uint16Array(0);
      const labeller = new RowLabeller(softmax, n, A, false, (_row, labels) => (out = labels.slice()));
      for (let c = 0; c < A; c++) {
        if (beforeCast) labeller.planeBeforeHalfCast!(0, c, planes[c]!);
        else labeller.plane(0, c, Float32Array.from(planes[c]!, half));
      }
      labeller.end(0);
      return out;
    };
    const fast = labelsOf(true);
    const cast = labelsOf(false);
    let differing = 0;
    for (let i = 0; i < n; i++) if (fast[i] !== cast[i]) differing++;
    expect(differing).toBe(0);
    // Enough near-ties that the exact compare was needed: labels differ from a plain argmax of the raw values.
    let rawDiffers = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < A; c++) if (planes[c]![i]! > planes[best]![i]!) best = c;
      if (best !== cast[i]) rawDiffers++;
    }
    expect(rawDiffers).toBeGreaterThan(1000);
  });

  it('the exporter gives the same labels through a sink that takes values before the cast as through one that does not', () => {
    const softmax = { kind: 'softmax' } as ConstructorParameters<typeof RowLabeller>[0];
    for (const c of cases) {
      const A = 3;
      const r = rng(3);
      const np = c.net[1] * c.net[2];
      // Logits on a coarse grid of values so that resampled classes often tie after the float16 cast.
      const rows = Array.from({ length: c.net[0] }, () => Float32Array.from({ length: A * np }, () => Math.round(r() * 8) / 4));
      const plane = c.out[1] * c.out[2];
      const run = (wrap: boolean): Uint16Array => {
        const labels = new Uint16Array(c.out[0] * plane);
        const labeller = new RowLabeller(softmax, plane, A, false, (o, l) => labels.set(l, o * plane));
        const sink: RowSink = wrap ? { plane: (o, a, v) => labeller.plane(o, a, v), end: (o) => labeller.end(o) } : labeller;
        const sep = separateZAxis(null, c.netSp, c.outSp, 3);
        const ex = new RowExporter(A, c.net, c.out, axisOrders(3, c.order, 0, sep), sep, 'float16', sink);
        rows.forEach((row, u) => ex.push(u, row));
        return labels;
      };
      expect(Buffer.from(run(false).buffer).equals(Buffer.from(run(true).buffer)), `${c.net} → ${c.out}`).toBe(true);
    }
  });
});

describe('keepLargestComponent', () => {
  it('keeps the largest 26-connected component per label and for the foreground', () => {
    const size: [number, number, number] = [6, 5, 4];
    const data = new Uint8Array(120);
    const at = (i: number, j: number, k: number) => i + 6 * (j + 5 * k);
    // label 1: a 2×2×2 block and a diagonal neighbour (26-connected), plus a separate single voxel
    for (const [i, j, k] of [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1], [2, 2, 2]]) data[at(i!, j!, k!)] = 1;
    data[at(5, 4, 3)] = 1;
    // label 2: two blobs of 3 and 2 voxels
    for (const [i, j, k] of [[4, 0, 0], [5, 0, 0], [5, 1, 0], [4, 4, 0], [5, 4, 0]]) data[at(i!, j!, k!)] = 2;
    const map: Labelmap = { size, spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'uint8', data, segments: [] };
    expect(keepLargestComponent(map, [1, 2])).toBe(3);
    expect(data[at(2, 2, 2)]).toBe(1);
    expect(data[at(5, 4, 3)]).toBe(0);
    expect(data[at(4, 4, 0)]).toBe(0);
    expect(data[at(5, 1, 0)]).toBe(2);
    // foreground: label-1 block (9) and label-2 blob (3) are separate components: the blob goes
    expect(keepLargestComponent(map, 'foreground')).toBe(3);
    expect([...data].filter((v) => v === 2).length).toBe(0);
  });
});

describe('mirror combinations', () => {
  it('follow itertools order (nnU-Net sums them in this order)', () => {
    expect(mirrorCombinations([0, 1, 2])).toEqual([[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]);
    expect(mirrorCombinations([])).toEqual([]);
  });
});

describe('resizeAxis column chunking', () => {
  it('a wide slab (inner > 8192) gives the same values as column-by-column resizing', async () => {
    const { planAxis, resizeAxis } = await import('../../../main/core/inference/resample');
    const r = rng(7);
    const inLen = 9;
    const inner = 8192 + 1000;
    const src = Float64Array.from({ length: inLen * inner }, () => r() * 100);
    const plan = planAxis(inLen, 14, 3);
    const wide = new Float64Array(14 * inner);
    resizeAxis(src, 1, inner, plan, wide);
    const col = new Float64Array(inLen);
    const out = new Float64Array(14);
    for (const q of [0, 1, 8191, 8192, 9191]) {
      for (let i = 0; i < inLen; i++) col[i] = src[i * inner + q]!;
      resizeAxis(col, 1, 1, plan, out);
      for (let o = 0; o < 14; o++) expect(wide[o * inner + q]).toBe(out[o]);
    }
  });
});

describe('labelRow', () => {
  it('softmax: first maximal channel wins ties (NumPy argmax)', async () => {
    const { labelRow } = await import('../../../main/core/inference/export');
    const out = new Uint16Array(3);
    // 3 classes × 3 voxels: voxel 0 → 2, voxel 1 tie 0/1 → 0, voxel 2 → 1
    labelRow(Float32Array.from([0, 1, 0, 1, 1, 5, 3, 0.5, 1]), 3, 3, { kind: 'softmax', labels: [] }, out);
    expect([...out]).toEqual([2, 0, 1]);
  });
  it('sigmoid regions: later regions overwrite earlier ones where sigmoid > 0.5', async () => {
    const { labelRow } = await import('../../../main/core/inference/export');
    const out = new Uint16Array(4);
    // BraTS-like: regions (whole tumour, tumour core, enhancing) written as 2, 1, 3
    const logits = Float32Array.from([5, 5, 5, -5, /**/ -5, 5, 5, 5, /**/ -5, -5, 5, 5]);
    labelRow(logits, 3, 4, { kind: 'sigmoid', regions: [[1, 2, 3], [1, 3], [3]], regionClassOrder: [2, 1, 3], labels: [] }, out);
    expect([...out]).toEqual([2, 1, 3, 3]);
    // sigmoid(1e-9) rounds to exactly 0.5 in float32: not foreground (as torch)
    labelRow(Float32Array.from([1e-9]), 1, 1, { kind: 'sigmoid', regions: [[1]], regionClassOrder: [1], labels: [] }, out);
    expect(out[0]).toBe(0);
  });
});

describe('MONAI tiling', () => {
  it('interval int(patch·(1−overlap)), last start clamped to size − patch', async () => {
    const { computeTileSteps } = await import('../../../main/core/inference/tiling');
    // MONAI dense_patch_slices by hand: size 100, roi 64, overlap 0.25 → interval 48 → starts 0, 36 (48 clamped)
    expect(computeTileSteps([100], [64], 0.75, 'monai')).toEqual([[0, 36]]);
    // overlap 0.5 → interval 32 → 0, 32, 36
    expect(computeTileSteps([100], [64], 0.5, 'monai')).toEqual([[0, 32, 36]]);
    expect(computeTileSteps([64], [64], 0.5, 'monai')).toEqual([[0]]);
    expect(computeTileSteps([130], [64], 0.5, 'monai')).toEqual([[0, 32, 64, 66]]);
  });
});
