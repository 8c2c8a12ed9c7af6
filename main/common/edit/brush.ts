/**
 * Paint and erase brushes: a 2-D disc in a view plane and a 3-D sphere, radius in mm measured with the grid's
 * physical spacing and direction (so a 5 mm brush is round on anisotropic data), optionally limited to an
 * intensity range of the image (threshold painting), and whole-volume / one-slice threshold painting.
 */
import { DelineateError } from '../errors';
import type { Grid, Vec3, VoxelArray } from '../volume';
import { type EditOptions, assertLabels, assertUnlocked, ballHalfWidth, indexToMm, toIndex, writable } from './common';
import { DeltaBuilder, type EditDelta, type LabelArray } from './delta';

/** An intensity window: a voxel qualifies when `min ≤ image[voxel] ≤ max` (image on the labels' grid). */
export interface IntensityRange {
  image: VoxelArray;
  min: number;
  max: number;
}

/** Options of {@link paintSphere} and {@link paintDisc}. */
export interface BrushOptions extends EditOptions {
  /** Brush centres (LPS mm) — one dab, or the dabs of one stroke (one delta for all). */
  centersMm: Vec3[];
  /** Brush radius in mm (voxel centres within this physical distance of a centre are painted). */
  radiusMm: number;
  /** Segment value to paint; 0 erases. */
  value: number;
  /** Erase only this segment (with value 0); default: erase every unlocked segment under the brush. */
  eraseOnly?: number;
  /** Threshold painting: paint only voxels whose image intensity is inside the range. */
  intensity?: IntensityRange;
}

/** Options of {@link paintDisc}: the brush lies in the plane of one index axis (the view's slicing axis). */
export interface DiscOptions extends BrushOptions {
  /** Index axis normal to the view plane (0 = i, 1 = j, 2 = k); the disc is on the slice nearest each centre. */
  axis: 0 | 1 | 2;
}

function checkBrush(labels: LabelArray, grid: Grid, o: BrushOptions): void {
  assertLabels(labels, grid, o.value);
  if (!(o.radiusMm >= 0) || !Number.isFinite(o.radiusMm)) throw new DelineateError('INPUT', `brush radius ${o.radiusMm} mm must be a finite number ≥ 0`);
  if (o.value !== 0) assertUnlocked(o.value, o, 'paint it');
  if (o.eraseOnly !== undefined) assertUnlocked(o.eraseOnly, o, 'erase it');
  if (o.intensity && o.intensity.image.length !== labels.length) throw new DelineateError('INPUT', `threshold image has ${o.intensity.image.length} voxels for ${labels.length} labels`);
}

function shouldWrite(old: number, idx: number, o: BrushOptions): boolean {
  if (o.value === 0) {
    if (old === 0) return false;
    if (o.eraseOnly !== undefined && old !== o.eraseOnly) return false;
  }
  if (!writable(old, o.value, o)) return false;
  if (o.intensity) {
    const v = o.intensity.image[idx]!;
    if (!(v >= o.intensity.min && v <= o.intensity.max)) return false;
  }
  return true;
}

/**
 * Paint (or erase) with a 3-D sphere of `radiusMm` around each centre. Returns the delta (labels unchanged; apply
 * it with applyDelta). Locked segments are never overwritten; painting a locked value is refused (INPUT).
 */
export function paintSphere(labels: LabelArray, grid: Grid, options: BrushOptions): EditDelta {
  checkBrush(labels, grid, options);
  return stamp(labels, grid, options, undefined);
}

/**
 * Paint (or erase) with a 2-D disc of `radiusMm` in the index plane normal to `axis`, on the slice nearest each
 * centre (distances measured in that plane with the grid's physical spacing). Same rules as {@link paintSphere}.
 */
export function paintDisc(labels: LabelArray, grid: Grid, options: DiscOptions): EditDelta {
  checkBrush(labels, grid, options);
  if (![0, 1, 2].includes(options.axis)) throw new DelineateError('INPUT', `disc axis ${String(options.axis)} must be 0, 1 or 2`);
  return stamp(labels, grid, options, options.axis);
}

function stamp(labels: LabelArray, grid: Grid, o: BrushOptions, axis: number | undefined): EditDelta {
  const [nx, ny, nz] = grid.size;
  const M = indexToMm(grid);
  const half = ballHalfWidth(grid, o.radiusMm);
  const r2 = o.radiusMm * o.radiusMm * (1 + 1e-9) + 1e-12;
  const centers = o.centersMm.map((c) => toIndex(grid, c));
  if (axis !== undefined) for (const c of centers) c[axis] = Math.round(c[axis]!);
  // Bounding box of the stroke, clipped to the grid.
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const c of centers)
    for (let a = 0; a < 3; a++) {
      const h = axis === a ? 0 : half[a]!;
      lo[a] = Math.min(lo[a]!, Math.ceil(c[a]! - h - 1e-9));
      hi[a] = Math.max(hi[a]!, Math.floor(c[a]! + h + 1e-9));
    }
  const b = new DeltaBuilder();
  if (!centers.length) return b.build();
  const i0 = Math.max(0, lo[0]);
  const i1 = Math.min(nx - 1, hi[0]);
  const j0 = Math.max(0, lo[1]);
  const j1 = Math.min(ny - 1, hi[1]);
  const k0 = Math.max(0, lo[2]);
  const k1 = Math.min(nz - 1, hi[2]);
  for (let k = k0; k <= k1; k++)
    for (let j = j0; j <= j1; j++)
      for (let i = i0; i <= i1; i++) {
        let inside = false;
        const along = axis === 0 ? i : axis === 1 ? j : k;
        for (const c of centers) {
          if (axis !== undefined && along !== c[axis]) continue;
          const di = i - c[0];
          const dj = j - c[1];
          const dk = k - c[2];
          const x = M[0]! * di + M[1]! * dj + M[2]! * dk;
          const y = M[3]! * di + M[4]! * dj + M[5]! * dk;
          const z = M[6]! * di + M[7]! * dj + M[8]! * dk;
          if (x * x + y * y + z * z <= r2) {
            inside = true;
            break;
          }
        }
        if (!inside) continue;
        const idx = i + nx * (j + ny * k);
        const old = labels[idx]!;
        if (shouldWrite(old, idx, o)) b.push(idx, old, o.value);
      }
  return b.build();
}

/** Options of {@link thresholdPaint}. */
export interface ThresholdOptions extends EditOptions {
  /** Segment value to paint (≥ 1). */
  value: number;
  intensity: IntensityRange;
  /** Limit to one slice: `{axis, index}` (index along that index axis). Default: the whole volume. */
  slice?: { axis: 0 | 1 | 2; index: number };
}

/**
 * Threshold painting over the whole volume (or one slice): every voxel whose image intensity is inside the range
 * gets `value`, under the same locking/overwrite rules as the brushes.
 */
export function thresholdPaint(labels: LabelArray, grid: Grid, options: ThresholdOptions): EditDelta {
  assertLabels(labels, grid, options.value);
  if (options.value === 0) throw new DelineateError('INPUT', 'threshold painting needs a segment value ≥ 1');
  assertUnlocked(options.value, options, 'paint it');
  const { image, min, max } = options.intensity;
  if (image.length !== labels.length) throw new DelineateError('INPUT', `threshold image has ${image.length} voxels for ${labels.length} labels`);
  const [nx, ny, nz] = grid.size;
  const b = new DeltaBuilder();
  const s = options.slice;
  if (s && !(Number.isInteger(s.index) && s.index >= 0 && s.index < grid.size[s.axis]))
    throw new DelineateError('INPUT', `slice ${s.index} is outside 0…${grid.size[s.axis] - 1} along axis ${s.axis}`);
  for (let k = 0, p = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, p++) {
        if (s && (s.axis === 0 ? i : s.axis === 1 ? j : k) !== s.index) continue;
        const v = image[p]!;
        if (!(v >= min && v <= max)) continue;
        const old = labels[p]!;
        if (writable(old, options.value, options)) b.push(p, old, options.value);
      }
  return b.build();
}
