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
  const [nx, ny, nz] = grid.size;
  const lo = bb.min.map((x) => Math.max(0, x - 1)) as Vec3;
  const hi = bb.max.map((x, a) => Math.min(grid.size[a]! - 1, x + 1)) as Vec3;
  const b = new DeltaBuilder();
  for (let k = lo[2]; k <= hi[2]; k++)
    for (let j = lo[1]; j <= hi[1]; j++)
      for (let i = lo[0]; i <= hi[0]; i++) {
        let inside = 0;
        let total = 0;
        for (let dk = -1; dk <= 1; dk++) {
          const kk = k + dk;
          if (kk < 0 || kk >= nz) continue;
          for (let dj = -1; dj <= 1; dj++) {
            const jj = j + dj;
            if (jj < 0 || jj >= ny) continue;
            const row = nx * (jj + ny * kk);
            for (let di = -1; di <= 1; di++) {
              const ii = i + di;
              if (ii < 0 || ii >= nx) continue;
              total++;
              if (labels[row + ii] === value) inside++;
            }
          }
        }
        const idx = i + nx * (j + ny * k);
        const old = labels[idx]!;
        const want = inside * 2 > total;
        if (want && old !== value) {
          if (writable(old, value, options)) b.push(idx, old, value);
        } else if (!want && old === value) b.push(idx, value, 0);
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
