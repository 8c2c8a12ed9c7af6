/**
 * IEEE-754 binary16 ("half") helpers. nnU-Net v2 accumulates its sliding-window logits, the weight sum and the
 * Gaussian map in torch.float16 and resamples the half logits into a float16 array; the `float16` accumulation
 * mode of the engine reproduces that bit for bit (and halves the band's memory). Halves are stored as uint16 bits.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** 2^(e + 42) for the exponents e = −14 … 15 of normal halves (index e + 14): adding and subtracting it rounds a double of exponent e to the half spacing 2^(e − 10), ties to even. */
const ROUNDER = Float64Array.from({ length: 30 }, (_, i) => 2 ** (i + 28));
/** 2^(10 − e) (index e + 14): a rounded value times it is 1024 + its half mantissa. */
const MANTISSA_SCALE = Float64Array.from({ length: 30 }, (_, i) => 2 ** (24 - i));

/**
 * Bits of the half nearest to the float32 value of `x` (round to nearest, ties to even; overflow → ±Inf).
 * Float arithmetic instead of reading the float32's bits through a typed array (≈ 1.5× faster; the engine calls it
 * for every accumulated logit and weight): the value is rounded to its half spacing by adding and subtracting
 * 2^(e+42) (float64 rounds to nearest even at that number's ulp), e from the top bit of ⌊|v|·2^14⌋; below 2^-14
 * the spacing is 2^-24 (2^28's ulp). ±0 and NaN take the bitwise path. Equal to it for all 2^32 float32 values
 * (checked once; test/unit/inference/numerics.test.ts checks a sample and the edges).
 */
export function halfBitsFromFloat32(x: number): number {
  const v = Math.fround(x);
  if (v > 0) {
    if (v < 6.103515625e-5) return (v + 268435456 - 268435456) * 16777216;
    if (v >= 65520) return 0x7c00;
    const i = 31 - Math.clz32((v * 16384) | 0);
    const r = ROUNDER[i]!;
    return ((i + 1) << 10) + ((v + r - r) * MANTISSA_SCALE[i]! - 1024);
  }
  if (v < 0) {
    const a = -v;
    if (a < 6.103515625e-5) return 0x8000 | ((a + 268435456 - 268435456) * 16777216);
    if (a >= 65520) return 0xfc00;
    const i = 31 - Math.clz32((a * 16384) | 0);
    const r = ROUNDER[i]!;
    return 0x8000 | (((i + 1) << 10) + ((a + r - r) * MANTISSA_SCALE[i]! - 1024));
  }
  return halfBitsFromFloat32Bitwise(v);
}

/** {@link halfBitsFromFloat32} by the float32's bits (the reference; used for ±0 and NaN). */
export function halfBitsFromFloat32Bitwise(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to ±0
    mant |= 0x800000; // implicit bit
    const shift = 14 - e; // 14..24
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rem > mid || (rem === mid && (half & 1)) ? half + 1 : half);
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // Rounding may carry into the exponent (and up to Inf), which the bit layout handles.
  return sign | (rem > 0x1000 || (rem === 0x1000 && (half & 1)) ? half + 1 : half);
}

/** float32 value of every half bit pattern (index = bits). */
export const HALF_TO_FLOAT: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 0x1f ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

/**
 * Round a double to the nearest half (ties to even) directly, without going through float32 first — as NumPy's
 * float64 → float16 cast does.
 */
export function halfBitsFromFloat64(x: number): number {
  const viaF32 = Math.fround(x);
  const h = halfBitsFromFloat32(viaF32);
  f32[0] = viaF32;
  if (viaF32 === x || !Number.isFinite(x)) return h;
  // Overflow is decided on the double: float32 rounds doubles just below 65520 up to it (NumPy: 65519.99999999999
  // → 65504, 65520 → inf).
  if ((h & 0x7fff) === 0x7c00) return Math.abs(x) < 65520 ? (h & 0x8000) | 0x7bff : h;
  // viaF32's bits (u32[0]): for a normal half, double rounding can only matter when the 13 mantissa bits it drops
  // are exactly half-way (0x1000) — the common case returns here without table lookups.
  const bits = u32[0]!;
  const e = ((bits >>> 23) & 0xff) - 112;
  if (e > 0 && e < 0x1f && (bits & 0x1fff) !== 0x1000) return h;
  // Double rounding can only go wrong when the float32 value sits exactly on a half-way point between halves.
  const lo = HALF_TO_FLOAT[h]!;
  const other = viaF32 > lo ? h + (x < 0 ? -1 : 1) : viaF32 < lo ? h - (x < 0 ? -1 : 1) : h;
  if (other === h) return h;
  const hv = HALF_TO_FLOAT[other & 0xffff]!;
  const mid = (lo + hv) / 2;
  if (viaF32 !== mid) return h;
  // viaF32 is the exact midpoint: decide by the double.
  const up = Math.abs(x) > Math.abs(mid);
  const candLarge = Math.abs(lo) > Math.abs(hv) ? h : other;
  const candSmall = candLarge === h ? other : h;
  return up ? candLarge : candSmall;
}

/** The half nearest to `x`, as a number. */
export function roundToHalf(x: number): number {
  return HALF_TO_FLOAT[halfBitsFromFloat64(x)]!;
}
