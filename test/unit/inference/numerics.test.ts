/**
 * The engine's numerics against nnU-Net v2's own functions (fixture written by test/reference/make_engine_fixtures.py):
 * tile steps, Gaussian importance map (float16, bit-exact), padding, new shapes, the separate-z rule and the
 * skimage/scipy resampling (orders 0/1/3, separate z, float64 and float16 data).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HALF_TO_FLOAT, halfBitsFromFloat32, halfBitsFromFloat32Bitwise, halfBitsFromFloat64 } from '../../../main/core/inference/half';
import { computeNewShape, resizeChannel, resizeChannelInto, separateZAxis } from '../../../main/core/inference/resample';
import { blendingWeights, computeTileSteps, padToPatch } from '../../../main/core/inference/tiling';
import { PROJECT_ROOT } from '../../helpers/data';

interface Arr {
  dtype: string;
  shape: number[];
  b64: string;
}
function decode(a: Arr): Float64Array | Float32Array | Uint16Array {
  const buf = Buffer.from(a.b64, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (a.dtype === 'float64') return new Float64Array(ab);
  if (a.dtype === 'float32') return new Float32Array(ab);
  if (a.dtype === 'float16') return new Uint16Array(ab);
  throw new Error(a.dtype);
}
const HALF = (() => {
  const t = new Float64Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

const fx = JSON.parse(readFileSync(`${PROJECT_ROOT}/test/fixtures/engine/nnunet_numerics.json`, 'utf8')) as {
  steps: { size: number[]; patch: number[]; step: number; steps: number[][] }[];
  gaussian: { patch: number[]; sha256: string; min: number; max: number; map?: Arr }[];
  resample: { shape: number[]; newShape: number[]; currentSpacing: number[]; newSpacing: number[]; order: 0 | 1 | 3; orderZ: 0 | 1; forceSeparateZ: boolean | null; separateZAxis: number | null; input: Arr; output: Arr }[];
  newShape: { shape: number[]; oldSpacing: number[]; newSpacing: number[]; newShape: number[] }[];
  sepZ: { force: boolean | null; current: number[]; new: number[]; axis: number | null }[];
  pad: { shape: number[]; patch: number[]; padded: number[]; before: number[] }[];
  half: { input: Arr; output: Arr };
};

describe('tiling equals nnU-Net', () => {
  it('tile steps (compute_steps_for_sliding_window)', () => {
    for (const c of fx.steps) expect(computeTileSteps(c.size, c.patch, c.step), JSON.stringify(c)).toEqual(c.steps);
  });
  it('padding to the patch (pad_nd_image)', () => {
    for (const c of fx.pad) {
      const p = padToPatch(c.shape, c.patch);
      expect(p.padded).toEqual(c.padded);
      expect(p.before).toEqual(c.before);
    }
  });
  it('Gaussian importance map is bit-identical in float16 (compute_gaussian)', () => {
    for (const c of fx.gaussian) {
      const w = blendingWeights(c.patch, { mode: 'gaussian', sigmaScale: 0.125, maxValue: 10 }, 'float16');
      const bits = new Uint16Array(w.length);
      for (let i = 0; i < w.length; i++) bits[i] = halfBitsFromFloat64(w[i]!);
      if (c.map) {
        const ref = decode(c.map) as Uint16Array;
        let diff = 0;
        for (let i = 0; i < ref.length; i++) if (ref[i] !== bits[i]) diff++;
        expect(diff, `patch ${c.patch}`).toBe(0);
      }
      const sha = createHash('sha256').update(Buffer.from(bits.buffer)).digest('hex');
      expect(sha, `patch ${c.patch}`).toBe(c.sha256);
    }
  });
});

describe('resampling equals nnU-Net (skimage resize / map_coordinates)', () => {
  it('new shapes and the separate-z rule', () => {
    for (const c of fx.newShape) expect(computeNewShape(c.shape, c.oldSpacing, c.newSpacing)).toEqual(c.newShape);
    for (const c of fx.sepZ) expect(separateZAxis(c.force, c.current, c.new, 3), JSON.stringify(c)).toBe(c.axis);
  });
  fx.resample.forEach((c, n) => {
    it(`case ${n}: ${c.shape} → ${c.newShape}, order ${c.order}/${c.orderZ}, ${c.input.dtype}`, () => {
      const axis = separateZAxis(c.forceSeparateZ, c.currentSpacing, c.newSpacing, 3);
      expect(axis).toBe(c.separateZAxis);
      const half = c.input.dtype === 'float16';
      const inRaw = decode(c.input);
      const input = half ? Float64Array.from(inRaw as Uint16Array, (h) => HALF[h]!) : (inRaw as Float64Array);
      const out = resizeChannel(input, c.shape, c.newShape, c.order, c.orderZ, axis);
      const ref = decode(c.output);
      expect(out.length).toBe(ref.length);
      let maxRel = 0;
      let halfDiff = 0;
      for (let i = 0; i < ref.length; i++) {
        if (half) {
          if (halfBitsFromFloat64(out[i]!) !== ref[i]) halfDiff++;
        } else maxRel = Math.max(maxRel, Math.abs(out[i]! - ref[i]!) / (Math.abs(ref[i]!) + 1));
      }
      // float64: equal to rounding of the different summation order; float16: every value the same half.
      expect(maxRel).toBeLessThan(1e-12);
      expect(halfDiff).toBe(0);
      // The slice-by-slice float32 form preprocessing uses: resizeChannel's values cast to float32, bit for bit.
      const into = new Float32Array(out.length);
      resizeChannelInto(input, c.shape, c.newShape, c.order, c.orderZ, axis, into);
      expect(Buffer.from(into.buffer).equals(Buffer.from(Float32Array.from(out).buffer))).toBe(true);
    });
  });
  it('resizeChannelInto = resizeChannel cast to float32, bit for bit (separate z first, in-plane or z only, up and down)', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 200 - 100;
    const cases: [number[], number[], 0 | 1 | 3, 0 | 1, number | null][] = [
      [[9, 31, 27], [9, 15, 14], 3, 0, 0],
      [[9, 31, 27], [20, 15, 40], 3, 1, 0],
      [[12, 20, 22], [5, 20, 22], 3, 1, 0],
      [[12, 20, 22], [30, 20, 22], 1, 0, 0],
      [[7, 16, 18], [7, 16, 18], 3, 0, 0],
      [[6, 25, 19], [11, 25, 40], 1, 1, 0],
      [[6, 25, 19], [4, 9, 8], 3, 1, 0],
      [[10, 12, 14], [13, 9, 20], 3, 0, null],
      [[10, 12, 14], [13, 9, 5], 3, 1, 2],
    ];
    for (const [shape, newShape, order, orderZ, sep] of cases) {
      const src = Float32Array.from({ length: shape[0]! * shape[1]! * shape[2]! }, rnd);
      const ref = Float32Array.from(resizeChannel(src, shape, newShape, order, orderZ, sep));
      const into = new Float32Array(ref.length);
      resizeChannelInto(src, shape, newShape, order, orderZ, sep, into);
      expect(Buffer.from(into.buffer).equals(Buffer.from(ref.buffer)), `${shape} → ${newShape} order ${order}/${orderZ} sep ${sep}`).toBe(true);
    }
  });
  it('float64 → float16 rounding matches NumPy', () => {
    const xs = decode(fx.half.input) as Float64Array;
    const ref = decode(fx.half.output) as Uint16Array;
    let diff = 0;
    for (let i = 0; i < xs.length; i++) if (halfBitsFromFloat64(xs[i]!) !== ref[i]) diff++;
    expect(diff).toBe(0);
  });
  it('float32 → float16 by float arithmetic = by the float32 bits (a sample of 1 M bit patterns, every half midpoint, edges)', () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const xs: number[] = [0, -0, Infinity, -Infinity, NaN, 65504, 65520, -65520, Math.fround(65519.99), 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, Math.fround(2 ** -14 - 2 ** -30), 1e-40];
    for (let b = 0; b < 2 ** 32; b += 4099) {
      u[0] = b;
      xs.push(f[0]!);
    }
    for (let h = 0; h < 0x7c00; h++) {
      const mid = h < 0x7bff ? (HALF_TO_FLOAT[h]! + HALF_TO_FLOAT[h + 1]!) / 2 : 65520;
      for (const x of [HALF_TO_FLOAT[h]!, Math.fround(mid), Math.fround(mid * (1 + 2 ** -23)), Math.fround(mid * (1 - 2 ** -23))]) xs.push(x, -x);
    }
    let diff = 0;
    for (const x of xs) if (halfBitsFromFloat32(x) !== halfBitsFromFloat32Bitwise(x)) diff++;
    expect(diff).toBe(0);
  });
  it('float64 → float16: overflow is decided on the double, as NumPy does', () => {
    // float32 rounds 65519.99999999999 up to 65520, which would overflow; NumPy gives 65504.
    expect(HALF_TO_FLOAT[halfBitsFromFloat64(65519.99999999999)]).toBe(65504);
    expect(HALF_TO_FLOAT[halfBitsFromFloat64(-65519.99999999999)]).toBe(-65504);
    expect(HALF_TO_FLOAT[halfBitsFromFloat64(65520)]).toBe(Infinity);
    expect(HALF_TO_FLOAT[halfBitsFromFloat64(65504.5)]).toBe(65504);
  });
});
