/**
 * Windowed-sinc smoothing: with the Hamming window it must equal vtk.js's vtkWindowedSincPolyDataFilter (the
 * VTK < 9.2 algorithm) on the same mesh; with the default Nuttall window, VTK 9.7's result is checked on the
 * cranium in test/integration/mesh (mean distance, via the committed Python fixture). Also: the filter keeps the
 * pass band at 1, preserves volume on a voxelised sphere, and the Euclidean maps commute with it.
 */
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData.js';
import { describe, expect, it } from 'vitest';
import { surfaceNets } from '../../../main/core/mesh/extract';
import { meshMetrics } from '../../../main/core/mesh/metrics';
import { windowedSincCoefficients, windowedSincSmooth } from '../../../main/core/mesh/smooth';

// vtk.js ships no type declarations for this filter: load it through a typed view of what the test uses.
interface SincFilter {
  setInputData(pd: unknown): void;
  update(): void;
  getOutputData(): { getPoints(): { getData(): Float32Array } };
}
const sincModule = '@kitware/vtk.js/Filters/General/WindowedSincPolyDataFilter.js';
const vtkWindowedSincPolyDataFilter = ((await import(sincModule)) as { default: { newInstance(init: Record<string, number>): SincFilter } }).default;

function blob(n: number): { mask: Uint8Array; dims: [number, number, number]; offset: [number, number, number] } {
  const mask = new Uint8Array(n * n * n);
  const c = (n - 1) / 2;
  for (let k = 1; k < n - 1; k++)
    for (let j = 1; j < n - 1; j++)
      for (let i = 1; i < n - 1; i++) {
        const inBall = Math.hypot(i - c, j - c, (k - c) * 1.3) < n / 2 - 3;
        const inBar = i > 5 && i < 8 && j > 3 && j < n - 4 && k > 2 && k < n - 3;
        if (inBall || inBar) mask[i + n * (j + n * k)] = 1;
      }
  return { mask, dims: [n, n, n], offset: [0, 0, 0] };
}

/** Chebyshev evaluation of the filter's transfer function at frequency k ∈ [0, 2]. */
function transfer(c: Float64Array, k: number): number {
  const theta = Math.acos(1 - k / 2);
  let f = 0;
  for (let i = 0; i < c.length; i++) f += c[i]! * Math.cos(i * theta);
  return f;
}

describe('windowedSincSmooth', () => {
  it('matches vtk.js vtkWindowedSincPolyDataFilter (Hamming window) to float32 precision', () => {
    const raw = surfaceNets(blob(20));
    const pd = vtkPolyData.newInstance();
    pd.getPoints().setData(Float32Array.from(raw.positions), 3);
    const nt = raw.indices.length / 3;
    const polys = new Uint32Array(4 * nt);
    for (let t = 0; t < nt; t++) polys.set([3, raw.indices[3 * t]!, raw.indices[3 * t + 1]!, raw.indices[3 * t + 2]!], 4 * t);
    pd.getPolys().setData(polys);
    const filter = vtkWindowedSincPolyDataFilter.newInstance({
      numberOfIterations: 20,
      passBand: 0.01,
      boundarySmoothing: 0,
      featureEdgeSmoothing: 0,
      nonManifoldSmoothing: 1,
      normalizeCoordinates: 1,
    });
    filter.setInputData(pd);
    filter.update();
    const expected = filter.getOutputData().getPoints().getData();
    const ours = Float64Array.from(raw.positions);
    windowedSincSmooth(ours, raw.indices, 20, 0.01, undefined, 'hamming');
    let max = 0;
    for (let i = 0; i < ours.length; i++) max = Math.max(max, Math.abs(ours[i]! - expected[i]!));
    expect(ours.length).toBe(expected.length);
    // Positions are ~10 voxels from the centre; float32 rounding of vtk.js's arrays is ~1e-6 of that.
    expect(max).toBeLessThan(2e-5);
    // And it actually moved the vertices (not a no-op on both sides).
    let moved = 0;
    for (let i = 0; i < ours.length; i++) moved = Math.max(moved, Math.abs(ours[i]! - raw.positions[i]!));
    expect(moved).toBeGreaterThan(0.1);
  });

  it("tunes σ so that the filter passes the pass band at 1 (VTK's Newton search) for both windows", () => {
    for (const window of ['nuttall', 'hamming'] as const)
      for (const pb of [0.1, 0.01, 0.001]) {
        const c = windowedSincCoefficients(20, pb, window);
        expect(Math.abs(transfer(c, pb) - 1)).toBeLessThan(1e-3);
        // High frequencies (staircase) are cut.
        expect(Math.abs(transfer(c, 1.5))).toBeLessThan(0.05);
      }
  });

  it('keeps the volume of a voxelised ball within 1 % and leaves it closed', () => {
    const raw = surfaceNets(blob(32));
    const before = meshMetrics(raw.positions, raw.indices).volumeMl;
    windowedSincSmooth(raw.positions, raw.indices, 20, 0.01);
    const after = meshMetrics(raw.positions, raw.indices);
    expect(Math.abs(after.volumeMl / before - 1)).toBeLessThan(0.01);
    expect(after.closed && after.manifold).toBe(true);
  });

  it('commutes with a rigid motion (smoothing then moving = moving then smoothing)', () => {
    const raw = surfaceNets(blob(16));
    const a = Float64Array.from(raw.positions);
    windowedSincSmooth(a, raw.indices, 20, 0.01);
    const b = Float64Array.from(raw.positions);
    const move = (p: Float64Array): void => {
      for (let i = 0; i < p.length; i += 3) {
        const x = p[i]!, y = p[i + 1]!;
        p[i] = 0.6 * x - 0.8 * y + 100;
        p[i + 1] = 0.8 * x + 0.6 * y - 50;
        p[i + 2] = p[i + 2]! + 7;
      }
    };
    move(a);
    move(b);
    windowedSincSmooth(b, raw.indices, 20, 0.01);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    expect(max).toBeLessThan(1e-9);
  });
});
