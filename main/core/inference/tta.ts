/**
 * Mirroring test-time augmentation helpers shared by the engine (./engine.ts), the tile plan (./plan.ts) and the
 * CPU network workers (./tile-worker.ts). Arrays are C-order [C, d0, d1, d2] (last axis fastest); axes are the
 * spatial tensor axes 0..2.
 */

/** itertools-ordered non-empty combinations of `axes` (nnU-Net's mirror order). */
export function mirrorCombinations(axes: readonly number[]): number[][] {
  const out: number[][] = [];
  const rec = (start: number, k: number, cur: number[]): void => {
    if (cur.length === k) return void out.push([...cur]);
    for (let i = start; i < axes.length; i++) rec(i + 1, k, [...cur, axes[i]!]);
  };
  for (let k = 1; k <= axes.length; k++) rec(0, k, []);
  return out;
}

/** Flip a C-order [C, d0, d1, d2] array along the given spatial axes (0..2) into `dst` (or add into it). */
export function flipInto(src: Float32Array, dims: readonly [number, number, number, number], axes: readonly number[], dst: Float32Array, add: boolean): void {
  const [C, d0, d1, d2] = dims;
  const f0 = axes.includes(0);
  const f1 = axes.includes(1);
  const f2 = axes.includes(2);
  let i = 0;
  for (let c = 0; c < C; c++)
    for (let a = 0; a < d0; a++) {
      const sa = f0 ? d0 - 1 - a : a;
      for (let b = 0; b < d1; b++) {
        const sb = f1 ? d1 - 1 - b : b;
        const base = ((c * d0 + sa) * d1 + sb) * d2;
        if (f2) {
          if (add) for (let x = d2 - 1; x >= 0; x--, i++) dst[i]! += src[base + x]!;
          else for (let x = d2 - 1; x >= 0; x--, i++) dst[i] = src[base + x]!;
        } else if (add) for (let x = 0; x < d2; x++, i++) dst[i]! += src[base + x]!;
        else {
          dst.set(src.subarray(base, base + d2), i);
          i += d2;
        }
      }
    }
}
