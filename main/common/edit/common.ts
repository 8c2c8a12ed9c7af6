/** Shared rules of the editing algorithms: locking, overwrite policy, geometry helpers. */
import { DelineateError } from '../errors';
import { lpsToIjk } from '../geometry';
import type { Grid, Vec3 } from '../volume';
import type { LabelArray } from './delta';

/** Options every edit takes. */
export interface EditOptions {
  /**
   * Segment values that no edit may change: a voxel holding a locked value is never written, and an edit that
   * targets a locked segment (paint with it, erase/smooth/merge/delete it) is refused with an INPUT error.
   */
  locked?: ReadonlySet<number>;
  /**
   * Which voxels an edit that adds voxels to a segment may take: 'all' (default) — background and any unlocked
   * segment; 'background' — only background (0) voxels.
   */
  overwrite?: 'all' | 'background';
}

/** Whether a voxel holding `old` may be set to `value` under `opts` (never for locked values). */
export function writable(old: number, value: number, opts: EditOptions): boolean {
  if (old === value) return false;
  if (old !== 0 && opts.locked?.has(old)) return false;
  if (value !== 0 && old !== 0 && opts.overwrite === 'background') return false;
  return true;
}

/** Refuse an edit aimed at a locked segment. */
export function assertUnlocked(value: number, opts: EditOptions, what: string): void {
  if (value !== 0 && opts.locked?.has(value)) throw new DelineateError('INPUT', `Segment ${value} is locked; unlock it to ${what}`, { subject: String(value) });
}

/** Check labels against a grid and a segment value range. */
export function assertLabels(labels: LabelArray, grid: Grid, value?: number): void {
  const n = grid.size[0] * grid.size[1] * grid.size[2];
  if (labels.length !== n) throw new DelineateError('INPUT', `labels have ${labels.length} voxels for a ${grid.size.join('×')} grid`);
  if (value !== undefined) {
    const max = labels instanceof Uint8Array ? 255 : 65535;
    if (!Number.isInteger(value) || value < 0 || value > max) throw new DelineateError('INPUT', `segment value ${value} does not fit ${labels instanceof Uint8Array ? 'uint8' : 'uint16'} labels (0…${max})`);
  }
}

/** The 3×3 matrix M = direction · diag(spacing) (index offset → LPS mm offset), row-major. */
export function indexToMm(grid: Grid): number[] {
  const { direction: d, spacingMm: s } = grid;
  return [d[0] * s[0], d[1] * s[1], d[2] * s[2], d[3] * s[0], d[4] * s[1], d[5] * s[2], d[6] * s[0], d[7] * s[1], d[8] * s[2]];
}

/** Continuous index (i, j, k) of an LPS point (mm). */
export function toIndex(grid: Grid, pMm: Vec3): Vec3 {
  const m = lpsToIjk(grid);
  return [
    m[0]! * pMm[0] + m[1]! * pMm[1] + m[2]! * pMm[2] + m[3]!,
    m[4]! * pMm[0] + m[5]! * pMm[1] + m[6]! * pMm[2] + m[7]!,
    m[8]! * pMm[0] + m[9]! * pMm[1] + m[10]! * pMm[2] + m[11]!,
  ];
}

/**
 * Half-width, in voxels along each index axis, of the box holding a ball of `radiusMm`: radius × the norm of the
 * corresponding row of M⁻¹ (exact for any grid, oblique or sheared).
 */
export function ballHalfWidth(grid: Grid, radiusMm: number): Vec3 {
  const m = lpsToIjk(grid);
  return [0, 1, 2].map((r) => radiusMm * Math.hypot(m[r * 4]!, m[r * 4 + 1]!, m[r * 4 + 2]!)) as Vec3;
}

/** Inclusive index bounding box of the voxels holding `value` (undefined when there are none). */
export function boundingBox(labels: LabelArray, size: Vec3, value: number): { min: Vec3; max: Vec3 } | undefined {
  const [nx, ny, nz] = size;
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-1, -1, -1];
  for (let k = 0, p = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, p++) {
        if (labels[p] !== value) continue;
        if (i < min[0]) min[0] = i;
        if (i > max[0]) max[0] = i;
        if (j < min[1]) min[1] = j;
        if (j > max[1]) max[1] = j;
        if (k < min[2]) min[2] = k;
        if (k > max[2]) max[2] = k;
      }
  return max[0] < 0 ? undefined : { min, max };
}
