/**
 * nnU-Net v2's preprocessing of the input channels (DefaultPreprocessor.run_case_npy): transpose to tensor axes,
 * crop to the bounding box of the hole-filled non-zero region of all channels, normalise, resample to the target
 * spacing. Every step records what the export needs to invert it ({@link PreprocessRecord}).
 *
 * Tensors are C-order Float32Arrays `[C, t0, t1, t2]` (t2 fastest) with tensor axis d = image axis
 * `tensorAxesFromIjk[d]`.
 */
import { DelineateError } from '../../common/errors';
import type { ModelManifest, Normalization } from '../../common/manifest';
import type { Volume } from '../../common/volume';
import { computeNewShape, resizeChannelInto, separateZAxis } from './resample';

export type Vec3n = [number, number, number];

/** What preprocessing did, to be replayed backwards on the prediction. */
export interface PreprocessRecord {
  /** Image size along tensor axes, before cropping. */
  shapeBeforeCropping: Vec3n;
  /** [start, end) per tensor axis of the crop (the whole extent when not cropping). */
  bbox: [Vec3n, Vec3n];
  /** Cropped size (tensor order) = the grid logits are resampled back to. */
  shapeAfterCropping: Vec3n;
  /** Image spacing along tensor axes (mm). */
  spacingMm: Vec3n;
  /** Network-grid spacing (tensor order, mm). */
  networkSpacingMm: Vec3n;
  /** Network-grid size (tensor order), before padding to the patch. */
  networkShape: Vec3n;
}

/** Image tensor on the network grid plus its record. */
export interface Preprocessed {
  data: Float32Array;
  channels: number;
  record: PreprocessRecord;
}

const GRID_TOL = 1e-4;

/** All channels must share one grid (size exactly; spacing, origin, direction within 1e-4). */
export function checkSameGrid(volumes: readonly Volume[], names: readonly string[]): void {
  const ref = volumes[0]!;
  volumes.forEach((v, n) => {
    if (n === 0) return;
    const what =
      v.size.some((s, d) => s !== ref.size[d]) ? `size ${v.size.join('×')} vs ${ref.size.join('×')}`
      : v.spacingMm.some((s, d) => Math.abs(s - ref.spacingMm[d]!) > GRID_TOL * Math.max(1, Math.abs(s))) ? `spacing ${v.spacingMm.join(',')} vs ${ref.spacingMm.join(',')} mm`
      : v.originMm.some((s, d) => Math.abs(s - ref.originMm[d]!) > GRID_TOL * Math.max(1, Math.abs(s))) ? `origin ${v.originMm.join(',')} vs ${ref.originMm.join(',')} mm`
      : v.direction.some((s, d) => Math.abs(s - ref.direction[d]!) > GRID_TOL) ? 'direction'
      : undefined;
    if (what)
      throw new DelineateError('GEOMETRY', `Input channel ${n + 1} (${names[n]}) is not on the grid of channel 1 (${names[0]}): ${what}. Resample the channels onto one grid first.`, { subject: names[n] });
  });
}

/** Permute an image volume into a float32 tensor (tensor axis d = image axis perm[d]). */
export function toTensor(v: Volume, perm: readonly number[], out: Float32Array, name: string): Vec3n {
  const shape = perm.map((a) => v.size[a]!) as Vec3n;
  const strideIjk = [1, v.size[0], v.size[0] * v.size[1]];
  const s0 = strideIjk[perm[0]!]!;
  const s1 = strideIjk[perm[1]!]!;
  const s2 = strideIjk[perm[2]!]!;
  const src = v.data;
  // Integer images cannot hold NaN; rows contiguous in the source (the usual [k, j, i] order) are one typed-array
  // conversion each (PGBM-001 MR, 2 M int16 voxels: 2–8 ms, the element loop 7–13 ms).
  if (s2 === 1 && !(src instanceof Float32Array) && !(src instanceof Float64Array)) {
    let o = 0;
    for (let a = 0; a < shape[0]; a++)
      for (let b = 0; b < shape[1]; b++, o += shape[2]) {
        const base = a * s0 + b * s1;
        out.set(src.subarray(base, base + shape[2]), o);
      }
    return shape;
  }
  let o = 0;
  for (let a = 0; a < shape[0]; a++)
    for (let b = 0; b < shape[1]; b++) {
      const base = a * s0 + b * s1;
      for (let c = 0; c < shape[2]; c++) {
        const x = src[base + c * s2]!;
        if (x !== x) throw new DelineateError('INPUT', `${name}: the image contains NaN values`, { subject: name });
        out[o++] = x;
      }
    }
  return shape;
}

/**
 * nnU-Net `create_nonzero_mask`: voxels where any channel is non-zero, with holes filled
 * (scipy `binary_fill_holes`, 6-connected background not reachable from the border becomes foreground).
 */
export function nonzeroMask(data: Float32Array, channels: number, shape: Vec3n): Uint8Array {
  const n = shape[0] * shape[1] * shape[2];
  // 1 = non-zero, 2 = zero (background or hole); the flood below turns reached background to 0 in place, and the
  // 2s left are holes (no second volume-sized array, no pass over the volume when there are none).
  const mask = new Uint8Array(n).fill(2);
  let background = n;
  for (let c = 0; c < channels; c++) {
    const off = c * n;
    for (let i = 0; i < n; i++)
      if (data[off + i] !== 0 && mask[i] === 2) {
        mask[i] = 1;
        background--;
      }
  }
  // Flood the background from the border (6-connectivity); unreached background = holes → foreground.
  const [n0, n1, n2] = shape;
  if (background === 0) return mask; // nothing to fill
  let reachedCount = 0;
  let stack = new Int32Array(Math.min(n, 1 << 20));
  let sp = 0;
  const push = (i: number): void => {
    if (mask[i] === 2) {
      mask[i] = 0;
      reachedCount++;
      if (sp === stack.length) {
        const grown = new Int32Array(Math.min(n, stack.length * 2));
        grown.set(stack);
        stack = grown;
      }
      stack[sp++] = i;
    }
  };
  // Seeds: the border voxels only (first and last of every row; whole rows on the border planes).
  for (let a = 0; a < n0; a++)
    for (let b = 0; b < n1; b++) {
      const row = (a * n1 + b) * n2;
      if (a === 0 || b === 0 || a === n0 - 1 || b === n1 - 1) for (let c = 0; c < n2; c++) push(row + c);
      else {
        push(row);
        push(row + n2 - 1);
      }
    }
  const s1 = n2;
  const s0 = n1 * n2;
  while (sp > 0) {
    const i = stack[--sp]!;
    const c = i % n2;
    const b = Math.floor(i / n2) % n1;
    const a = Math.floor(i / s0);
    if (c > 0) push(i - 1);
    if (c < n2 - 1) push(i + 1);
    if (b > 0) push(i - s1);
    if (b < n1 - 1) push(i + s1);
    if (a > 0) push(i - s0);
    if (a < n0 - 1) push(i + s0);
  }
  if (reachedCount < background) for (let i = 0; i < n; i++) if (mask[i] === 2) mask[i] = 1;
  return mask;
}

/** Bounding box [start, end) of a mask (the whole extent when it is empty). */
export function maskBbox(mask: Uint8Array, shape: Vec3n): [Vec3n, Vec3n] {
  const lo: Vec3n = [shape[0], shape[1], shape[2]];
  const hi: Vec3n = [0, 0, 0];
  const n2 = shape[2];
  for (let a = 0; a < shape[0]; a++)
    for (let b = 0; b < shape[1]; b++) {
      // First and last set (non-zero) voxel of the row.
      const row = (a * shape[1] + b) * n2;
      let first = 0;
      while (first < n2 && !mask[row + first]) first++;
      if (first === n2) continue;
      let last = n2 - 1;
      while (!mask[row + last]) last--;
      if (a < lo[0]) lo[0] = a;
      if (a >= hi[0]) hi[0] = a + 1;
      if (b < lo[1]) lo[1] = b;
      if (b >= hi[1]) hi[1] = b + 1;
      if (first < lo[2]) lo[2] = first;
      if (last >= hi[2]) hi[2] = last + 1;
    }
  if (hi[0] === 0) return [[0, 0, 0], [...shape]];
  return [lo, hi];
}

/** Copy the box [lo, hi) of each channel of a [C, shape] tensor. */
export function cropTensor<T extends Float32Array | Uint8Array>(data: T, channels: number, shape: Vec3n, lo: Vec3n, hi: Vec3n): T {
  if (lo.every((v) => v === 0) && hi.every((v, d) => v === shape[d])) return data; // the whole extent: no copy
  const out = new (data.constructor as new (n: number) => T)(channels * (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
  const n = shape[0] * shape[1] * shape[2];
  let o = 0;
  for (let ch = 0; ch < channels; ch++)
    for (let a = lo[0]; a < hi[0]; a++)
      for (let b = lo[1]; b < hi[1]; b++) {
        const base = ch * n + (a * shape[1] + b) * shape[2];
        out.set(data.subarray(base + lo[2], base + hi[2]) as never, o);
        o += hi[2] - lo[2];
      }
  return out;
}

/**
 * {@link cropTensor} within `data`'s own buffer (rows moved down with copyWithin; every row's destination precedes its
 * source): the cropped [C, box] tensor as a view of `data`, whose other values are then garbage. No fresh buffer:
 * a first 8 MB allocation costs 10–20 ms in page faults on the VMs measured (the PGBM-001 MR's crop 18–22 → ≈ 5 ms).
 */
export function cropTensorInPlace<T extends Float32Array | Uint8Array>(data: T, channels: number, shape: Vec3n, lo: Vec3n, hi: Vec3n): T {
  if (lo.every((v) => v === 0) && hi.every((v, d) => v === shape[d])) return data;
  const n = shape[0] * shape[1] * shape[2];
  const row = hi[2] - lo[2];
  let o = 0;
  for (let ch = 0; ch < channels; ch++)
    for (let a = lo[0]; a < hi[0]; a++)
      for (let b = lo[1]; b < hi[1]; b++) {
        const base = ch * n + (a * shape[1] + b) * shape[2] + lo[2];
        if (base !== o) data.copyWithin(o, base, base + row);
        o += row;
      }
  return data.subarray(0, o) as T;
}

/**
 * Normalise one channel in place (float32 arithmetic as NumPy does on a float32 array). Statistics are computed
 * in float64 (NumPy's float32 pairwise sums differ from them by ~1e-7 relative).
 */
export function normalizeChannel(x: Float32Array, norm: Normalization, mask: Uint8Array | undefined): void {
  const f = Math.fround;
  switch (norm.scheme) {
    case 'none':
      return;
    case 'rgb01':
      for (let i = 0; i < x.length; i++) x[i] = x[i]! / 255;
      return;
    case 'ct': {
      const lo = f(norm.lowerBound);
      const hi = f(norm.upperBound);
      const mean = f(norm.mean);
      const std = f(Math.max(norm.std, 1e-8));
      for (let i = 0; i < x.length; i++) {
        const v = x[i]!;
        x[i] = f((v < lo ? lo : v > hi ? hi : v) - mean) / std;
      }
      return;
    }
    case 'rescale01': {
      let mn = Infinity;
      for (let i = 0; i < x.length; i++) if (x[i]! < mn) mn = x[i]!;
      let mx = -Infinity;
      for (let i = 0; i < x.length; i++) {
        x[i] = x[i]! - mn;
        if (x[i]! > mx) mx = x[i]!;
      }
      const den = f(Math.max(mx, 1e-8));
      for (let i = 0; i < x.length; i++) x[i] = x[i]! / den;
      return;
    }
    case 'zscore': {
      const use = norm.useMask && mask !== undefined;
      let n = 0;
      let sum = 0;
      for (let i = 0; i < x.length; i++)
        if (!use || mask[i]) {
          sum += x[i]!;
          n++;
        }
      if (n === 0) return;
      const mean = f(sum / n);
      let ss = 0;
      for (let i = 0; i < x.length; i++)
        if (!use || mask[i]) {
          const d = f(x[i]! - mean);
          ss += d * d;
        }
      const std = f(Math.max(f(Math.sqrt(ss / n)), 1e-8));
      for (let i = 0; i < x.length; i++) if (!use || mask[i]) x[i] = f(x[i]! - mean) / std;
      return;
    }
  }
}

/** Image spacing along tensor axes. */
export function tensorSpacing(v: Volume, perm: readonly number[]): Vec3n {
  return perm.map((a) => v.spacingMm[a]!) as Vec3n;
}

/** The network grid's spacing for a manifest (2D models keep the slice spacing). */
export function networkSpacing(m: ModelManifest, spacing: Vec3n): Vec3n {
  if (m.targetSpacingMm === null) return [...spacing];
  if (m.targetSpacingMm.length === 2) return [spacing[0], m.targetSpacingMm[0]!, m.targetSpacingMm[1]!];
  return [...m.targetSpacingMm] as Vec3n;
}

/**
 * Run the whole preprocessing for the image channels (and optional extra tensor channels already in tensor
 * order on the uncropped grid, e.g. a cascade's one-hot previous stage: they are cropped and resampled as
 * segmentations by the caller).
 */
export function preprocess(m: ModelManifest, volumes: readonly Volume[], names: readonly string[]): Preprocessed {
  if (volumes.length !== m.channels.length)
    throw new DelineateError('INPUT', `Model ${m.id} takes ${m.channels.length} input channel(s) (${m.channels.map((c) => c.name).join(', ')}), got ${volumes.length}`, { subject: m.id });
  checkSameGrid(volumes, names);
  const perm = m.tensorAxesFromIjk;
  const C = volumes.length;
  const n = volumes[0]!.data.length;
  const full = new Float32Array(C * n);
  let shape: Vec3n = [0, 0, 0];
  volumes.forEach((v, c) => (shape = toTensor(v, perm, full.subarray(c * n, (c + 1) * n), names[c]!)));
  const spacing = tensorSpacing(volumes[0]!, perm);

  const needMask = m.cropToNonzero || m.channels.some((c) => c.normalization.scheme === 'zscore' && c.normalization.useMask);
  let mask = needMask ? nonzeroMask(full, C, shape) : undefined;
  let bbox: [Vec3n, Vec3n] = [[0, 0, 0], [...shape]];
  let data = full;
  if (m.cropToNonzero && mask) {
    bbox = maskBbox(mask, shape);
    // In place: `full` and the uncropped mask are not used again.
    data = cropTensorInPlace(full, C, shape, bbox[0], bbox[1]);
    mask = cropTensorInPlace(mask, 1, shape, bbox[0], bbox[1]);
  }
  const cropped: Vec3n = [bbox[1][0] - bbox[0][0], bbox[1][1] - bbox[0][1], bbox[1][2] - bbox[0][2]];
  const cn = cropped[0] * cropped[1] * cropped[2];
  m.channels.forEach((ch, c) => normalizeChannel(data.subarray(c * cn, (c + 1) * cn), ch.normalization, mask));

  const netSpacing = networkSpacing(m, spacing);
  const netShape = (m.targetSpacingMm === null ? [...cropped] : computeNewShape(cropped, spacing, netSpacing)) as Vec3n;
  let out = data;
  if (netShape.some((s, d) => s !== cropped[d])) {
    const r = m.resampling;
    const axis = separateZAxis(r.forceSeparateZ, spacing, netSpacing, r.anisotropyThreshold);
    const nn = netShape[0] * netShape[1] * netShape[2];
    out = new Float32Array(C * nn);
    for (let c = 0; c < C; c++) resizeChannelInto(data.subarray(c * cn, (c + 1) * cn), cropped, netShape, r.dataOrder, r.dataOrderZ, axis, out.subarray(c * nn, (c + 1) * nn));
  }
  return {
    data: out,
    channels: C,
    record: { shapeBeforeCropping: shape, bbox, shapeAfterCropping: cropped, spacingMm: spacing, networkSpacingMm: netSpacing, networkShape: netShape },
  };
}
