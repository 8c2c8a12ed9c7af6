/**
 * Surface (border) voxels of a binary mask, as MONAI's `get_mask_edges` defines them without sub-voxel areas:
 * `mask XOR binary_erosion(mask)` with SciPy's default structuring element (the 6-neighbourhood in 3-D) and
 * everything outside the grid counted as background (SciPy's `border_value=0`; MONAI's crop pads with zeros).
 * So a foreground voxel is a surface voxel when at least one of its 6 face neighbours is background or outside
 * the grid.
 */
import type { Vec3 } from '../../common/volume';

/**
 * @param mask voxel mask (non-zero = foreground), i fastest, length size[0]*size[1]*size[2].
 * @returns a 0/1 mask of the surface voxels, same layout, and their count.
 */
export function surfaceVoxels(mask: Uint8Array, size: Vec3): { surface: Uint8Array; count: number } {
  const [ni, nj, nk] = size;
  const sij = ni * nj;
  const surface = new Uint8Array(mask.length);
  let count = 0;
  for (let k = 0; k < nk; k++)
    for (let j = 0; j < nj; j++) {
      const row = ni * (j + nj * k);
      for (let i = 0; i < ni; i++) {
        const x = row + i;
        if (!mask[x]) continue;
        const border =
          i === 0 || i === ni - 1 || j === 0 || j === nj - 1 || k === 0 || k === nk - 1 ||
          !mask[x - 1] || !mask[x + 1] || !mask[x - ni] || !mask[x + ni] || !mask[x - sij] || !mask[x + sij];
        if (border) {
          surface[x] = 1;
          count++;
        }
      }
    }
  return { surface, count };
}
