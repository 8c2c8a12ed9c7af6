import { describe, expect, it } from 'vitest';
import type { Grid, Mat3, Vec3 } from '../../../main/common/volume';
import {
  edgeLabels,
  directionLetter,
  fitCamera,
  lpsToView,
  positionLabel,
  screenToView,
  sliceGeometry,
  sliceIndexOf,
  slicePosition,
  viewBasis,
  viewToLps,
  viewToScreen,
  cross,
} from './geometry';

const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

function rotationAboutL(deg: number): Mat3 {
  const a = (deg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  return [1, 0, 0, 0, c, -s, 0, s, c];
}

describe('radiological view bases', () => {
  it('labels the screen edges like ITK-SNAP/Slicer (patient left on screen right in axial and coronal)', () => {
    expect(edgeLabels(viewBasis('axial'))).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
    expect(edgeLabels(viewBasis('coronal'))).toEqual({ left: 'R', right: 'L', top: 'S', bottom: 'I' });
    expect(edgeLabels(viewBasis('sagittal'))).toEqual({ left: 'A', right: 'P', top: 'S', bottom: 'I' });
  });

  it('has right-handed camera frames: right × up points at the viewer (−normal)', () => {
    for (const o of ['axial', 'coronal', 'sagittal'] as const) {
      const b = viewBasis(o);
      const towardsViewer = cross(b.right, b.up);
      expect(towardsViewer.map((x) => x + 0)).toEqual(b.normal.map((x) => -x + 0));
    }
  });

  it('names LPS directions', () => {
    expect(directionLetter([1, 0, 0])).toBe('L');
    expect(directionLetter([-1, 0, 0])).toBe('R');
    expect(directionLetter([0, -0.9, 0.3])).toBe('A');
    expect(directionLetter([0.1, 0.2, -0.97])).toBe('I');
  });
});

describe('sliceGeometry', () => {
  const ct: Grid = { size: [512, 512, 20], spacingMm: [0.9765625, 0.9765625, 2], originMm: [-249.5, -437.5, -804.5], direction: IDENTITY };

  it('shows axis-aligned data at native resolution, one voxel slice per step', () => {
    const ax = sliceGeometry(ct, 'axial');
    expect(ax.pixelMm).toBeCloseTo(0.9765625, 12);
    expect([ax.columns, ax.rows, ax.count]).toEqual([512, 512, 20]);
    expect(ax.stepMm).toBe(2);
    expect(ax.tMin).toBeCloseTo(-804.5, 9);
    const cor = sliceGeometry(ct, 'coronal');
    // Square pixels of the finer spacing; 19 gaps of 2 mm = 38 mm tall = 39.9 px → 40 rows.
    expect(cor.pixelMm).toBeCloseTo(0.9765625, 12);
    expect(cor.columns).toBe(512);
    expect(cor.rows).toBe(Math.round(38 / 0.9765625) + 1);
    expect(cor.count).toBe(512);
    expect(sliceGeometry(ct, 'sagittal').count).toBe(512);
  });

  it('gives the same geometry for a grid stored with flipped axes (RAS on disk)', () => {
    const flipped: Grid = {
      size: [512, 512, 20],
      spacingMm: ct.spacingMm,
      // Same voxel centres, i and j reversed.
      originMm: [-249.5 + 511 * 0.9765625, -437.5 + 511 * 0.9765625, -804.5],
      direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1],
    };
    for (const o of ['axial', 'coronal', 'sagittal'] as const) {
      const a = sliceGeometry(ct, o);
      const b = sliceGeometry(flipped, o);
      expect([b.columns, b.rows, b.count]).toEqual([a.columns, a.rows, a.count]);
      expect(b.tMin).toBeCloseTo(a.tMin, 9);
      for (let c = 0; c < 3; c++) expect(b.centerLps[c]).toBeCloseTo(a.centerLps[c]!, 9);
    }
  });

  it('covers an oblique (tilted) volume and maps view ↔ LPS consistently', () => {
    const mr: Grid = { size: [320, 260, 24], spacingMm: [0.6875, 0.6875, 6.5], originMm: [-110, -90, -40], direction: rotationAboutL(17) };
    const ax = sliceGeometry(mr, 'axial');
    expect(ax.stepMm).toBe(6.5);
    expect(ax.pixelMm).toBe(0.6875);
    // The tilted slab is taller along S than the 23 × 6.5 mm of its stack.
    expect((ax.count - 1) * ax.stepMm).toBeGreaterThan(23 * 6.5);
    const p: Vec3 = [12.5, -30.25, 7.75];
    const v = lpsToView(ax, p);
    const back = viewToLps(ax, v.u, v.v, v.t);
    for (let c = 0; c < 3; c++) expect(back[c]).toBeCloseTo(p[c]!, 9);
    expect(slicePosition(ax, sliceIndexOf(ax, ax.tMin + 3.2 * ax.stepMm))).toBeCloseTo(ax.tMin + 3 * ax.stepMm, 9);
    expect(sliceIndexOf(ax, -1e9)).toBe(0);
    expect(sliceIndexOf(ax, 1e9)).toBe(ax.count - 1);
  });

  it('caps the resampled slice size', () => {
    const big: Grid = { size: [2048, 2048, 4], spacingMm: [0.1, 0.1, 1], originMm: [0, 0, 0], direction: IDENTITY };
    const ax = sliceGeometry(big, 'axial');
    expect(Math.max(ax.columns, ax.rows)).toBeLessThanOrEqual(1024);
    expect(ax.columns).toBe(ax.rows);
  });
});

describe('2D camera', () => {
  const grid: Grid = { size: [100, 50, 10], spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: IDENTITY };
  const ax = sliceGeometry(grid, 'axial');

  it('fits the slice and round-trips screen ↔ view coordinates', () => {
    const cam = fitCamera(ax, 400, 400);
    // 100 mm wide in a square viewport: half-height ≥ 50 mm.
    expect(cam.halfHeightMm).toBeGreaterThanOrEqual(50);
    const s = viewToScreen(cam, 400, 400, 10, -7);
    const v = screenToView(cam, 400, 400, s.x, s.y);
    expect(v.u).toBeCloseTo(10, 9);
    expect(v.v).toBeCloseTo(-7, 9);
  });

  it('puts patient left on screen right and anterior on screen top in the axial view', () => {
    const cam = fitCamera(ax, 400, 400);
    const centre = viewToLps(ax, cam.centerU, cam.centerV, 0);
    const toScreen = (p: Vec3) => {
      const v = lpsToView(ax, p);
      return viewToScreen(cam, 400, 400, v.u, v.v);
    };
    const left = toScreen([centre[0] + 10, centre[1], centre[2]]);
    const anterior = toScreen([centre[0], centre[1] - 10, centre[2]]);
    expect(left.x).toBeGreaterThan(200);
    expect(anterior.y).toBeLessThan(200);
  });

  it('writes slice positions with their patient direction', () => {
    expect(positionLabel([0, 0, 1], -12.34)).toBe('I 12.3 mm');
    expect(positionLabel([-1, 0, 0], 5)).toBe('R 5.0 mm');
    expect(positionLabel([0, 1, 0], 2)).toBe('P 2.0 mm');
  });
});
