/**
 * Preprocessing's in-place steps: the non-zero mask with holes filled (values 0/1 only, whatever the fill's
 * intermediate marks) and the crop within the tensor's own buffer (= the copying crop).
 */
import { describe, expect, it } from 'vitest';
import { cropTensor, cropTensorInPlace, nonzeroMask, type Vec3n } from '../../../main/core/inference/preprocess';

describe('nonzeroMask', () => {
  const shape: Vec3n = [5, 6, 7];
  const n = 5 * 6 * 7;
  const at = (a: number, b: number, c: number): number => (a * 6 + b) * 7 + c;
  it('fills holes (background not reachable from the border), leaves reachable background 0, values 0/1 only', () => {
    const d = new Float32Array(2 * n);
    // A hollow 3×3×3 cube in channel 0 around (2, 2, 3); one voxel of channel 1 elsewhere.
    for (let a = 1; a <= 3; a++) for (let b = 1; b <= 3; b++) for (let c = 2; c <= 4; c++) if (a !== 2 || b !== 2 || c !== 3) d[at(a, b, c)] = 1;
    d[n + at(0, 5, 6)] = -3;
    const m = nonzeroMask(d, 2, shape);
    expect(m[at(2, 2, 3)]).toBe(1); // the hole
    expect(m[at(0, 5, 6)]).toBe(1); // channel 1
    expect(m[at(0, 0, 0)]).toBe(0);
    let ones = 0;
    for (const v of m) {
      expect(v === 0 || v === 1).toBe(true);
      ones += v;
    }
    expect(ones).toBe(27 + 1);
  });
  it('all non-zero: all 1; all zero: all 0', () => {
    expect(nonzeroMask(new Float32Array(n).fill(2), 1, shape).every((v) => v === 1)).toBe(true);
    expect(nonzeroMask(new Float32Array(n), 1, shape).every((v) => v === 0)).toBe(true);
  });
});

describe('cropTensorInPlace = cropTensor', () => {
  it('Float32 and Uint8, one and two channels, several boxes (and the whole extent)', () => {
    const shape: Vec3n = [4, 9, 11];
    const n = 4 * 9 * 11;
    const boxes: [Vec3n, Vec3n][] = [
      [[0, 0, 1], [4, 8, 11]],
      [[1, 2, 3], [3, 9, 7]],
      [[0, 0, 0], [4, 9, 11]],
      [[2, 4, 5], [3, 5, 6]],
    ];
    for (const channels of [1, 2])
      for (const [lo, hi] of boxes) {
        const f = Float32Array.from({ length: channels * n }, (_, i) => i * 0.5 - 7);
        const u = Uint8Array.from({ length: channels * n }, (_, i) => (i * 37) % 251);
        expect(Array.from(cropTensorInPlace(Float32Array.from(f), channels, shape, lo, hi))).toEqual(Array.from(cropTensor(f, channels, shape, lo, hi)));
        expect(Array.from(cropTensorInPlace(Uint8Array.from(u), channels, shape, lo, hi))).toEqual(Array.from(cropTensor(u, channels, shape, lo, hi)));
      }
  });
});
