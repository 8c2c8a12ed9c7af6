/**
 * Smoothing of one segment: 3×3×3 median (binary majority) and morphological closing with a ball of a radius in mm.
 * Both work on the segment's bounding box (plus a margin), never on a copy of the volume.
 */
import { DelineateError } from '../../common/errors';
import type { Grid, Vec3 } from '../../common/volume';
import { squaredDistanceTransform } from '../metrics/edt';
import { type EditOptions, assertLabels, assertUnlocked, boundingBox, writable } from './common';
import { DeltaBuilder, type EditDelta, type LabelArray, emptyDelta } from './delta';

/**
 * 3×3×3 median filter of segment `value` as a binary mask: a voxel is in the smoothed segment when more than half
 * of its neighbourhood (the 27 voxels, or the in-grid ones at the border) is. Voxels leaving the segment become
 * background; voxels joining it are written under the locking/overwrite rules (locked segments are never
 * overwritten). Refused (INPUT) when the segment is locked.
 */
export function medianSmooth(labels: LabelArray, grid: Grid, value: number, options: EditOptions = {}): EditDelta {
  assertLabels(labels, grid, value);
  if (value === 0) throw new DelineateError('INPUT', 'median smoothing needs a segment value ≥ 1');
  assertUnlocked(value, options, 'smooth it');
  const bb = boundingBox(labels, grid.size, value);
  if (!bb) return emptyDelta();
  const [nx, ny] = grid.size;
  // Region: the box plus one voxel (clipped to the grid); 3×3×3 counts by three separable running sums.
  const lo = bb.min.map((x) => Math.max(0, x - 1)) as Vec3;
  const hi = bb.max.map((x, a) => Math.min(grid.size[a]! - 1, x + 1)) as Vec3;
  const rs: Vec3 = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
  const [rx, ry, rz] = rs;
  const m = new Uint8Array(rx * ry * rz);
  for (let k = 0, p = 0; k < rz; k++)
    for (let j = 0; j < ry; j++) {
      const row = lo[0] + nx * (lo[1] + j + ny * (lo[2] + k));
      for (let i = 0; i < rx; i++, p++) m[p] = labels[row + i] === value ? 1 : 0;
    }
  // Neighbours outside the region but inside the grid are never in the segment (the region covers its box + 1),
  // so counting within the region is exact; the in-grid neighbourhood size is a product of per-axis counts.
  const strides: Vec3 = [1, rx, rx * ry];
  let cur: Uint8Array = m;
  for (let a = 0; a < 3; a++) {
    const next = new Uint8Array(cur.length);
    const st = strides[a]!;
    const len = rs[a]!;
    for (let p = 0; p < cur.length; p++) {
      const c = a === 0 ? p % rx : a === 1 ? Math.floor(p / rx) % ry : Math.floor(p / (rx * ry));
      let v = cur[p]!;
      if (c > 0) v += cur[p - st]!;
      if (c < len - 1) v += cur[p + st]!;
      next[p] = v;
    }
    cur = next;
  }
  const span = (x: number, n: number) => (x > 0 ? 1 : 0) + 1 + (x < n - 1 ? 1 : 0);
  const b = new DeltaBuilder();
  for (let k = 0, p = 0; k < rz; k++) {
    const K = lo[2] + k;
    const sk = span(K, grid.size[2]);
    for (let j = 0; j < ry; j++) {
      const J = lo[1] + j;
      const sjk = sk * span(J, ny);
      const row = lo[0] + nx * (J + ny * K);
      for (let i = 0; i < rx; i++, p++) {
        const I = lo[0] + i;
        const total = sjk * span(I, nx);
        const want = cur[p]! * 2 > total;
        const idx = row + i;
        const old = labels[idx]!;
        if (want && old !== value) {
          if (writable(old, value, options)) b.push(idx, old, value);
        } else if (!want && old === value) b.push(idx, value, 0);
      }
    }
  }
  return b.build();
}

/**
 * Morphological closing (dilation then erosion) of segment `value` with a ball of `radiusMm`, distances measured
 * between voxel centres in mm with the grid's spacing (exact Euclidean distance transforms; assumes orthogonal
 * axes, as scanner grids have). Closing only adds voxels (fills gaps and dents narrower than the ball); they are
 * written under the locking/overwrite rules. The volume's outside counts as background. Refused (INPUT) when the
 * segment is locked.
 */
export function closing(labels: LabelArray, grid: Grid, value: number, radiusMm: number, options: EditOptions = {}): EditDelta {
  assertLabels(labels, grid, value);
  if (value === 0) throw new DelineateError('INPUT', 'closing needs a segment value ≥ 1');
  if (!(radiusMm >= 0 && Number.isFinite(radiusMm))) throw new DelineateError('INPUT', `closing radius ${radiusMm} mm must be a finite number ≥ 0`);
  assertUnlocked(value, options, 'smooth it');
  const bb = boundingBox(labels, grid.size, value);
  if (!bb || radiusMm === 0) return emptyDelta();
  const [nx, ny] = grid.size;
  // Region: the box plus the ball's reach plus one voxel, which holds every voxel the dilation reaches and a rim
  // of voxels it does not (so the erosion's distances are exact inside the region).
  const margin = grid.spacingMm.map((s) => Math.ceil(radiusMm / s) + 1) as Vec3;
  const o: Vec3 = [bb.min[0] - margin[0], bb.min[1] - margin[1], bb.min[2] - margin[2]];
  const rs: Vec3 = [0, 1, 2].map((a) => bb.max[a]! - bb.min[a]! + 1 + 2 * margin[a]!) as Vec3;
  const [rx, ry, rz] = rs;
  const n = rx * ry * rz;
  const inGrid = (i: number, j: number, k: number) => i >= 0 && j >= 0 && k >= 0 && i < grid.size[0] && j < grid.size[1] && k < grid.size[2];
  const sites = new Uint8Array(n);
  for (let k = 0, p = 0; k < rz; k++)
    for (let j = 0; j < ry; j++)
      for (let i = 0; i < rx; i++, p++) {
        const I = o[0] + i;
        const J = o[1] + j;
        const K = o[2] + k;
        if (inGrid(I, J, K) && labels[I + nx * (J + ny * K)] === value) sites[p] = 1;
      }
  const r2 = radiusMm * radiusMm * (1 + 1e-9);
  const d1 = squaredDistanceTransform(sites, rs, grid.spacingMm);
  const outside = new Uint8Array(n);
  for (let p = 0; p < n; p++) outside[p] = d1[p]! <= r2 ? 0 : 1;
  const d2 = squaredDistanceTransform(outside, rs, grid.spacingMm);
  const b = new DeltaBuilder();
  for (let k = 0, p = 0; k < rz; k++)
    for (let j = 0; j < ry; j++)
      for (let i = 0; i < rx; i++, p++) {
        if (sites[p] || d2[p]! <= r2) continue;
        const I = o[0] + i;
        const J = o[1] + j;
        const K = o[2] + k;
        if (!inGrid(I, J, K)) continue;
        const idx = I + nx * (J + ny * K);
        const old = labels[idx]!;
        if (writable(old, value, options)) b.push(idx, old, value);
      }
  return b.build();
}
