/**
 * Post-processing of label maps (nnU-Net `remove_all_but_largest_component_from_segmentation`): keep only the
 * largest 26-connected component of each listed label, or of the union of all foreground labels; removed voxels
 * become background (0). Works in place on the label map (i fastest).
 */
import type { Labelmap } from '../../common/volume';

/** Label connected components of `inside(i)` with 26-connectivity; returns component ids (0 = outside) and sizes. */
function components(size: readonly number[], inside: (i: number) => boolean): { ids: Int32Array; sizes: number[] } {
  const [nx, ny, nz] = size as [number, number, number];
  const n = nx * ny * nz;
  const ids = new Int32Array(n);
  const sizes: number[] = [0];
  const stack = new Int32Array(n);
  for (let seed = 0; seed < n; seed++) {
    if (ids[seed] !== 0 || !inside(seed)) continue;
    const id = sizes.length;
    let count = 0;
    let sp = 0;
    stack[sp++] = seed;
    ids[seed] = id;
    while (sp > 0) {
      const v = stack[--sp]!;
      count++;
      const x = v % nx;
      const y = Math.floor(v / nx) % ny;
      const z = Math.floor(v / (nx * ny));
      for (let dz = -1; dz <= 1; dz++) {
        const zz = z + dz;
        if (zz < 0 || zz >= nz) continue;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= ny) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= nx) continue;
            const w = xx + nx * (yy + ny * zz);
            if (ids[w] === 0 && inside(w)) {
              ids[w] = id;
              stack[sp++] = w;
            }
          }
        }
      }
    }
    sizes.push(count);
  }
  return { ids, sizes };
}

/** Keep the largest component of each label in `labels` (or of all foreground together). Returns voxels removed. */
export function keepLargestComponent(map: Labelmap, labels: readonly number[] | 'foreground'): number {
  const d = map.data;
  let removed = 0;
  const groups: ((v: number) => boolean)[] = labels === 'foreground' ? [(v) => v !== 0] : labels.map((l) => (v: number) => v === l);
  for (const member of groups) {
    const { ids, sizes } = components(map.size, (i) => member(d[i]!));
    if (sizes.length <= 2) continue;
    let best = 1;
    for (let k = 2; k < sizes.length; k++) if (sizes[k]! > sizes[best]!) best = k;
    for (let i = 0; i < d.length; i++)
      if (ids[i] !== 0 && ids[i] !== best) {
        d[i] = 0;
        removed++;
      }
  }
  return removed;
}
