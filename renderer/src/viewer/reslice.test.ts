/**
 * The plane sampler of the 2D views: the resampled planes are true patient planes whatever the voxel order or
 * direction matrix of the volume.
 */
import { describe, expect, it } from 'vitest';
import type { Mat3, Vec3, Volume } from '../../../main/common/volume';
import { indexToLps, sliceGeometry, slicePosition, viewToLps, type Orientation } from './geometry';
import { ResliceSampler, planePixelLps } from './reslice';

/** A volume whose voxel values are a linear function of LPS position (so linear interpolation is exact). */
function linearVolume(size: Vec3, spacingMm: Vec3, originMm: Vec3, direction: Mat3, f: (p: Vec3) => number): Volume {
  const data = new Float32Array(size[0] * size[1] * size[2]);
  const grid = { size, spacingMm, originMm, direction };
  for (let k = 0; k < size[2]; k++)
    for (let j = 0; j < size[1]; j++)
      for (let i = 0; i < size[0]; i++) data[i + size[0] * (j + size[1] * k)] = f(indexToLps(grid, [i, j, k]));
  return { ...grid, dataType: 'float32', data };
}

function reslice(volume: Volume, o: Orientation, n: number) {
  const sg = sliceGeometry(volume, o);
  const t = slicePosition(sg, n);
  const values = new ResliceSampler(volume).sample(sg, t, -1000);
  return { sg, t, values, dims: [sg.columns, sg.rows] as const };
}

/** Whether an LPS point lies within the volume's voxel-centre box (direction assumed orthonormal). */
function insideGrid(v: Volume, p: Vec3): boolean {
  const d = v.direction;
  const q = [p[0] - v.originMm[0], p[1] - v.originMm[1], p[2] - v.originMm[2]];
  for (let c = 0; c < 3; c++) {
    const idx = (d[c]! * q[0]! + d[3 + c]! * q[1]! + d[6 + c]! * q[2]!) / v.spacingMm[c]!;
    if (idx < -1e-6 || idx > v.size[c]! - 1 + 1e-6) return false;
  }
  return true;
}

const f = (p: Vec3) => 2 * p[0] + 3 * p[1] + 5 * p[2];

describe('ResliceSampler', () => {
  it('lays an axis-aligned volume out with patient left to the right and anterior at the top', () => {
    // 6 × 5 × 4 voxels, identity direction: value = 100 i + 10 j + k.
    const size: Vec3 = [6, 5, 4];
    const data = new Float32Array(6 * 5 * 4);
    for (let k = 0; k < 4; k++) for (let j = 0; j < 5; j++) for (let i = 0; i < 6; i++) data[i + 6 * (j + 5 * k)] = 100 * i + 10 * j + k;
    const vol: Volume = { size, spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'float32', data };
    const { values, dims } = reslice(vol, 'axial', 2);
    expect([dims[0], dims[1]]).toEqual([6, 5]);
    // Output row 0 is the bottom of the screen = posterior (largest j); column 0 = screen left = patient right (i = 0).
    for (let r = 0; r < 5; r++) for (let c = 0; c < 6; c++) expect(values[c + 6 * r]).toBeCloseTo(100 * c + 10 * (4 - r) + 2, 4);
  });

  it('resamples an oblique volume on true patient planes (linear field reproduced exactly)', () => {
    const a = (20 * Math.PI) / 180;
    // Rotated 20° about S, then tilted: a generic orthonormal direction matrix.
    const rz: Mat3 = [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
    const vol = linearVolume([24, 20, 12], [1.5, 1.25, 3], [-10, 5, 30], rz, f);
    for (const o of ['axial', 'coronal', 'sagittal'] as const) {
      const { sg, t, values, dims } = reslice(vol, o, Math.floor(sliceGeometry(vol, o).count / 2));
      let inside = 0;
      let maxErr = 0;
      for (let r = 0; r < dims[1]; r++)
        for (let c = 0; c < dims[0]; c++) {
          const v = values[c + dims[0] * r]!;
          if (v === -1000) continue;
          const p = viewToLps(sg, sg.uMin + c * sg.pixelMm, sg.vMin + r * sg.pixelMm, t);
          expect(planePixelLps(sg, t, c, r)[0]).toBeCloseTo(p[0], 9);
          // Only points inside the grid of voxel centres: up to half a voxel beyond it takes the edge value.
          if (!insideGrid(vol, p)) continue;
          maxErr = Math.max(maxErr, Math.abs(v - f(p)));
          inside++;
        }
      expect(inside, o).toBeGreaterThan(dims[0] * dims[1] * 0.2);
      expect(maxErr, o).toBeLessThan(1e-3);
    }
  });

  it('shows the same image for the same anatomy stored in another voxel order', () => {
    const lps = linearVolume([8, 7, 6], [2, 2, 2], [0, 0, 0], [1, 0, 0, 0, 1, 0, 0, 0, 1], f);
    // Same voxel centres stored as "RAS": i runs towards R, j towards A.
    const ras = linearVolume([8, 7, 6], [2, 2, 2], [14, 12, 0], [-1, 0, 0, 0, -1, 0, 0, 0, 1], f);
    // And with axes permuted (i ↔ k).
    const perm = linearVolume([6, 7, 8], [2, 2, 2], [0, 0, 0], [0, 0, 1, 0, 1, 0, 1, 0, 0], f);
    for (const o of ['axial', 'coronal', 'sagittal'] as const) {
      const a = reslice(lps, o, 2);
      const b = reslice(ras, o, 2);
      const c = reslice(perm, o, 2);
      expect(b.dims).toEqual(a.dims);
      expect(c.dims).toEqual(a.dims);
      for (let i = 0; i < a.values.length; i++) {
        expect(b.values[i]).toBeCloseTo(a.values[i]!, 3);
        expect(c.values[i]).toBeCloseTo(a.values[i]!, 3);
      }
    }
  });
});

describe('ResliceSampler edges', () => {
  it('fills points outside the volume with the background and keeps exact voxel values at centres', () => {
    const data = Int16Array.from({ length: 4 * 3 * 2 }, (_, i) => i * 10 - 100);
    const vol: Volume = { size: [4, 3, 2], spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'int16', data };
    const sg = { ...sliceGeometry(vol, 'axial') };
    // Widen the plane by 3 pixels on each side.
    const wide = { ...sg, uMin: sg.uMin - 3, vMin: sg.vMin - 3, columns: sg.columns + 6, rows: sg.rows + 6 };
    const out = new ResliceSampler(vol).sample(wide, slicePosition(sg, 1), -2048);
    expect(out[0]).toBe(-2048);
    expect(out[out.length - 1]).toBe(-2048);
    // Pixel (3, 3) of the wide plane = voxel (0, j = 2 (posterior-most, bottom row), k = 1).
    expect(out[3 + wide.columns * 3]).toBe(data[0 + 4 * (2 + 3 * 1)]);
  });

  it('shows voxels as they are in nearest mode', () => {
    const data = Float32Array.from([0, 100, 200, 300]);
    const vol: Volume = { size: [4, 1, 1], spacingMm: [3, 3, 3], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'float32', data };
    const sg = sliceGeometry(vol, 'coronal');
    // Resample at 1 mm along i (3 mm voxels): linear blends, nearest repeats.
    const fine = { ...sg, pixelMm: 1, columns: 10, rows: 1 };
    const s = new ResliceSampler(vol);
    expect(Array.from(s.sample(fine, 0, -1, undefined, true))).toEqual([0, 0, 100, 100, 100, 200, 200, 200, 300, 300]);
    const lin = Array.from(s.sample(fine, 0, -1));
    expect(lin[1]).toBeCloseTo(100 / 3, 4);
    expect(lin[9]).toBe(300);
  });

  it('samples every plane of a large volume (512×512×40)', () => {
    const vol: Volume = {
      size: [512, 512, 40],
      spacingMm: [0.8, 0.8, 2.5],
      originMm: [0, 0, 0],
      direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      dataType: 'int16',
      data: new Int16Array(512 * 512 * 40),
    };
    const s = new ResliceSampler(vol);
    for (const o of ['axial', 'coronal', 'sagittal'] as const) {
      const sg = sliceGeometry(vol, o);
      const out = s.sample(sg, slicePosition(sg, 3), 0);
      expect(out.length).toBe(sg.columns * sg.rows);
    }
  });
});
