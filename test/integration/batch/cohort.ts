/**
 * Small real cases for batch/serve tests: crops of TotalSegmentator's example CT (real data, read in place from
 * the data root), written to a temporary folder with their geometry (origin moved to the crop's first voxel).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Vec3, Volume } from '../../../main/common/volume';
import { readImageFile, writeVolume } from '../../../main/core/io/index';
import { dataPath } from '../../helpers/data';

export const CT = 'totalseg-example/example_ct_sm.nii.gz';

/** A sub-box of a volume: voxels [lo, lo + size) along i, j, k, with the origin moved accordingly. */
export function crop(v: Volume, lo: Vec3, size: Vec3): Volume {
  const [ni, nj] = v.size;
  const out = new (v.data.constructor as new (n: number) => Volume['data'])(size[0] * size[1] * size[2]);
  let o = 0;
  for (let k = 0; k < size[2]; k++)
    for (let j = 0; j < size[1]; j++) {
      const src = lo[0] + ni * (lo[1] + j + nj * (lo[2] + k));
      out.set(v.data.subarray(src, src + size[0]), o);
      o += size[0];
    }
  const d = v.direction;
  const s = v.spacingMm;
  const originMm: Vec3 = [0, 1, 2].map((r) => v.originMm[r]! + d[r * 3]! * s[0] * lo[0] + d[r * 3 + 1]! * s[1] * lo[1] + d[r * 3 + 2]! * s[2] * lo[2]) as Vec3;
  return { ...v, size: [...size], originMm, data: out };
}

/**
 * Write `n` small CT cases (`ct<k>_0000.nii.gz`, nnU-Net naming) cropped at different places of the real CT,
 * each `size` voxels (default 36×36×12 at 3 mm: one 48×48×32 tile of the golden test network).
 */
export async function writeCtCases(dir: string, n: number, size: Vec3 = [36, 36, 12]): Promise<string[]> {
  const ct = await readImageFile(dataPath(CT));
  const names: string[] = [];
  for (let k = 0; k < n; k++) {
    const lo: Vec3 = [20 + 15 * k, 20 + 10 * k, Math.min(ct.size[2] - size[2], 4 + 4 * k)];
    const name = `ct${k}_0000.nii.gz`;
    await writeVolume(crop(ct, lo, size), join(dir, name));
    names.push(name);
  }
  return names;
}

/** A file that claims to be a .nii.gz but is truncated gzip (the start of a real one). */
export async function writeCorrupt(path: string, from: Buffer): Promise<void> {
  await writeFile(path, from.subarray(0, Math.min(200, from.length >> 1)));
}
