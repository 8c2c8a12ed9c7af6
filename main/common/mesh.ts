/**
 * Surface meshes of labelmap segments (issue 6: surgical planning meshes). Pure types shared by core (which builds
 * them), the CLI, the service API and the renderer's 3D preview.
 *
 * Coordinates are millimetres in the patient space named by {@link MeshSpace} (LPS by default, RAS on request).
 * Triangles are wound counter-clockwise seen from outside, so the right-hand normal points out of the segment.
 */
import type { Segment } from './volume';

/** Patient coordinate system of mesh vertices. LPS = ITK/DICOM (x → left, y → posterior, z → superior); RAS negates x and y. */
export type MeshSpace = 'LPS' | 'RAS';

/** Output file formats. STL is binary unless `ascii` is set; PLY is binary little-endian unless `ascii` is set. */
export type MeshFormat = 'stl' | 'obj' | 'ply';

/** How a labelmap becomes meshes. Defaults follow 3D Slicer's closed-surface conversion. */
export interface MeshOptions {
  /** Label values to mesh; all non-zero values present when omitted. */
  labels?: number[];
  /**
   * Smoothing factor s in [0, 1] (Slicer's "smoothing factor"): windowed-sinc pass band 10^(−4·s), 20 iterations.
   * 0 switches smoothing off. Default 0.5.
   */
  smoothing?: number;
  /** Fraction of triangles to remove, in [0, 1). 0 switches decimation off. Default 0 (none). */
  decimate?: number;
  /** Output coordinate system. Default 'LPS'. */
  space?: MeshSpace;
  /**
   * After smoothing, move the surface along its normals by the one distance that restores the labelmap's voxel
   * volume (capped at half the largest voxel spacing; see core/mesh/volume.ts). Default true. False gives exactly
   * Slicer's/VTK's smoothed geometry, which shrinks small and thin segments.
   */
  preserveVolume?: boolean;
}

/** Quality figures of one triangle mesh, computed on the final (output-space) mesh. */
export interface MeshMetrics {
  /** Enclosed volume in millilitres (divergence theorem; positive for outward-wound closed meshes). */
  volumeMl: number;
  /** Surface area in mm². */
  areaMm2: number;
  vertexCount: number;
  triangleCount: number;
  edgeCount: number;
  /** Every edge is shared by exactly two triangles. */
  closed: boolean;
  /** Every edge is used once in each direction (triangles wound consistently). */
  consistentlyOriented: boolean;
  /** Edge-manifold (≤ 2 triangles per edge) and vertex-manifold (the triangles around each vertex form one fan). */
  manifold: boolean;
  /** V − E + F (2 per closed component of genus 0). */
  eulerCharacteristic: number;
  /** Connected components (by shared edges). */
  components: number;
  /** Axis-aligned bounding box in output space, mm: [minX, minY, minZ, maxX, maxY, maxZ]. */
  boundsMm: [number, number, number, number, number, number];
  /** Centroid of the enclosed solid (divergence theorem), mm, output space: compare with the voxel centroid. */
  centroidMm: [number, number, number];
  /** Area-weighted centroid of the surface itself, mm, output space. */
  surfaceCentroidMm: [number, number, number];
}

/** Volume of the segment in the labelmap itself, for comparison with the mesh. */
export interface VoxelFigures {
  voxelCount: number;
  /** voxelCount × |det(direction)| × spacing product, millilitres. */
  volumeMl: number;
  /** Mean position of the voxel centres, mm, output space. */
  centroidMm: [number, number, number];
}

/** One segment's mesh. `positions` are xyz triples (mm, output space), `indices` are CCW-from-outside triangles. */
export interface SegmentMesh {
  segment: Segment;
  positions: Float32Array;
  /** Unit vertex normals pointing out of the segment, xyz triples. */
  normals: Float32Array;
  indices: Uint32Array;
  metrics: MeshMetrics;
  voxels: VoxelFigures;
  /** (mesh volume − voxel volume) / voxel volume. */
  volumeRelativeDifference: number;
  /** Triangles before decimation (after extraction). */
  trianglesBeforeDecimation: number;
  /** The volume restoration after smoothing, when it ran: offset along the normals (mm) and the volume before (mL). */
  volumeCorrection?: { offsetMm: number; volumeBeforeMl: number; foldedTriangles: number; limitedBy?: 'cap' | 'fold' };
  /** How decimation went: simplification rounds, vertices locked to keep the mesh manifold, parts whose topology changed. */
  decimation?: { rounds: number; lockedVertices: number; topologyChangedComponents: number };
  /** Anything the user should know about this mesh (e.g. decimation skipped to keep it manifold). */
  warnings: string[];
}

/** A segment that produced no mesh, and why. */
export interface SkippedSegment {
  value: number;
  name: string;
  reason: string;
}

/** Parameters actually used, as recorded in the sidecar JSON. */
export interface MeshParameters {
  extraction: string;
  smoothing: { factor: number; method: string; iterations: number; passBand: number; nonManifoldSmoothing: boolean; boundarySmoothing: boolean; featureEdgeSmoothing: boolean; normalizeCoordinates: boolean };
  volumePreservation: { enabled: boolean; method: string; maxOffsetMm: number };
  decimation: { targetReduction: number; method: string; maxErrorMm: number };
  space: MeshSpace;
  units: 'mm';
}

/** Result of meshing a labelmap. */
export interface MeshSegmentsResult {
  meshes: SegmentMesh[];
  skipped: SkippedSegment[];
  parameters: MeshParameters;
}
