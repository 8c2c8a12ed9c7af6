/**
 * Percentiles with linear interpolation between the two nearest ranks: NumPy's `np.percentile(a, q)` default
 * (`method='linear'`) and `torch.quantile(a, q/100)`, which MONAI's `compute_hausdorff_distance` uses. The
 * position in the sorted values is `q/100 · (n − 1)`.
 */

/**
 * @param sorted values sorted ascending (no NaN).
 * @param q percentile in [0, 100].
 * @returns the interpolated percentile; NaN for an empty array.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${q}`);
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const t = pos - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  if (a === b) return a;
  // NumPy's _lerp: the form that is exact at both ends.
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/** Percentile of unsorted values (copied and sorted; the input is not changed). */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values as ArrayLike<number>);
  sorted.sort();
  return percentileOfSorted(sorted, q);
}
