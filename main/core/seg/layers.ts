/**
 * Layered segmentations (main/common/segmentation.ts): validation, packing overlapping segments into as few layers
 * as possible, flattening to a labelmap, and placing a segmentation stored on a sub-grid (a crop, as Slicer and
 * DICOM SEG allow) onto its reference grid.
 */
import { DelineateError } from '../../common/errors';
import { lpsToIjk, transformPoint } from '../../common/geometry';
import type { LayeredSegment, Segmentation } from '../../common/segmentation';
import type { Grid, Labelmap, Vec3 } from '../../common/volume';

/** Voxel indices (ascending) of every segment, keyed by segment value, from one pass over each layer. */
export function segmentVoxelIndices(seg: Segmentation): Map<number, Uint32Array> {
  const out = new Map<number, Uint32Array>();
  seg.layers.forEach((layer, li) => {
    const values = new Set(seg.segments.filter((s) => s.layer === li).map((s) => s.value));
    const counts = new Map<number, number>();
    for (let i = 0; i < layer.length; i++) {
      const v = layer[i]!;
      if (v !== 0 && values.has(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const lists = new Map<number, { a: Uint32Array; n: number }>();
    for (const [v, c] of counts) lists.set(v, { a: new Uint32Array(c), n: 0 });
    for (let i = 0; i < layer.length; i++) {
      const v = layer[i]!;
      if (v === 0) continue;
      const l = lists.get(v);
      if (l) l.a[l.n++] = i;
    }
    for (const v of values) out.set(v, lists.get(v)?.a ?? new Uint32Array(0));
  });
  return out;
}

/**
 * Check the invariants of a segmentation: positive integer sizes, every layer of `size` voxels and of `dataType`,
 * segment values unique in 1…65535 (and ≤ 255 for uint8), layers in range. Errors: INPUT naming `what`.
 */
export function checkSegmentation(seg: Segmentation, what: string): void {
  const n = seg.size[0] * seg.size[1] * seg.size[2];
  const fail = (m: string) => new DelineateError('INPUT', `${what}: ${m}`, { subject: what });
  if (!seg.size.every((s) => Number.isInteger(s) && s > 0)) throw fail(`size ${seg.size.join('×')} is not positive integers`);
  if (seg.layers.length === 0) throw fail('no layers');
  seg.layers.forEach((l, i) => {
    if (l.length !== n) throw fail(`layer ${i} has ${l.length} voxels for a ${seg.size.join('×')} grid`);
    if ((seg.dataType === 'uint8') !== l instanceof Uint8Array) throw fail(`layer ${i} is not ${seg.dataType}`);
  });
  const seen = new Set<number>();
  for (const s of seg.segments) {
    const max = seg.dataType === 'uint8' ? 255 : 65535;
    if (!Number.isInteger(s.value) || s.value < 1 || s.value > max) throw fail(`segment '${s.name}' has value ${s.value} (must be 1…${max})`);
    if (seen.has(s.value)) throw fail(`segment value ${s.value} is used twice (values must be unique across layers)`);
    seen.add(s.value);
    if (!Number.isInteger(s.layer) || s.layer < 0 || s.layer >= seg.layers.length) throw fail(`segment '${s.name}' is in layer ${s.layer} of ${seg.layers.length}`);
  }
}

/**
 * Build a segmentation from per-segment voxel lists, putting each segment in the first layer where it overlaps no
 * segment already placed (greedy, in the order given). Non-overlapping segments end up in one layer.
 */
export function packSegments(grid: Grid, items: { segment: Omit<LayeredSegment, 'layer'>; voxels: Uint32Array }[]): Segmentation {
  const n = grid.size[0] * grid.size[1] * grid.size[2];
  const maxValue = items.reduce((m, it) => Math.max(m, it.segment.value), 0);
  const dataType = maxValue > 255 ? 'uint16' : 'uint8';
  const alloc = () => (dataType === 'uint8' ? new Uint8Array(n) : new Uint16Array(n));
  const layers: (Uint8Array | Uint16Array)[] = [alloc()];
  const segments: LayeredSegment[] = [];
  for (const { segment, voxels } of items) {
    let target = layers.findIndex((layer) => {
      for (let i = 0; i < voxels.length; i++) if (layer[voxels[i]!] !== 0) return false;
      return true;
    });
    if (target < 0) {
      layers.push(alloc());
      target = layers.length - 1;
    }
    const layer = layers[target]!;
    for (let i = 0; i < voxels.length; i++) layer[voxels[i]!] = segment.value;
    segments.push({ ...segment, layer: target });
  }
  return { size: [...grid.size], spacingMm: [...grid.spacingMm], originMm: [...grid.originMm], direction: [...grid.direction], dataType, layers, segments };
}

/** Repack a segmentation into as few layers as the overlaps allow (greedy, in segment order). */
export function compactLayers(seg: Segmentation): Segmentation {
  if (seg.layers.length === 1) return seg;
  const idx = segmentVoxelIndices(seg);
  const packed = packSegments(seg, seg.segments.map((s) => ({ segment: withoutLayer(s), voxels: idx.get(s.value)! })));
  if (seg.dataType === 'uint16' && packed.dataType === 'uint8') return { ...packed, dataType: 'uint16', layers: packed.layers.map((l) => Uint16Array.from(l)) };
  return packed;
}

function withoutLayer(s: LayeredSegment): Omit<LayeredSegment, 'layer'> {
  const { layer: _layer, ...rest } = s;
  return rest;
}

/**
 * The labelmap of a segmentation whose segments do not overlap (layers are compacted first). Errors: INPUT when
 * segments overlap, naming two of them — a labelmap file cannot hold overlapping segments (use .seg.nrrd or
 * DICOM SEG).
 */
export function segmentationToLabelmap(seg: Segmentation, what = 'segmentation'): Labelmap {
  const c = compactLayers(seg);
  if (c.layers.length > 1) {
    const a = c.segments.find((s) => s.layer === 1)!;
    throw new DelineateError(
      'INPUT',
      `${what}: segment '${a.name}' overlaps other segments; a labelmap cannot hold overlapping segments — save as .seg.nrrd or DICOM SEG`,
      { subject: what },
    );
  }
  return {
    size: c.size,
    spacingMm: c.spacingMm,
    originMm: c.originMm,
    direction: c.direction,
    dataType: c.dataType,
    data: c.layers[0]!,
    segments: c.segments.map(withoutLayer),
  } as Labelmap;
}

/**
 * Place a segmentation stored on its own grid onto a reference grid: both grids must have the same spacing and
 * direction (within 1e-4) and the segmentation's voxels must fall on reference voxel centres (integer index offset
 * within 1/100 voxel). Voxels outside the reference grid are dropped and counted in `droppedVoxels`. Returns the
 * input unchanged when the grids are equal.
 *
 * Errors: GEOMETRY naming `what` and `referenceName` and what differs.
 */
export function placeOnGrid(seg: Segmentation, reference: Grid, what: string, referenceName: string): { segmentation: Segmentation; droppedVoxels: number } {
  const fail = (m: string) => new DelineateError('GEOMETRY', `${what} does not lie on the grid of ${referenceName}: ${m}`, { subject: what });
  for (let c = 0; c < 3; c++) {
    const a = seg.spacingMm[c]!;
    const b = reference.spacingMm[c]!;
    if (Math.abs(a - b) > 1e-4 * Math.max(a, b)) throw fail(`spacing ${seg.spacingMm.join(', ')} mm vs ${reference.spacingMm.join(', ')} mm`);
  }
  for (let i = 0; i < 9; i++)
    if (Math.abs(seg.direction[i]! - reference.direction[i]!) > 1e-4) throw fail(`direction ${fmtV(seg.direction)} vs ${fmtV(reference.direction)}`);
  const off = transformPoint(lpsToIjk(reference), seg.originMm);
  const o = off.map(Math.round) as Vec3;
  if (off.some((x, c) => Math.abs(x - o[c]!) > 1e-2))
    throw fail(`origin (${fmtV(seg.originMm)}) is at index (${fmtV(off)}) of the reference, not on a voxel centre`);
  if (o.every((x) => x === 0) && seg.size.every((s, c) => s === reference.size[c])) return { segmentation: seg, droppedVoxels: 0 };
  const [nx, ny, nz] = reference.size;
  const [sx, sy, sz] = seg.size;
  const n = nx * ny * nz;
  let dropped = 0;
  const layers = seg.layers.map((src) => {
    const dst = seg.dataType === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
    for (let k = 0; k < sz; k++)
      for (let j = 0; j < sy; j++) {
        const K = k + o[2];
        const J = j + o[1];
        const rowIn = J >= 0 && J < ny && K >= 0 && K < nz;
        for (let i = 0; i < sx; i++) {
          const v = src[i + sx * (j + sy * k)]!;
          if (v === 0) continue;
          const I = i + o[0];
          if (!rowIn || I < 0 || I >= nx) {
            dropped++;
            continue;
          }
          dst[I + nx * (J + ny * K)] = v;
        }
      }
    return dst;
  });
  return {
    segmentation: { ...seg, size: [...reference.size], spacingMm: [...reference.spacingMm], originMm: [...reference.originMm], direction: [...reference.direction], layers },
    droppedVoxels: dropped,
  };
}

const fmtV = (v: readonly number[]): string => v.map((x) => Number(x.toPrecision(6))).join(', ');
