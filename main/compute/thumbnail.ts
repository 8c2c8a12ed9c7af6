/**
 * Small 8-bit previews for the series browser.
 */
import { DelineateError } from '../common/errors';
import type { Volume } from '../common/volume';

/** An 8-bit grey image, row-major, `pixels.length === width * height`. */
export interface Thumbnail {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/**
 * Preview of the middle slice along k (index `floor(size[2] / 2)`), as stored: image columns run along i,
 * rows along j (not reoriented). The long side is `maxSize` px and the aspect follows the physical spacing
 * (`size[0]·spacingMm[0]` : `size[1]·spacingMm[1]`). Downsampling averages the voxels under each pixel
 * (upsampling repeats them). Grey levels map the slice's 1st…99th percentile to 0…255 (NaN → 0).
 */
export function middleSliceThumbnail(volume: Volume, maxSize: number): Thumbnail {
  const [ni, nj, nk] = volume.size;
  if (ni < 1 || nj < 1 || nk < 1) throw new DelineateError('INPUT', `Cannot preview an empty volume (size ${ni}×${nj}×${nk})`);
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new DelineateError('USAGE', `maxSize must be a positive integer, got ${maxSize}`, { subject: 'maxSize' });
  const k = Math.floor(nk / 2);
  const sliceLen = ni * nj;
  const slice = volume.data.subarray(k * sliceLen, (k + 1) * sliceLen);

  const [lo, hi] = percentiles(slice, 0.01, 0.99);
  const scale = hi > lo ? 255 / (hi - lo) : 0;

  const widthMm = ni * (volume.spacingMm[0] || 1);
  const heightMm = nj * (volume.spacingMm[1] || 1);
  const f = maxSize / Math.max(widthMm, heightMm);
  const width = Math.max(1, Math.min(maxSize, Math.round(widthMm * f)));
  const height = Math.max(1, Math.min(maxSize, Math.round(heightMm * f)));
  const pixels = new Uint8Array(width * height);

  for (let y = 0; y < height; y++) {
    const j0 = Math.floor((y * nj) / height);
    const j1 = Math.max(j0 + 1, Math.floor(((y + 1) * nj) / height));
    for (let x = 0; x < width; x++) {
      const i0 = Math.floor((x * ni) / width);
      const i1 = Math.max(i0 + 1, Math.floor(((x + 1) * ni) / width));
      let sum = 0;
      let n = 0;
      for (let j = j0; j < j1; j++) {
        const row = j * ni;
        for (let i = i0; i < i1; i++) {
          const v = slice[row + i]!;
          if (Number.isFinite(v)) {
            sum += v;
            n++;
          }
        }
      }
      if (n === 0) continue;
      const g = scale === 0 ? (sum / n > lo ? 255 : 0) : ((sum / n - lo) * scale);
      pixels[y * width + x] = g <= 0 ? 0 : g >= 255 ? 255 : Math.round(g);
    }
  }
  return { width, height, pixels };
}

/** Approximate low/high quantiles of the finite values (from at most 65 536 evenly spaced samples). */
export function percentiles(values: ArrayLike<number>, qLow: number, qHigh: number): [number, number] {
  const stride = Math.max(1, Math.floor(values.length / 65_536));
  const sample: number[] = [];
  for (let i = 0; i < values.length; i += stride) {
    const v = values[i]!;
    if (Number.isFinite(v)) sample.push(v);
  }
  if (sample.length === 0) return [0, 0];
  sample.sort((a, b) => a - b);
  const at = (q: number) => sample[Math.min(sample.length - 1, Math.max(0, Math.round(q * (sample.length - 1))))]!;
  return [at(qLow), at(qHigh)];
}
