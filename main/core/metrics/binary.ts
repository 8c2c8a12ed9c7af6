/**
 * Surface-distance metrics of one pair of binary masks on one grid: HD95, HD, ASSD and normalised surface Dice,
 * following MONAI 1.6.1 (`compute_hausdorff_distance(percentile=95)`, `compute_average_surface_distance(
 * symmetric=True)`, `compute_surface_dice(use_subvoxels=False)`), with physical spacing:
 *
 * - surfaces: {@link surfaceVoxels} (mask XOR its 6-neighbourhood erosion, outside = background);
 * - distances: from each surface voxel of one mask to the nearest surface voxel of the other, between voxel
 *   centres in mm, by an exact Euclidean distance transform ({@link squaredDistanceTransform});
 * - HD95: the 95th percentile (linear interpolation) of each directed set, then the larger of the two; HD: the
 *   maximum distance;
 * - ASSD: the mean of both directed sets pooled (Σd₁ + Σd₂) / (n₁ + n₂), as MONAI (concatenation); note that
 *   DeepMind's surface-distance averages surfel-area-weighted means instead;
 * - NSD at tolerance τ mm: (#{d₁ ≤ τ} + #{d₂ ≤ τ}) / (n₁ + n₂), surface voxels counted (MONAI without sub-voxel
 *   areas, not DeepMind's surfel areas). A distance counts as within τ when d ≤ τ·(1 + 1e-9), so that a distance
 *   mathematically equal to τ is not lost to floating-point rounding.
 *
 * Empty masks: both empty → every surface metric NaN (undefined). Exactly one empty → HD95, HD and ASSD are
 * +Infinity (the distance to an empty set) and NSD is 0. (MONAI returns inf for HD and ASSD and 0 for NSD there,
 * but NaN for HD95, an artefact of `torch.quantile` interpolating between infinities.)
 */
import type { Vec3 } from '../../common/volume';
import { squaredDistanceTransform } from './edt';
import { percentileOfSorted } from './percentile';
import { surfaceVoxels } from './surface';

/** Surface-distance metrics of one label; distances in mm. */
export interface SurfaceMetrics {
  /** Surface voxels of the prediction and of the reference. */
  predSurfaceVoxels: number;
  refSurfaceVoxels: number;
  /** 95th-percentile symmetric Hausdorff distance, mm. */
  hd95Mm: number;
  /** Maximum (100th percentile) symmetric Hausdorff distance, mm. */
  hdMm: number;
  /** Average symmetric surface distance, mm. */
  assdMm: number;
  /** Normalised surface Dice at `toleranceMm`, 0…1. */
  nsd: number;
}

/** Sorted distances (mm) from each `from` surface voxel to the nearest `to` surface voxel. */
function directedDistances(from: Uint8Array, fromCount: number, to: Uint8Array, size: Vec3, spacingMm: Vec3): Float64Array {
  const d2 = squaredDistanceTransform(to, size, spacingMm);
  const out = new Float64Array(fromCount);
  let n = 0;
  for (let x = 0; x < from.length; x++) if (from[x]) out[n++] = Math.sqrt(d2[x]!);
  out.sort();
  return out;
}

/**
 * Surface metrics of two binary masks on the same grid (non-zero = foreground). The caller may crop both masks
 * to any box that contains all their foreground plus one voxel of margin, or that ends at the grid's edge —
 * the result does not change.
 *
 * @param pred,ref masks, i fastest, length size[0]*size[1]*size[2].
 * @param spacingMm voxel spacing along i, j, k (orthogonal axes).
 * @param toleranceMm NSD tolerance τ in mm (≥ 0).
 */
export function surfaceMetrics(pred: Uint8Array, ref: Uint8Array, size: Vec3, spacingMm: Vec3, toleranceMm: number): SurfaceMetrics {
  const p = surfaceVoxels(pred, size);
  const r = surfaceVoxels(ref, size);
  const base = { predSurfaceVoxels: p.count, refSurfaceVoxels: r.count };
  if (p.count === 0 && r.count === 0) return { ...base, hd95Mm: NaN, hdMm: NaN, assdMm: NaN, nsd: NaN };
  if (p.count === 0 || r.count === 0) return { ...base, hd95Mm: Infinity, hdMm: Infinity, assdMm: Infinity, nsd: 0 };
  const dPR = directedDistances(p.surface, p.count, r.surface, size, spacingMm);
  const dRP = directedDistances(r.surface, r.count, p.surface, size, spacingMm);
  const limit = toleranceMm * (1 + 1e-9);
  let sum = 0;
  let within = 0;
  for (const d of [dPR, dRP])
    for (let x = 0; x < d.length; x++) {
      const v = d[x]!;
      sum += v;
      if (v <= limit) within++;
    }
  const total = p.count + r.count;
  return {
    ...base,
    hd95Mm: Math.max(percentileOfSorted(dPR, 95), percentileOfSorted(dRP, 95)),
    hdMm: Math.max(dPR[dPR.length - 1]!, dRP[dRP.length - 1]!),
    assdMm: sum / total,
    nsd: within / total,
  };
}
