/**
 * Exact Euclidean distance transform on a 3-D voxel grid with anisotropic spacing, by Felzenszwalb and
 * Huttenlocher's separable lower-envelope-of-parabolas algorithm ("Distance Transforms of Sampled Functions",
 * Theory of Computing 8, 2012): one exact 1-D pass per axis, O(voxels) in total.
 *
 * Distances are between voxel centres in physical units (mm): the distance between voxels (i, j, k) and
 * (i', j', k') is √((Δi·sᵢ)² + (Δj·sⱼ)² + (Δk·sₖ)²). This holds for any grid whose axes are orthogonal (an
 * orthonormal direction matrix), which is every grid a scanner writes.
 */
import type { Vec3 } from '../../common/volume';

/**
 * One exact 1-D squared-distance pass: `out[q] = min_p ((q−p)·w)² + f[p]`. `f` entries that are +Infinity are
 * not sites. `v` (Int32Array, ≥ n) and `z` (Float64Array, ≥ n+1) are scratch.
 */
function edt1d(f: Float64Array, n: number, w: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  // Intersections z are in index units and every distance is formed from index differences, so the result does
  // not depend on where the line starts (translation-invariant rounding).
  const w2 = w * w;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q]!;
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    let s: number;
    for (;;) {
      const p = v[k]!;
      // Where the parabolas from p and q meet: ((fq − fp)/w² + q² − p²) / (2(q − p)).
      s = (fq - f[p]!) / (2 * w2 * (q - p)) + (q + p) / 2;
      if (s <= z[k]!) k--; // z[0] is −∞, so k never drops below 0 here
      else break;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1]! < q) j++;
    const p = v[j]!;
    const dx = (q - p) * w;
    out[q] = dx * dx + f[p]!;
  }
}

/**
 * Squared Euclidean distance (mm²) from every voxel to the nearest voxel where `sites` is non-zero.
 *
 * @param sites  voxel mask, length `size[0]*size[1]*size[2]`, i fastest.
 * @param size   grid size [ni, nj, nk].
 * @param spacingMm voxel spacing along i, j, k in mm.
 * @returns Float64Array of squared distances in mm², i fastest; +Infinity everywhere when there are no sites.
 */
export function squaredDistanceTransform(sites: Uint8Array, size: Vec3, spacingMm: Vec3): Float64Array {
  const [ni, nj, nk] = size;
  const total = ni * nj * nk;
  if (sites.length !== total) throw new RangeError(`sites has ${sites.length} voxels for a ${size.join('×')} grid`);
  const d = new Float64Array(total);
  for (let x = 0; x < total; x++) d[x] = sites[x] ? 0 : Infinity;
  const nMax = Math.max(ni, nj, nk);
  const f = new Float64Array(nMax);
  const out = new Float64Array(nMax);
  const v = new Int32Array(nMax);
  const z = new Float64Array(nMax + 1);
  const strides: Vec3 = [1, ni, ni * nj];
  for (let axis = 0; axis < 3; axis++) {
    const n = size[axis]!;
    const stride = strides[axis]!;
    const w = spacingMm[axis]!;
    // Iterate over all lines along `axis`: the two other axes.
    const a1 = axis === 0 ? 1 : 0;
    const a2 = axis === 2 ? 1 : 2;
    const n1 = size[a1]!;
    const n2 = size[a2]!;
    const s1 = strides[a1]!;
    const s2 = strides[a2]!;
    for (let c2 = 0; c2 < n2; c2++)
      for (let c1 = 0; c1 < n1; c1++) {
        const base = c1 * s1 + c2 * s2;
        let any = false;
        for (let q = 0, x = base; q < n; q++, x += stride) {
          const val = d[x]!;
          f[q] = val;
          if (val !== Infinity) any = true;
        }
        if (!any) continue; // a line without finite values stays +∞
        edt1d(f, n, w, out, v, z);
        for (let q = 0, x = base; q < n; q++, x += stride) d[x] = out[q]!;
      }
  }
  return d;
}
