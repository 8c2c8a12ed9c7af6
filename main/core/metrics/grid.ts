/**
 * Whether two volumes share one voxel grid (same size, spacing, origin and direction within tolerance), as
 * voxel-wise comparison and statistics require. Delineate never resamples silently to make grids agree.
 */
import { DelineateError } from '../../common/errors';
import type { Grid } from '../../common/volume';

/** Tolerances of {@link gridDifference}. */
export interface GridTolerance {
  /** Relative tolerance on each spacing component. */
  spacingRel: number;
  /** Tolerance on each origin component, as a fraction of the smallest voxel spacing. */
  originVoxelFraction: number;
  /** Absolute tolerance on each direction-cosine component. */
  direction: number;
}

/**
 * Defaults: spacing within 1e-4 relative, origin within 1/1000 of a voxel, direction cosines within 1e-4 —
 * loose enough for the float32 rounding of NIfTI headers written by different tools, far tighter than any real
 * misregistration.
 */
export const DEFAULT_GRID_TOLERANCE: GridTolerance = { spacingRel: 1e-4, originVoxelFraction: 1e-3, direction: 1e-4 };

const fmt = (v: readonly number[]) => `[${v.map((x) => Number(x.toPrecision(7))).join(', ')}]`;

/** A sentence describing how two grids differ, or undefined when they match within tolerance. */
export function gridDifference(a: Grid, b: Grid, tol: GridTolerance = DEFAULT_GRID_TOLERANCE): string | undefined {
  if (a.size.some((n, c) => n !== b.size[c])) return `size ${a.size.join('×')} vs ${b.size.join('×')}`;
  if (a.spacingMm.some((s, c) => Math.abs(s - b.spacingMm[c]!) > tol.spacingRel * Math.max(Math.abs(s), Math.abs(b.spacingMm[c]!))))
    return `spacing ${fmt(a.spacingMm)} mm vs ${fmt(b.spacingMm)} mm`;
  const originTol = tol.originVoxelFraction * Math.min(...a.spacingMm);
  if (a.originMm.some((o, c) => Math.abs(o - b.originMm[c]!) > originTol)) return `origin ${fmt(a.originMm)} mm vs ${fmt(b.originMm)} mm (LPS)`;
  if (a.direction.some((d, c) => Math.abs(d - b.direction[c]!) > tol.direction)) return `direction ${fmt(a.direction)} vs ${fmt(b.direction)}`;
  return undefined;
}

/**
 * Throw a GEOMETRY {@link DelineateError} naming both files when the grids differ.
 * @param aName,bName file paths (or other names) used in the message.
 */
export function assertSameGrid(a: Grid, b: Grid, aName: string, bName: string, tol: GridTolerance = DEFAULT_GRID_TOLERANCE): void {
  const diff = gridDifference(a, b, tol);
  if (diff)
    throw new DelineateError('GEOMETRY', `${aName} and ${bName} are not on the same voxel grid (${diff}); resample one onto the other first`, {
      subject: aName,
    });
}
