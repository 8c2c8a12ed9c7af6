/**
 * Sliding-window geometry: tile positions, padding to the patch and the blending (importance) map, exactly as
 * nnU-Net v2 (`compute_steps_for_sliding_window`, `pad_nd_image`, `compute_gaussian`) or MONAI
 * (`sliding_window_inference`) compute them. All shapes and positions are in tensor axis order.
 */
import type { BlendingSpec, TilingScheme } from '../../common/manifest';
import { halfBitsFromFloat32, HALF_TO_FLOAT } from './half';

/** Python/NumPy `round`: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Start positions of the tiles along each axis. `imageSize[d] >= tileSize[d]` (pad first).
 * nnunet: `n = ceil((size - tile) / (tile · step)) + 1`, positions `round_half_even(i · (size - tile) / (n - 1))`.
 * monai: interval `max(int(tile · step), 1)` (step = 1 − overlap), `n = ceil((size - tile) / interval) + 1`,
 * positions `min(i · interval, size - tile)`.
 */
export function computeTileSteps(imageSize: readonly number[], tileSize: readonly number[], step: number, scheme: TilingScheme = 'nnunet'): number[][] {
  if (!(step > 0 && step <= 1)) throw new RangeError(`tile step must be in (0, 1], got ${step}`);
  return tileSize.map((tile, d) => {
    const size = imageSize[d]!;
    if (size < tile) throw new RangeError(`image size ${size} is smaller than the tile ${tile} along axis ${d}; pad first`);
    if (scheme === 'monai') {
      const interval = Math.max(Math.trunc(tile * step), 1);
      const n = Math.ceil((size - tile) / interval) + 1;
      return Array.from({ length: n }, (_, i) => Math.min(i * interval, size - tile));
    }
    const target = tile * step;
    const n = Math.ceil((size - tile) / target) + 1;
    const maxStep = size - tile;
    const actual = n > 1 ? maxStep / (n - 1) : 99999999999;
    return Array.from({ length: n }, (_, i) => roundHalfEven(actual * i));
  });
}

/**
 * Padding that brings `shape` up to at least `patch` along each axis (nnU-Net `pad_nd_image` with
 * `new_shape = patch`, constant 0): `before = diff // 2`, `after = diff // 2 + diff % 2`.
 */
export function padToPatch(shape: readonly number[], patch: readonly number[]): { before: number[]; after: number[]; padded: number[] } {
  const before: number[] = [];
  const after: number[] = [];
  const padded: number[] = [];
  shape.forEach((s, d) => {
    const diff = Math.max(0, patch[d]! - s);
    before.push(Math.floor(diff / 2));
    after.push(Math.floor(diff / 2) + (diff % 2));
    padded.push(s + diff);
  });
  return { before, after, padded };
}

/** scipy.ndimage `_gaussian_kernel1d(sigma, 0, radius)` with `radius = int(4 · sigma + 0.5)`. */
function gaussianKernel1d(sigma: number): Float64Array {
  const radius = Math.trunc(4 * sigma + 0.5);
  const w = new Float64Array(2 * radius + 1);
  const c = -0.5 / (sigma * sigma);
  for (let x = -radius; x <= radius; x++) w[x + radius] = Math.exp(c * x * x);
  // numpy pairwise sum (blocks of 8 partial sums for n ≥ 8) — reproduced for bitwise-equal normalisation.
  const sum = pairwiseSum(w, 0, w.length);
  for (let i = 0; i < w.length; i++) w[i] = w[i]! / sum;
  return w;
}

/** NumPy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src, PW_BLOCKSIZE 128, unroll 8). */
function pairwiseSum(a: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = [a[start]!, a[start + 1]!, a[start + 2]!, a[start + 3]!, a[start + 4]!, a[start + 5]!, a[start + 6]!, a[start + 7]!];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let k = 0; k < 8; k++) r[k]! += a[start + i + k]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/**
 * The blending weights of one tile, C-order over the patch (last axis fastest), as float32 values.
 * Gaussian: nnU-Net's `compute_gaussian(patch, sigma_scale, value_scaling_factor=maxValue)`: a unit impulse at
 * `patch // 2` filtered by scipy's gaussian_filter (σ = patch · sigmaScale, truncate 4, constant 0) — which is the
 * product of the 1-D kernels — divided by (max / maxValue), cast to the accumulation dtype (nnU-Net: float16), and
 * exact zeros replaced by the smallest non-zero value. Constant: all ones.
 */
export function blendingWeights(patch: readonly number[], blending: BlendingSpec, dtype: 'float16' | 'float32'): Float32Array {
  const n = patch.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (blending.mode === 'constant') return out.fill(1);
  const kernels = patch.map((p) => {
    const sigma = p * blending.sigmaScale;
    const k = gaussianKernel1d(sigma);
    const radius = (k.length - 1) / 2;
    const centre = Math.floor(p / 2);
    const line = new Float64Array(p);
    for (let x = 0; x < p; x++) {
      const off = x - centre;
      line[x] = Math.abs(off) <= radius ? k[off + radius]! : 0;
    }
    return line;
  });
  // Value at voxel = ((1 · k0[x]) · k1[y]) · k2[z] (axis order of scipy's separable passes), then / (max / maxValue).
  const centre = patch.map((p) => Math.floor(p / 2));
  let max = 1;
  kernels.forEach((k, d) => (max *= k[centre[d]!]!));
  const scale = max / blending.maxValue;
  const idx = new Array<number>(patch.length).fill(0);
  let minNonZero = Infinity;
  for (let i = 0; i < n; i++) {
    let v = 1;
    for (let d = 0; d < patch.length; d++) v *= kernels[d]![idx[d]!]!;
    v /= scale;
    // torch casts float64 → float16 through float32 (double rounding), unlike NumPy.
    const cast = dtype === 'float16' ? HALF_TO_FLOAT[halfBitsFromFloat32(Math.fround(v))]! : Math.fround(v);
    out[i] = cast;
    if (cast !== 0 && cast < minNonZero) minNonZero = cast;
    for (let d = patch.length - 1; d >= 0; d--) {
      if (++idx[d]! < patch[d]!) break;
      idx[d] = 0;
    }
  }
  for (let i = 0; i < n; i++) if (out[i] === 0) out[i] = minNonZero;
  return out;
}
