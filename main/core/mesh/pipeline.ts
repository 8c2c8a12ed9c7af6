/**
 * Labelmap → one closed, smoothed, decimated, correctly placed surface mesh per segment (issue 6).
 *
 * Per segment: Surface Nets on the label's mask padded by one voxel (./extract) in continuous index space →
 * windowed-sinc smoothing in index space (./smooth; 3D Slicer's defaults, as Slicer smooths in IJK too) → vertices
 * mapped through the full image matrix (direction · diag(spacing), origin) to LPS, or RAS on request, in mm →
 * volume restoration (./volume; optional, default on) → decimation (./decimate) in mm → metrics and normals.
 */
import { DelineateError, throwIfCancelled } from '../../common/errors';
import { ijkToLps } from '../../common/geometry';
import type { MeshOptions, MeshParameters, MeshSegmentsResult, SegmentMesh, SkippedSegment } from '../../common/mesh';
import type { JobOptions } from '../../common/progress';
import type { Labelmap, Segment } from '../../common/volume';
import { decimateMesh } from './decimate';
import { type PaddedMask, surfaceNets } from './extract';
import { defaultSegment, labelStats } from './labels';
import { meshMetrics, vertexNormals } from './metrics';
import { windowedSincSmooth } from './smooth';
import { restoreVolume } from './volume';

/** Let pending events (an abort message, SIGINT) run between heavy synchronous steps, then honour the signal. */
async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfCancelled(signal);
}

/** Slicer's windowed-sinc iteration count. */
export const SMOOTHING_ITERATIONS = 20;

/** Windowed-sinc pass band for a smoothing factor s (3D Slicer: 10^(−4·s)). */
export function passBandFor(smoothing: number): number {
  return Math.pow(10, -4 * smoothing);
}

function checkOptions(o: MeshOptions): Required<Omit<MeshOptions, 'labels'>> & { labels?: number[] } {
  const smoothing = o.smoothing ?? 0.5;
  const preserveVolume = o.preserveVolume ?? true;
  const decimate = o.decimate ?? 0;
  const space = o.space ?? 'LPS';
  if (!(smoothing >= 0 && smoothing <= 1)) throw new DelineateError('USAGE', `smoothing must be between 0 and 1, got ${smoothing}`, { subject: 'smoothing' });
  if (!(decimate >= 0 && decimate < 1)) throw new DelineateError('USAGE', `decimate must be in [0, 1), got ${decimate}`, { subject: 'decimate' });
  if (space !== 'LPS' && space !== 'RAS') throw new DelineateError('USAGE', `space must be LPS or RAS, got ${String(space)}`, { subject: 'space' });
  if (o.labels) for (const l of o.labels) if (!Number.isInteger(l) || l < 1 || l > 65535) throw new DelineateError('USAGE', `label values must be integers 1…65535, got ${l}`, { subject: 'labels' });
  return { smoothing, decimate, space, preserveVolume, ...(o.labels ? { labels: o.labels } : {}) };
}

/** 3×4 row-major affine from continuous index to the output space (mm). */
export function indexToOutput(lm: Labelmap, space: 'LPS' | 'RAS'): number[] {
  const m = ijkToLps(lm).slice(0, 12);
  if (space === 'RAS') for (let c = 0; c < 8; c++) m[c] = -m[c]!;
  return m;
}

/**
 * Mesh the segments of a labelmap.
 *
 * @param labelmap uint8/uint16 labels on its grid (LPS geometry, i fastest); `segments` names and colours them
 *   (labels without an entry become "Segment N").
 * @param options which labels, smoothing factor (default 0.5), decimation ratio (default 0), output space (LPS).
 * @param job `signal` cancels between layers, iterations, steps and segments (throws CancelledSignal; the event
 *   loop gets a turn between steps so that an abort can arrive); `onProgress` reports `{stage: 'mesh', done, total}`
 *   in segments, with `detail` naming the segment and step (surface, smoothing, decimation).
 * @returns one {@link SegmentMesh} per non-empty requested label (positions in mm in the output space, outward
 *   CCW triangles, vertex normals, metrics, voxel figures) and the labels skipped with a reason (no voxels).
 */
export async function meshSegments(labelmap: Labelmap, options: MeshOptions = {}, job: JobOptions = {}): Promise<MeshSegmentsResult> {
  const opts = checkOptions(options);
  const [nx, ny, nz] = labelmap.size;
  if (labelmap.data.length !== nx * ny * nz) throw new DelineateError('INPUT', `labelmap has ${labelmap.data.length} voxels for a ${labelmap.size.join('×')} grid`);
  const stats = labelStats(labelmap);
  const table = new Map<number, Segment>(labelmap.segments.map((s) => [s.value, s]));
  const present: number[] = [];
  for (let v = 1; v < stats.count.length; v++) if (stats.count[v]! > 0) present.push(v);
  const wanted = opts.labels ?? present;
  const affine = indexToOutput(labelmap, opts.space);
  const det =
    affine[0]! * (affine[5]! * affine[10]! - affine[6]! * affine[9]!) -
    affine[1]! * (affine[4]! * affine[10]! - affine[6]! * affine[8]!) +
    affine[2]! * (affine[4]! * affine[9]! - affine[5]! * affine[8]!);
  if (!(Math.abs(det) > 0) || !Number.isFinite(det)) throw new DelineateError('GEOMETRY', 'labelmap geometry is degenerate (zero spacing or singular direction)');
  const voxelVolumeMm3 = Math.abs(det);
  const maxErrorMm = 0.5 * Math.min(...labelmap.spacingMm);
  const maxOffsetMm = 0.5 * Math.max(...labelmap.spacingMm);
  const passBand = passBandFor(opts.smoothing);
  const parameters: MeshParameters = {
    extraction: 'surface nets on the label mask padded by one voxel, made manifold (inside 6-connected)',
    smoothing: {
      factor: opts.smoothing,
      method: opts.smoothing > 0 ? 'windowed sinc (VTK vtkWindowedSincPolyDataFilter algorithm, Nuttall window), in voxel index space' : 'none',
      iterations: opts.smoothing > 0 ? SMOOTHING_ITERATIONS : 0,
      passBand,
      nonManifoldSmoothing: true,
      boundarySmoothing: false,
      featureEdgeSmoothing: false,
      normalizeCoordinates: true,
    },
    volumePreservation: {
      enabled: opts.preserveVolume && opts.smoothing > 0,
      method: 'after smoothing, one uniform offset along the vertex normals that restores the voxel volume (no triangle may turn over)',
      maxOffsetMm,
    },
    decimation: { targetReduction: opts.decimate, method: opts.decimate > 0 ? 'meshoptimizer simplify (quadric edge collapse), topology-preserving, in mm' : 'none', maxErrorMm },
    space: opts.space,
    units: 'mm',
  };

  const meshes: SegmentMesh[] = [];
  const skipped: SkippedSegment[] = [];
  const total = wanted.length;
  for (let n = 0; n < wanted.length; n++) {
    await checkpoint(job.signal);
    const value = wanted[n]!;
    const segment = table.get(value) ?? defaultSegment(value);
    const report = (step: string): void => job.onProgress?.({ stage: 'mesh', done: n, total, detail: `${segment.name}: ${step}` });
    report('surface');
    const count = value < stats.count.length ? stats.count[value]! : 0;
    if (count === 0) {
      skipped.push({ value, name: segment.name, reason: `label ${value} (${segment.name}) has no voxels in the labelmap` });
      continue;
    }
    const lo = [stats.min[3 * value]!, stats.min[3 * value + 1]!, stats.min[3 * value + 2]!] as const;
    const hi = [stats.max[3 * value]!, stats.max[3 * value + 1]!, stats.max[3 * value + 2]!] as const;
    const padded = paddedMask(labelmap, value, lo, hi);
    const raw = surfaceNets(padded, job.signal);
    const pos = raw.positions;
    let indices = raw.indices;
    const restore = opts.preserveVolume && opts.smoothing > 0;
    // Kept so that a segment too small to survive smoothing can fall back to its exact (unsmoothed) surface.
    const unsmoothed = restore ? Float64Array.from(pos) : undefined;
    if (opts.smoothing > 0) {
      await checkpoint(job.signal);
      report('smoothing');
      windowedSincSmooth(pos, indices, SMOOTHING_ITERATIONS, passBand, job.signal);
    }
    // Index → output space (mm). A mirroring matrix (negative determinant) reverses the winding.
    const a = affine;
    const toOutput = (p: Float64Array): void => {
      for (let i = 0; i < p.length; i += 3) {
        const x = p[i]!, y = p[i + 1]!, z = p[i + 2]!;
        p[i] = a[0]! * x + a[1]! * y + a[2]! * z + a[3]!;
        p[i + 1] = a[4]! * x + a[5]! * y + a[6]! * z + a[7]!;
        p[i + 2] = a[8]! * x + a[9]! * y + a[10]! * z + a[11]!;
      }
    };
    toOutput(pos);
    if (det < 0)
      for (let t = 0; t < indices.length; t += 3) {
        const b = indices[t + 1]!;
        indices[t + 1] = indices[t + 2]!;
        indices[t + 2] = b;
      }
    const warnings: string[] = [];
    const targetMm3 = count * voxelVolumeMm3;
    let volumeCorrection: SegmentMesh['volumeCorrection'];
    if (restore) {
      const r = restoreVolume(pos, indices, targetMm3, maxOffsetMm);
      volumeCorrection = { offsetMm: r.offsetMm, volumeBeforeMl: r.volumeBeforeMm3 / 1000, foldedTriangles: r.foldedTriangles, ...(r.limitedBy ? { limitedBy: r.limitedBy } : {}) };
      if (r.limitedBy === 'cap') {
        // Smoothing all but erased it (a segment of a few voxels): write its exact voxel surface instead.
        toOutput(unsmoothed!);
        pos.set(unsmoothed!);
        volumeCorrection = { offsetMm: 0, volumeBeforeMl: r.volumeBeforeMm3 / 1000, foldedTriangles: 0, limitedBy: 'cap' };
        warnings.push(`${segment.name}: too small or thin to smooth (smoothing removed ${(100 * (1 - r.volumeBeforeMm3 / targetMm3)).toFixed(0)} % of its volume); written unsmoothed`);
      }
      if (r.limitedBy === 'fold') warnings.push(`${segment.name}: the volume-restoring offset was reduced to ${r.offsetMm.toFixed(3)} mm so that triangles do not turn over; the volume stays below the voxel volume`);
    }
    const trianglesBeforeDecimation = indices.length / 3;
    let positions: Float32Array = Float32Array.from(pos);
    let decimation: SegmentMesh['decimation'];
    if (opts.decimate > 0) {
      await checkpoint(job.signal);
      report('decimation');
      const d = await decimateMesh(positions, indices, opts.decimate, maxErrorMm, job.signal);
      decimation = { rounds: d.rounds, lockedVertices: d.lockedVertices, topologyChangedComponents: d.topologyChangedComponents };
      if (d.decimated) {
        ({ positions, indices } = d);
        if (restore && volumeCorrection?.limitedBy !== 'cap') {
          // Decimation moves the surface by up to maxErrorMm; restore the volume once more (a small offset).
          const p64 = Float64Array.from(positions);
          const r = restoreVolume(p64, indices, targetMm3, maxOffsetMm);
          if (!r.limitedBy) {
            positions = Float32Array.from(p64);
            volumeCorrection = { ...volumeCorrection!, offsetMm: volumeCorrection!.offsetMm + r.offsetMm, foldedTriangles: volumeCorrection!.foldedTriangles + r.foldedTriangles };
          }
        }
      } else warnings.push(`decimation could not keep ${segment.name} closed and manifold after ${d.rounds} rounds; the mesh is written undecimated`);
    }
    const metrics = meshMetrics(positions, indices);
    const c = [stats.sum[3 * value]! / count, stats.sum[3 * value + 1]! / count, stats.sum[3 * value + 2]! / count];
    const voxelCentroid: [number, number, number] = [
      a[0]! * c[0]! + a[1]! * c[1]! + a[2]! * c[2]! + a[3]!,
      a[4]! * c[0]! + a[5]! * c[1]! + a[6]! * c[2]! + a[7]!,
      a[8]! * c[0]! + a[9]! * c[1]! + a[10]! * c[2]! + a[11]!,
    ];
    const voxelVolumeMl = (count * voxelVolumeMm3) / 1000;
    meshes.push({
      segment,
      positions,
      normals: vertexNormals(positions, indices),
      indices,
      metrics,
      voxels: { voxelCount: count, volumeMl: voxelVolumeMl, centroidMm: voxelCentroid },
      volumeRelativeDifference: (metrics.volumeMl - voxelVolumeMl) / voxelVolumeMl,
      trianglesBeforeDecimation,
      ...(volumeCorrection ? { volumeCorrection } : {}),
      ...(decimation ? { decimation } : {}),
      warnings,
    });
  }
  job.onProgress?.({ stage: 'mesh', done: total, total });
  return { meshes, skipped, parameters };
}

/** The label's mask over its bounding box, with a one-voxel margin of zeros. */
function paddedMask(lm: Labelmap, value: number, lo: readonly number[], hi: readonly number[]): PaddedMask {
  const [nx, ny] = lm.size;
  const dx = hi[0]! - lo[0]! + 3;
  const dy = hi[1]! - lo[1]! + 3;
  const dz = hi[2]! - lo[2]! + 3;
  const mask = new Uint8Array(dx * dy * dz);
  const d = lm.data;
  for (let k = lo[2]!; k <= hi[2]!; k++)
    for (let j = lo[1]!; j <= hi[1]!; j++) {
      const src = lo[0]! + nx * (j + ny * k);
      const dst = 1 + dx * (j - lo[1]! + 1 + dy * (k - lo[2]! + 1));
      const len = hi[0]! - lo[0]! + 1;
      for (let i = 0; i < len; i++) mask[dst + i] = d[src + i] === value ? 1 : 0;
    }
  return { mask, dims: [dx, dy, dz], offset: [lo[0]!, lo[1]!, lo[2]!] };
}
