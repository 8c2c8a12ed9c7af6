/**
 * Islands of a segment: its connected components under 6-connectivity (voxels sharing a face) or 26-connectivity
 * (sharing a face, an edge or a corner). Removing an island sets its voxels to background (0).
 */
import { DelineateError } from '../errors';
import type { Grid, Vec3 } from '../volume';
import { type EditOptions, assertLabels, assertUnlocked, boundingBox } from './common';
import { DeltaBuilder, type EditDelta, type LabelArray, emptyDelta } from './delta';

/** 6: face neighbours; 26: face, edge and corner neighbours. */
export type Connectivity = 6 | 26;

/** Connected components of `value` inside its bounding box. */
export interface Components {
  /** Component id (1-based) per voxel of the box, 0 outside the segment; i fastest within the box. */
  ids: Int32Array;
  /** Voxel count per component id (index 0 unused). */
  sizes: number[];
  boxMin: Vec3;
  boxSize: Vec3;
}

/** Label the connected components of the voxels holding `value` (undefined when there are none). */
export function connectedComponents(labels: LabelArray, grid: Grid, value: number, connectivity: Connectivity): Components | undefined {
  if (connectivity !== 6 && connectivity !== 26) throw new DelineateError('INPUT', `connectivity must be 6 or 26 (got ${String(connectivity)})`);
  const bb = boundingBox(labels, grid.size, value);
  if (!bb) return undefined;
  const [nx, ny] = grid.size;
  const bs: Vec3 = [bb.max[0] - bb.min[0] + 1, bb.max[1] - bb.min[1] + 1, bb.max[2] - bb.min[2] + 1];
  const [bx, by, bz] = bs;
  const ids = new Int32Array(bx * by * bz);
  const inSeg = (i: number, j: number, k: number) => labels[bb.min[0] + i + nx * (bb.min[1] + j + ny * (bb.min[2] + k))] === value;
  const offsets: Vec3[] = [];
  for (let dk = -1; dk <= 1; dk++)
    for (let dj = -1; dj <= 1; dj++)
      for (let di = -1; di <= 1; di++) {
        const n = Math.abs(di) + Math.abs(dj) + Math.abs(dk);
        if (n === 0 || (connectivity === 6 && n > 1)) continue;
        offsets.push([di, dj, dk]);
      }
  const sizes = [0];
  const queue = new Int32Array(ids.length);
  let next = 0;
  for (let k = 0, p = 0; k < bz; k++)
    for (let j = 0; j < by; j++)
      for (let i = 0; i < bx; i++, p++) {
        if (ids[p] !== 0 || !inSeg(i, j, k)) continue;
        const id = ++next;
        let head = 0;
        let tail = 0;
        queue[tail++] = p;
        ids[p] = id;
        let count = 0;
        while (head < tail) {
          const q = queue[head++]!;
          count++;
          const qi = q % bx;
          const qj = Math.floor(q / bx) % by;
          const qk = Math.floor(q / (bx * by));
          for (const [di, dj, dk] of offsets) {
            const a = qi + di;
            const c = qj + dj;
            const e = qk + dk;
            if (a < 0 || a >= bx || c < 0 || c >= by || e < 0 || e >= bz) continue;
            const r = a + bx * (c + by * e);
            if (ids[r] !== 0 || !inSeg(a, c, e)) continue;
            ids[r] = id;
            queue[tail++] = r;
          }
        }
        sizes.push(count);
      }
  return { ids, sizes, boxMin: bb.min, boxSize: bs };
}

function removeComponents(labels: LabelArray, grid: Grid, comps: Components, value: number, remove: (id: number) => boolean): EditDelta {
  const [nx, ny] = grid.size;
  const [bx, by, bz] = comps.boxSize;
  const b = new DeltaBuilder();
  for (let k = 0, p = 0; k < bz; k++)
    for (let j = 0; j < by; j++)
      for (let i = 0; i < bx; i++, p++) {
        const id = comps.ids[p]!;
        if (id === 0 || !remove(id)) continue;
        const idx = comps.boxMin[0] + i + nx * (comps.boxMin[1] + j + ny * (comps.boxMin[2] + k));
        b.push(idx, value, 0);
      }
  return b.build();
}

/**
 * Keep only the largest island of segment `value` (ties: the first in index order); the others become background.
 * Refused (INPUT) when the segment is locked.
 */
export function keepLargestIsland(labels: LabelArray, grid: Grid, value: number, connectivity: Connectivity, options: EditOptions = {}): EditDelta {
  assertLabels(labels, grid, value);
  assertUnlocked(value, options, 'remove its islands');
  const comps = connectedComponents(labels, grid, value, connectivity);
  if (!comps || comps.sizes.length <= 2) return emptyDelta();
  let best = 1;
  for (let id = 2; id < comps.sizes.length; id++) if (comps.sizes[id]! > comps.sizes[best]!) best = id;
  return removeComponents(labels, grid, comps, value, (id) => id !== best);
}

/**
 * Remove the islands of segment `value` with fewer than `minVoxels` voxels (they become background). Refused
 * (INPUT) when the segment is locked.
 */
export function removeSmallIslands(labels: LabelArray, grid: Grid, value: number, minVoxels: number, connectivity: Connectivity, options: EditOptions = {}): EditDelta {
  assertLabels(labels, grid, value);
  assertUnlocked(value, options, 'remove its islands');
  if (!(Number.isInteger(minVoxels) && minVoxels >= 0)) throw new DelineateError('INPUT', `minimum island size ${minVoxels} must be a whole number ≥ 0`);
  const comps = connectedComponents(labels, grid, value, connectivity);
  if (!comps) return emptyDelta();
  return removeComponents(labels, grid, comps, value, (id) => comps.sizes[id]! < minVoxels);
}
