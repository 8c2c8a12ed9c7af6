/**
 * Orienting the series-browser thumbnails like the 2D views. The compute side draws the middle k slice as
 * stored (columns along i, rows along j, row 0 at the top); here it is flipped/transposed so that it reads like
 * the view of the patient plane closest to that slice — axial, coronal or sagittal in radiological convention
 * (./geometry) — e.g. a RAS-stored NIfTI gets both flips, an LPS-stored DICOM axial stays as it is.
 */
import type { Mat3, Vec3 } from '../../../main/common/volume';
import { dot, viewBasis, type Orientation } from './geometry';

export interface Gray8Image {
  width: number;
  height: number;
  /** Row-major, row 0 at the top. */
  pixels: Uint8Array;
}

export interface ThumbnailTransform {
  /** Which view the stored slice is closest to. */
  orientation: Orientation;
  /** Screen x runs along j (and y along i) instead of i (and j). */
  transpose: boolean;
  flipX: boolean;
  flipY: boolean;
}

const column = (d: Mat3, c: number): Vec3 => [d[c]!, d[3 + c]!, d[6 + c]!];

/** How to show an (i, j) slice of a volume with this direction matrix. */
export function thumbnailTransform(direction: Mat3): ThumbnailTransform {
  const k = column(direction, 2).map(Math.abs);
  const orientation: Orientation = k[2]! >= k[0]! && k[2]! >= k[1]! ? 'axial' : k[1]! >= k[0]! ? 'coronal' : 'sagittal';
  const { right, up } = viewBasis(orientation);
  const i = column(direction, 0);
  const j = column(direction, 1);
  // Screen rows grow downwards, i.e. along −up.
  if (Math.abs(dot(i, right)) >= Math.abs(dot(i, up)))
    return { orientation, transpose: false, flipX: dot(i, right) < 0, flipY: dot(j, up) > 0 };
  return { orientation, transpose: true, flipX: dot(j, right) < 0, flipY: dot(i, up) > 0 };
}

/** Apply a {@link ThumbnailTransform} to a stored-order slice image. */
export function orientThumbnail(img: Gray8Image, t: ThumbnailTransform): Gray8Image {
  const { width: w, height: h, pixels } = img;
  const width = t.transpose ? h : w;
  const height = t.transpose ? w : h;
  const out = new Uint8Array(width * height);
  for (let Y = 0; Y < height; Y++)
    for (let X = 0; X < width; X++) {
      const a = t.flipX ? width - 1 - X : X;
      const b = t.flipY ? height - 1 - Y : Y;
      // Not transposed: (a, b) = (column, row) of the input; transposed: a runs along input rows.
      out[Y * width + X] = t.transpose ? pixels[a * w + b]! : pixels[b * w + a]!;
    }
  return { width, height, pixels: out };
}
