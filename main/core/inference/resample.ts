/**
 * nnU-Net's resampling, reproduced in TypeScript (nnunetv2/preprocessing/resampling/default_resampling.py).
 *
 * nnU-Net resizes with `skimage.transform.resize(order, mode='edge', anti_aliasing=False)` (clip=True), which is
 * `scipy.ndimage.zoom(grid_mode=True, mode='nearest')` followed by clipping to the input's range:
 * - input coordinate of output voxel o: `(o + 0.5) · in/out − 0.5`;
 * - order 3: cubic B-spline on the input padded by 12 edge voxels, prefiltered with scipy's recursive filter
 *   (pole √3−2, mirror initialisation), 4 taps;
 * - order 1: linear, indices clamped; order 0: `floor(x + 0.5)`, clamped;
 * - output clipped to [min, max] of the input (per channel; per 2-D slice on the separate-z path).
 * The separate-z path resizes each slice in-plane with `order`, then along the coarse axis with
 * `map_coordinates(order_z, mode='nearest')` on the same coordinate formula (no clipping).
 *
 * The N-D spline is a tensor product of 1-D operators, so the volume is resized one axis at a time; results
 * equal SciPy's to float64 rounding (≈1e-15 relative). All arrays are C-order (last axis fastest), tensor axes.
 */

export type FloatArray = Float32Array | Float64Array;

/** nnU-Net `compute_new_shape`: `int(round(old_spacing / new_spacing · old_shape))` with Python's round-half-even. */
export function computeNewShape(oldShape: readonly number[], oldSpacing: readonly number[], newSpacing: readonly number[]): number[] {
  return oldShape.map((s, d) => {
    const x = (oldSpacing[d]! / newSpacing[d]!) * s;
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  });
}

/**
 * nnU-Net `determine_do_sep_z_and_axis(force, current, new, threshold)`: whether to resample the coarse axis
 * separately and which axis it is (null when not).
 */
export function separateZAxis(forceSeparateZ: boolean | null, currentSpacing: readonly number[], newSpacing: readonly number[], threshold: number): number | null {
  const lowres = (sp: readonly number[]): number[] => {
    const mx = Math.max(...sp);
    return sp.flatMap((s, i) => (mx / s === 1 ? [i] : []));
  };
  const aniso = (sp: readonly number[]): boolean => Math.max(...sp) / Math.min(...sp) > threshold;
  let axes: number[] | null;
  if (forceSeparateZ !== null) axes = forceSeparateZ ? lowres(currentSpacing) : null;
  else if (aniso(currentSpacing)) axes = lowres(currentSpacing);
  else if (aniso(newSpacing)) axes = lowres(newSpacing);
  else axes = null;
  if (axes === null || axes.length !== 1) return null;
  return axes[0]!;
}

/** Per-output-voxel taps along one axis. */
export interface AxisPlan {
  inLen: number;
  outLen: number;
  order: 0 | 1 | 3;
  /** First input index of each output's taps (in the 12-voxel padded line for order 3). */
  start: Int32Array;
  /** `order + 1` weights per output (1 for order 0). */
  weights: Float64Array;
}

const POLE3 = -0.2679491924311227; // scipy literal -0.267949192431122706472553658494127633 (√3 − 2) as a double
const PAD3 = 12;

/** scipy `get_spline_interpolation_weights` for orders 1 and 3. */
function splineWeights(x: number, order: 1 | 3, out: Float64Array, offset: number): void {
  x -= Math.floor(x);
  if (order === 1) {
    out[offset] = 1 - x;
    out[offset + 1] = 1 - out[offset]!;
    return;
  }
  const y = x;
  const z = 1 - x;
  const w1 = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
  const w2 = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
  const w0 = (z * z * z) / 6.0;
  out[offset] = w0;
  out[offset + 1] = w1;
  out[offset + 2] = w2;
  out[offset + 3] = 1.0 - w0 - w1 - w2;
}

/** Taps for resizing a line of `inLen` samples to `outLen` with spline `order` (grid mode, edge extension). */
export function planAxis(inLen: number, outLen: number, order: 0 | 1 | 3): AxisPlan {
  const zoom = inLen / outLen;
  const taps = order === 0 ? 1 : order + 1;
  const start = new Int32Array(outLen);
  const weights = new Float64Array(outLen * taps);
  for (let o = 0; o < outLen; o++) {
    let cc = (o + 0.5) * zoom - 0.5;
    if (order === 0) {
      start[o] = Math.min(Math.max(Math.floor(cc + 0.5), 0), inLen - 1);
      weights[o] = 1;
    } else if (order === 1) {
      start[o] = Math.floor(cc);
      splineWeights(cc, 1, weights, o * 2);
    } else {
      cc += PAD3;
      start[o] = Math.floor(cc) - 1;
      splineWeights(cc, 3, weights, o * 4);
    }
  }
  return { inLen, outLen, order, start, weights };
}

/**
 * Resize along the middle axis of a C-order array viewed as `[outer, inLen, inner]` into `dst`
 * `[outer, outLen, inner]`. Works on whole `inner`-long vectors, so the slow axes are as fast as the fast one.
 */
export function resizeAxis(src: FloatArray, outer: number, inner: number, plan: AxisPlan, dst: FloatArray, scratch?: Float64Array): void {
  const { inLen, outLen, order, start, weights } = plan;
  const srcBlock = inLen * inner;
  const dstBlock = outLen * inner;
  if (order === 0) {
    for (let b = 0; b < outer; b++)
      for (let o = 0; o < outLen; o++) {
        const s = b * srcBlock + start[o]! * inner;
        const d = b * dstBlock + o * inner;
        for (let q = 0; q < inner; q++) dst[d + q] = src[s + q]!;
      }
    return;
  }
  if (order === 1) {
    for (let b = 0; b < outer; b++)
      for (let o = 0; o < outLen; o++) {
        const i0 = start[o]!;
        const a = Math.min(Math.max(i0, 0), inLen - 1);
        const c = Math.min(Math.max(i0 + 1, 0), inLen - 1);
        const w0 = weights[o * 2]!;
        const w1 = weights[o * 2 + 1]!;
        const s0 = b * srcBlock + a * inner;
        const s1 = b * srcBlock + c * inner;
        const d = b * dstBlock + o * inner;
        for (let q = 0; q < inner; q++) dst[d + q] = src[s0 + q]! * w0 + src[s1 + q]! * w1;
      }
    return;
  }
  // Order 3: pad by 12 edge samples, prefilter (scipy ni_splines.c, mirror init), 4 taps. Wide slabs (a slow
  // axis) are processed in column chunks so the float64 coefficient buffer stays small.
  const CHUNK = 8192;
  if (inner > CHUNK) {
    const n = inLen + 2 * PAD3;
    const buf = scratch && scratch.length >= n * CHUNK ? scratch : new Float64Array(n * CHUNK);
    const srcChunk = new Float64Array(inLen * CHUNK);
    const dstChunk = new Float64Array(outLen * CHUNK);
    for (let b = 0; b < outer; b++)
      for (let q0 = 0; q0 < inner; q0 += CHUNK) {
        const w = Math.min(CHUNK, inner - q0);
        const sv = w === CHUNK ? srcChunk : new Float64Array(inLen * w);
        const dv = w === CHUNK ? dstChunk : new Float64Array(outLen * w);
        for (let i = 0; i < inLen; i++) {
          const s0 = b * srcBlock + i * inner + q0;
          for (let q = 0; q < w; q++) sv[i * w + q] = src[s0 + q]!;
        }
        resizeAxis(sv, 1, w, plan, dv, buf);
        for (let o = 0; o < outLen; o++) {
          const d0 = b * dstBlock + o * inner + q0;
          for (let q = 0; q < w; q++) dst[d0 + q] = dv[o * w + q]!;
        }
      }
    return;
  }
  const n = inLen + 2 * PAD3;
  if (inner === 1) return splineLines(src, outer, plan, dst, scratch && scratch.length >= n ? scratch : new Float64Array(n));
  const c = scratch && scratch.length >= n * inner ? scratch : new Float64Array(n * inner);
  const z = POLE3;
  const gain = (1.0 - z) * (1.0 - 1.0 / z);
  const zn1 = Math.pow(z, n - 1);
  const c0 = new Float64Array(inner);
  for (let b = 0; b < outer; b++) {
    const base = b * srcBlock;
    for (let p = 0; p < n; p++) {
      const srcRow = base + Math.min(Math.max(p - PAD3, 0), inLen - 1) * inner;
      const row = p * inner;
      for (let q = 0; q < inner; q++) c[row + q] = src[srcRow + q]! * gain;
    }
    // causal init (_init_causal_mirror)
    const last = (n - 1) * inner;
    for (let q = 0; q < inner; q++) c0[q] = c[q]! + zn1 * c[last + q]!;
    let zi = z;
    for (let i = 1; i < n - 1; i++) {
      const ri = i * inner;
      const rm = (n - 1 - i) * inner;
      for (let q = 0; q < inner; q++) c0[q]! += zi * (c[ri + q]! + zn1 * c[rm + q]!);
      zi *= z;
    }
    const den = 1 - zn1 * zn1;
    for (let q = 0; q < inner; q++) c[q] = c0[q]! / den;
    for (let i = 1; i < n; i++) {
      const r = i * inner;
      const rp = r - inner;
      for (let q = 0; q < inner; q++) c[r + q]! += z * c[rp + q]!;
    }
    // anticausal init (_init_anticausal_mirror) and backward pass
    const r2 = (n - 2) * inner;
    for (let q = 0; q < inner; q++) c[last + q] = ((z * c[r2 + q]! + c[last + q]!) * z) / (z * z - 1);
    for (let i = n - 2; i >= 0; i--) {
      const r = i * inner;
      const rn = r + inner;
      for (let q = 0; q < inner; q++) c[r + q] = z * (c[rn + q]! - c[r + q]!);
    }
    const dBase = b * dstBlock;
    for (let o = 0; o < outLen; o++) {
      const s = start[o]! * inner;
      const w0 = weights[o * 4]!;
      const w1 = weights[o * 4 + 1]!;
      const w2 = weights[o * 4 + 2]!;
      const w3 = weights[o * 4 + 3]!;
      const d = dBase + o * inner;
      for (let q = 0; q < inner; q++)
        dst[d + q] = c[s + q]! * w0 + c[s + inner + q]! * w1 + c[s + 2 * inner + q]! * w2 + c[s + 3 * inner + q]! * w3;
    }
  }
}

/**
 * Order-3 resize of `outer` contiguous lines (the fastest axis, `inner` = 1): the operations of resizeAxis's
 * vectorised path, in the same order, without its per-column inner loops (the PGBM-001 MR's in-plane resize of
 * its fastest axis: 27 → 13 ms).
 */
function splineLines(src: FloatArray, outer: number, plan: AxisPlan, dst: FloatArray, c: Float64Array): void {
  const { inLen, outLen, start, weights } = plan;
  const n = inLen + 2 * PAD3;
  const z = POLE3;
  const gain = (1.0 - z) * (1.0 - 1.0 / z);
  const zn1 = Math.pow(z, n - 1);
  const den = 1 - zn1 * zn1;
  const last = n - 1;
  for (let b = 0; b < outer; b++) {
    const base = b * inLen;
    const first = src[base]! * gain;
    const end = src[base + inLen - 1]! * gain;
    for (let p = 0; p < PAD3; p++) c[p] = first;
    for (let i = 0; i < inLen; i++) c[PAD3 + i] = src[base + i]! * gain;
    for (let p = PAD3 + inLen; p < n; p++) c[p] = end;
    let c0 = c[0]! + zn1 * c[last]!;
    let zi = z;
    for (let i = 1; i < n - 1; i++) {
      c0 += zi * (c[i]! + zn1 * c[last - i]!);
      zi *= z;
    }
    c[0] = c0 / den;
    for (let i = 1; i < n; i++) c[i]! += z * c[i - 1]!;
    c[last] = ((z * c[n - 2]! + c[last]!) * z) / (z * z - 1);
    for (let i = n - 2; i >= 0; i--) c[i] = z * (c[i + 1]! - c[i]!);
    const d = b * outLen;
    for (let o = 0; o < outLen; o++) {
      const s = start[o]!;
      dst[d + o] = c[s]! * weights[o * 4]! + c[s + 1]! * weights[o * 4 + 1]! + c[s + 2]! * weights[o * 4 + 2]! + c[s + 3]! * weights[o * 4 + 3]!;
    }
  }
}

/** Orders of each axis for a resize (the coarse axis gets `orderZ` on the separate-z path). */
export function axisOrders(ndim: number, order: 0 | 1 | 3, orderZ: 0 | 1, sepAxis: number | null): (0 | 1 | 3)[] {
  return Array.from({ length: ndim }, (_, a) => (sepAxis === a ? orderZ : order));
}

function product(a: readonly number[]): number {
  return a.reduce((x, y) => x * y, 1);
}

/**
 * nnU-Net `resample_data_or_seg(data[c], new_shape, is_seg=False, axis, order, do_separate_z, order_z)` for one
 * channel of a 3-D C-order array: returns a new float64 array of `newShape` (or a float64 copy when shapes agree).
 */
export function resizeChannel(src: FloatArray, shape: readonly number[], newShape: readonly number[], order: 0 | 1 | 3, orderZ: 0 | 1, sepAxis: number | null): Float64Array {
  if (shape.every((s, d) => s === newShape[d])) return Float64Array.from(src);
  const ndim = shape.length;
  let cur: FloatArray = src;
  let curShape = [...shape];
  // In-plane (or all axes, without separate z): spline `order`, then clip.
  const inPlane = Array.from({ length: ndim }, (_, a) => a).filter((a) => a !== sepAxis);
  const needInPlane = sepAxis === null || inPlane.some((a) => shape[a] !== newShape[a]);
  if (needInPlane) {
    // Shrinking axes first keeps the float64 intermediates small (the tensor product does not depend on the order).
    inPlane.sort((a, b) => newShape[a]! / shape[a]! - newShape[b]! / shape[b]!);
    for (const a of inPlane) {
      const out = [...curShape];
      out[a] = newShape[a]!;
      const dst = new Float64Array(product(out));
      resizeAxis(cur, product(curShape.slice(0, a)), product(curShape.slice(a + 1)), planAxis(curShape[a]!, newShape[a]!, order), dst);
      cur = dst;
      curShape = out;
    }
    if (order > 1) clipToInput(src, shape, cur as Float64Array, curShape, sepAxis);
  }
  if (sepAxis !== null && shape[sepAxis] !== newShape[sepAxis]) {
    const a = sepAxis;
    const out = [...curShape];
    out[a] = newShape[a]!;
    const dst = new Float64Array(product(out));
    resizeAxis(cur, product(curShape.slice(0, a)), product(curShape.slice(a + 1)), planAxis(curShape[a]!, newShape[a]!, orderZ), dst);
    cur = dst;
  }
  return cur instanceof Float64Array && cur !== src ? cur : Float64Array.from(cur);
}

/**
 * {@link resizeChannel} written into a float32 `dst` of `newShape` (the same values, cast once). On the separate-z
 * path with the coarse axis first (tensor axis 0, the usual case) it works slice by slice — in-plane resize of a
 * slice, its clipping, then the order-0/1 interpolation along axis 0 from at most two such slices — so no
 * volume-sized float64 intermediate is made: the PGBM-001 MR (24 × 319 × 259 → 24 × 160 × 130, order 3) took
 * 134–142 ms on a first call with them, most of it filling fresh pages. Values equal resizeChannel's bit for bit
 * (each output is formed by the same operations in the same order).
 */
export function resizeChannelInto(src: FloatArray, shape: readonly number[], newShape: readonly number[], order: 0 | 1 | 3, orderZ: 0 | 1, sepAxis: number | null, dst: Float32Array): void {
  if (sepAxis !== 0 || shape.length !== 3) {
    dst.set(resizeChannel(src, shape, newShape, order, orderZ, sepAxis));
    return;
  }
  const [n0, n1, n2] = shape as [number, number, number];
  const [m0, m1, m2] = newShape as [number, number, number];
  const inPlaneSize = n1 * n2;
  const outPlaneSize = m1 * m2;
  const needInPlane = n1 !== m1 || n2 !== m2;
  // resizeChannel's in-plane axis order: shrinking axes first (stable for equal ratios).
  const axes = [1, 2].sort((a, b) => newShape[a]! / shape[a]! - newShape[b]! / shape[b]!);
  const plans = axes.map((a) => planAxis(shape[a]!, newShape[a]!, order));
  const midShape = axes[0] === 1 ? [m1, n2] : [n1, m2];
  const mid = new Float64Array(midShape[0]! * midShape[1]!);
  const scratch = new Float64Array((Math.max(n1, n2) + 2 * PAD3) * Math.max(n1, n2, m1, m2));
  /** The in-plane resize of slice k (float64, m1 × m2; the source slice itself when in-plane sizes agree). */
  const cache: { k: number; plane: FloatArray }[] = [];
  const planeOf = (k: number): FloatArray => {
    const hit = cache.find((e) => e.k === k);
    if (hit) return hit.plane;
    const slice = src.subarray(k * inPlaneSize, (k + 1) * inPlaneSize);
    let plane: FloatArray = slice;
    if (needInPlane) {
      // Reuse the buffer of a slice no longer needed (slices are asked for in non-decreasing order).
      const reuse = cache.length >= 2 ? cache.shift()!.plane : undefined;
      const out = reuse instanceof Float64Array && reuse.length === outPlaneSize ? reuse : new Float64Array(outPlaneSize);
      if (axes[0] === 1) {
        resizeAxis(slice, 1, n2, plans[0]!, mid, scratch);
        resizeAxis(mid, m1, 1, plans[1]!, out, scratch);
      } else {
        resizeAxis(slice, n1, 1, plans[0]!, mid, scratch);
        resizeAxis(mid, 1, m2, plans[1]!, out, scratch);
      }
      if (order > 1) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < inPlaneSize; i++) {
          const v = slice[i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        for (let i = 0; i < outPlaneSize; i++) {
          const v = out[i]!;
          out[i] = v < lo ? lo : v > hi ? hi : v;
        }
      }
      plane = out;
    } else if (cache.length >= 2) cache.shift();
    cache.push({ k, plane });
    return plane;
  };
  if (n0 === m0) {
    for (let o = 0; o < m0; o++) dst.set(planeOf(o), o * outPlaneSize);
    return;
  }
  const { start, weights } = planAxis(n0, m0, orderZ);
  for (let o = 0; o < m0; o++) {
    const d = o * outPlaneSize;
    if (orderZ === 0) {
      dst.set(planeOf(start[o]!), d);
      continue;
    }
    const i0 = start[o]!;
    const a = planeOf(Math.min(Math.max(i0, 0), n0 - 1));
    const c = planeOf(Math.min(Math.max(i0 + 1, 0), n0 - 1));
    const w0 = weights[o * 2]!;
    const w1 = weights[o * 2 + 1]!;
    for (let q = 0; q < outPlaneSize; q++) dst[d + q] = a[q]! * w0 + c[q]! * w1;
  }
}

/** skimage's clip=True: to the whole input's range, or per slice along `sepAxis` on the separate-z path. */
function clipToInput(src: FloatArray, shape: readonly number[], out: Float64Array, outShape: readonly number[], sepAxis: number | null): void {
  if (sepAxis === null) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    for (let i = 0; i < out.length; i++) {
      const v = out[i]!;
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
    return;
  }
  // Slices along sepAxis: the array is [outer, n, inner]; slice s = all (o, s, q).
  const n = shape[sepAxis]!;
  const outerS = product(shape.slice(0, sepAxis));
  const innerS = product(shape.slice(sepAxis + 1));
  const outerO = product(outShape.slice(0, sepAxis));
  const innerO = product(outShape.slice(sepAxis + 1));
  for (let s = 0; s < n; s++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let o = 0; o < outerS; o++) {
      const base = (o * n + s) * innerS;
      for (let q = 0; q < innerS; q++) {
        const v = src[base + q]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    for (let o = 0; o < outerO; o++) {
      const base = (o * n + s) * innerO;
      for (let q = 0; q < innerO; q++) {
        const v = out[base + q]!;
        out[base + q] = v < lo ? lo : v > hi ? hi : v;
      }
    }
  }
}
