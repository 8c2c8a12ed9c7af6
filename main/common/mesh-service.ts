/**
 * Params and results of the mesh methods of the service contract ('mesh.build', 'mesh.export'; see ./api and
 * main/compute/service-mesh.ts). Pure types: the renderer's 3D surfaces and export dialog use them.
 *
 * The labelmap travels with each request (the renderer owns the labels, as for 'stats.compute'); the compute side
 * meshes it with main/core/mesh on the grid of the scanned volume `volumeId`.
 */
import type { MeshFormat, MeshParameters, MeshSpace, SegmentMesh, SkippedSegment } from './mesh';

/** How the segments become meshes (main/core/mesh `meshSegments` options; its defaults where omitted). */
export interface MeshBuildOptions {
  /** Label values to mesh; every non-zero value present when omitted. */
  values?: number[];
  /** Windowed-sinc smoothing factor s in [0, 1] (pass band 10^(−4·s), 20 iterations); 0 = none. Default 0.5. */
  smoothing?: number;
  /** Fraction of triangles to remove, [0, 1); 0 = none. Default 0. */
  decimate?: number;
  /** Coordinate system of the vertices, mm. Default 'LPS' (the 3D view's world space). */
  space?: MeshSpace;
  /** Restore the voxel volume after smoothing (offset along the normals). Default true. */
  preserveVolume?: boolean;
}

/**
 * One segment's surface as built: the wire form of main/common/mesh's {@link SegmentMesh} (arrays in
 * {@link MeshBuildResult.parameters}.space, mm; triangles counter-clockwise from outside), with the segment's value,
 * name and sRGB 0–255 colour instead of the whole segment record.
 */
export type SegmentSurface = { value: number; name: string; color: [number, number, number] } & Pick<
  SegmentMesh,
  'positions' | 'normals' | 'indices' | 'metrics' | 'voxels' | 'volumeRelativeDifference' | 'trianglesBeforeDecimation' | 'warnings'
>;

/** What 'mesh.build' returns. */
export interface MeshBuildResult {
  surfaces: SegmentSurface[];
  /** Requested segments without voxels, with the reason. */
  skipped: SkippedSegment[];
  parameters: MeshParameters;
  /** Wall time of the build on the compute side, s (0 when a cached build was reused). */
  seconds: number;
}

/** Where and how 'mesh.export' writes. */
export interface MeshExportOptions extends MeshBuildOptions {
  /** Absolute folder on the compute side's machine (created when missing). */
  outputDir: string;
  format: MeshFormat;
  /** ASCII STL/PLY instead of binary (OBJ is always text). Default false. */
  ascii?: boolean;
  /** One file with every segment instead of one file per segment. Default false. */
  merge?: boolean;
}

/** What 'mesh.export' returns: the files written (meshes, then the sidecar JSON) and a summary per segment. */
export interface MeshExportResult {
  /** Absolute paths: mesh file(s) then the sidecar `<stem>.mesh.json`. */
  files: string[];
  sidecarPath: string;
  segments: ({ value: number; name: string; file: string } & Pick<SegmentMesh, 'metrics' | 'voxels' | 'volumeRelativeDifference' | 'warnings'>)[];
  skipped: SkippedSegment[];
  coordinateSystem: MeshSpace;
  /** True when the meshes written are the very ones of a recent 'mesh.build' with the same labels and options. */
  reusedBuild: boolean;
  seconds: number;
}
