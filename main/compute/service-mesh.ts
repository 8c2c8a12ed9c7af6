/**
 * The mesh methods of the compute service (issue 6, and the 3D surfaces of issue 5): 'mesh.build' turns the
 * segments of a labelmap on a scanned volume's grid into surfaces for the 3D view and the export dialog's preview;
 * 'mesh.export' writes them as STL/OBJ/PLY with the sidecar JSON. Both are thin over main/core/mesh
 * (`meshSegments`: surface nets → windowed sinc → volume restoration → decimation; `writeMeshFiles`: atomic set of
 * files + sidecar), so the app writes exactly what `delineate mesh` writes for the same labels and options.
 *
 * The last {@link KEPT_BUILDS} builds are kept (keyed by a hash of the labels, the segment table, the volume and the
 * options), so an export right after a preview writes the very meshes that were previewed, without meshing again —
 * also when the 3D view's own surfaces were rebuilt in between.
 */
import { isAbsolute, normalize } from 'node:path';
import type { SegmentationData } from '../common/api';
import { DelineateError } from '../common/errors';
import type { MeshFormat, MeshOptions, MeshSegmentsResult, MeshSpace } from '../common/mesh';
import type { MeshBuildOptions, MeshBuildResult, MeshExportOptions, MeshExportResult } from '../common/mesh-service';
import type { JobOptions } from '../common/progress';
import type { Labelmap, VolumeInfo } from '../common/volume';
import { meshSegments, writeMeshFiles } from '../core/mesh/index';
import { gridOfInfo } from './model-inputs';

/** How the mesh service reaches the scanned volumes (the grid of the labels and the source recorded in the sidecar). */
export interface MeshServiceHost {
  /** The core's VolumeInfo of a scanned volume (NOT_FOUND error for an unknown id). */
  info(volumeId: string): VolumeInfo;
  /** Application version, recorded in the sidecar. */
  version(): string;
}

/** Params of 'mesh.build': a labelmap on the grid of `volumeId` and the meshing options. */
export type MeshBuildParams = SegmentationData & { volumeId: string } & MeshBuildOptions;
/** Params of 'mesh.export'. */
export type MeshExportParams = SegmentationData & { volumeId: string } & MeshExportOptions;

/** The option fields each method accepts besides `volumeId` and the {@link SegmentationData} fields. */
export const MESH_PARAM_FIELDS = {
  'mesh.build': ['values', 'smoothing', 'decimate', 'space', 'preserveVolume'],
  'mesh.export': ['values', 'smoothing', 'decimate', 'space', 'preserveVolume', 'outputDir', 'format', 'ascii', 'merge'],
} as const;

/** Builds kept for reuse: the 3D view's surfaces and the export dialog's preview. */
export const KEPT_BUILDS = 2;

/** Most label values one request may name. */
const MAX_VALUES = 65535;

function fail(field: string, message: string, code: 'USAGE' | 'PROTOCOL' = 'USAGE'): never {
  throw new DelineateError(code, message, { subject: `params.${field}` });
}

/**
 * Validate the mesh option fields of a request (the service validates `volumeId` and the labelmap fields).
 * Errors name the field: PROTOCOL for a wrong type, USAGE for a value out of range.
 */
export function validateMeshOptions(method: 'mesh.build' | 'mesh.export', p: Record<string, unknown>): MeshBuildOptions | MeshExportOptions {
  const out: MeshBuildOptions & Partial<MeshExportOptions> = {};
  if (p.values !== undefined) {
    const v = p.values;
    if (!Array.isArray(v) || v.length > MAX_VALUES || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 65535))
      fail('values', `'${method}' needs params.values as an array of label values 1…65535`);
    if (v.length === 0) fail('values', `params.values is empty: choose at least one segment to mesh`);
    out.values = [...new Set(v as number[])];
  }
  if (p.smoothing !== undefined) {
    if (typeof p.smoothing !== 'number') fail('smoothing', `params.smoothing must be a number`, 'PROTOCOL');
    if (!(p.smoothing >= 0 && p.smoothing <= 1)) fail('smoothing', `params.smoothing must be between 0 and 1, got ${p.smoothing}`);
    out.smoothing = p.smoothing;
  }
  if (p.decimate !== undefined) {
    if (typeof p.decimate !== 'number') fail('decimate', `params.decimate must be a number`, 'PROTOCOL');
    if (!(p.decimate >= 0 && p.decimate < 1)) fail('decimate', `params.decimate must be at least 0 and below 1, got ${p.decimate}`);
    out.decimate = p.decimate;
  }
  if (p.space !== undefined) {
    if (p.space !== 'LPS' && p.space !== 'RAS') fail('space', `params.space must be 'LPS' or 'RAS', got ${JSON.stringify(p.space)}`);
    out.space = p.space;
  }
  if (p.preserveVolume !== undefined) {
    if (typeof p.preserveVolume !== 'boolean') fail('preserveVolume', `params.preserveVolume must be true or false`, 'PROTOCOL');
    out.preserveVolume = p.preserveVolume;
  }
  if (method === 'mesh.build') return out;
  const dir = p.outputDir;
  if (typeof dir !== 'string') fail('outputDir', `'${method}' needs params.outputDir as a string`, 'PROTOCOL');
  if (dir.includes('\0') || !isAbsolute(dir)) fail('outputDir', `'${method}' needs params.outputDir as an absolute folder path, got '${dir}'`);
  out.outputDir = normalize(dir);
  const format = p.format;
  if (format !== 'stl' && format !== 'obj' && format !== 'ply') fail('format', `params.format must be stl, obj or ply, got ${JSON.stringify(format)}`);
  out.format = format as MeshFormat;
  for (const key of ['ascii', 'merge'] as const) {
    if (p[key] === undefined) continue;
    if (typeof p[key] !== 'boolean') fail(key, `params.${key} must be true or false`, 'PROTOCOL');
    out[key] = p[key];
  }
  return out as MeshExportOptions;
}

/** 2 × 32-bit FNV-1a over the label bytes (a cache key, not a security hash). */
function hashLabels(labels: Uint8Array | Uint16Array): string {
  const bytes = new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i]!;
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x ^ (i & 0xff), 0x01000193);
  }
  return `${(a >>> 0).toString(16)}${(b >>> 0).toString(16)}:${bytes.length}`;
}


function meshOptions(o: MeshBuildOptions): MeshOptions {
  return {
    ...(o.values ? { labels: o.values } : {}),
    smoothing: o.smoothing ?? 0.5,
    decimate: o.decimate ?? 0,
    space: o.space ?? 'LPS',
    preserveVolume: o.preserveVolume ?? true,
  };
}

export class MeshService {
  /** The last builds and what they were built from, most recent last. */
  private builds: { key: string; result: MeshSegmentsResult }[] = [];

  constructor(private readonly host: MeshServiceHost) {}

  /** The labelmap of a request on its volume's grid (USAGE error when the voxel count differs). */
  private labelmap(p: SegmentationData & { volumeId: string }): { info: VolumeInfo; labelmap: Labelmap } {
    const info = this.host.info(p.volumeId);
    const grid = gridOfInfo(info);
    const n = grid.size[0] * grid.size[1] * grid.size[2];
    if (p.labels.length !== n)
      throw new DelineateError('USAGE', `params.labels has ${p.labels.length} voxels but ${info.source} has ${n} (${grid.size.join('×')})`, { subject: 'params.labels' });
    const segments = p.segments.map((s) => ({ value: s.value, name: s.name, color: [...s.color] as [number, number, number] }));
    const labelmap: Labelmap =
      p.dataType === 'uint8' ? { ...grid, dataType: 'uint8', data: p.labels as Uint8Array, segments } : { ...grid, dataType: 'uint16', data: p.labels as Uint16Array, segments };
    return { info, labelmap };
  }

  /** Mesh (or reuse a kept build when labels, table, volume and options are the same). */
  private async meshes(p: SegmentationData & { volumeId: string } & MeshBuildOptions, job: JobOptions): Promise<{ result: MeshSegmentsResult; reused: boolean; info: VolumeInfo; labelmap: Labelmap }> {
    const { info, labelmap } = this.labelmap(p);
    const options = meshOptions(p);
    const key = JSON.stringify([p.volumeId, info.source, labelmap.dataType, hashLabels(labelmap.data), labelmap.segments, options]);
    const hit = this.builds.find((b) => b.key === key);
    if (hit) {
      this.builds = [...this.builds.filter((b) => b !== hit), hit];
      return { result: hit.result, reused: true, info, labelmap };
    }
    // Free the oldest meshes before building new ones.
    this.builds = this.builds.slice(-(KEPT_BUILDS - 1));
    const result = await meshSegments(labelmap, options, job);
    this.builds = [...this.builds.filter((b) => b.key !== key), { key, result }].slice(-KEPT_BUILDS);
    return { result, reused: false, info, labelmap };
  }

  /**
   * 'mesh.build': one surface per non-empty requested segment, vertices in mm in `space` (LPS by default: the
   * world space of the 3D view), with metrics. Progress: stage 'mesh' in segments. Cancellable between steps.
   */
  async build(p: MeshBuildParams, job: JobOptions): Promise<MeshBuildResult> {
    const t0 = performance.now();
    const { result, reused } = await this.meshes(p, job);
    return {
      surfaces: result.meshes.map((m) => ({
        value: m.segment.value,
        name: m.segment.name,
        color: [...m.segment.color] as [number, number, number],
        positions: m.positions,
        normals: m.normals,
        indices: m.indices,
        metrics: m.metrics,
        voxels: m.voxels,
        volumeRelativeDifference: m.volumeRelativeDifference,
        trianglesBeforeDecimation: m.trianglesBeforeDecimation,
        warnings: m.warnings,
      })),
      skipped: result.skipped,
      parameters: result.parameters,
      seconds: reused ? 0 : (performance.now() - t0) / 1000,
    };
  }

  /**
   * 'mesh.export': mesh (or reuse the previewed build) and write the files and the sidecar into `outputDir`,
   * atomically as a set (core/mesh writeMeshFiles). The sidecar's source is the scanned volume the labels are on.
   * Errors: INPUT when no requested segment has voxels, IO when the folder cannot be written (nothing left behind).
   */
  async export(p: MeshExportParams, job: JobOptions): Promise<MeshExportResult> {
    const t0 = performance.now();
    const { result, reused, info, labelmap } = await this.meshes(p, job);
    if (result.meshes.length === 0) {
      const why = result.skipped.map((s) => s.reason).join('; ');
      throw new DelineateError('INPUT', `Nothing to export: ${why || 'the labelmap has no segments'}`, { subject: 'params.values' });
    }
    job.onProgress?.({ stage: 'write', done: 0, total: 1, detail: p.outputDir });
    const written = await writeMeshFiles(result, {
      outputDir: p.outputDir,
      format: p.format,
      ascii: p.ascii ?? false,
      merge: p.merge ?? false,
      sourceFile: info.source,
      sourceGrid: labelmap,
      version: this.host.version(),
    });
    job.onProgress?.({ stage: 'write', done: 1, total: 1, detail: p.outputDir });
    const space: MeshSpace = result.parameters.space;
    return {
      files: written.files,
      sidecarPath: written.sidecarPath,
      segments: written.sidecar.segments.map((s) => ({
        value: s.value,
        name: s.name,
        file: s.file,
        metrics: s.metrics,
        voxels: s.voxels,
        volumeRelativeDifference: s.volumeRelativeDifference,
        warnings: s.warnings,
      })),
      skipped: result.skipped,
      coordinateSystem: space,
      reusedBuild: reused,
      seconds: (performance.now() - t0) / 1000,
    };
  }
}
