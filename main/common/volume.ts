/**
 * The data model shared by every part of Delineate (see DESIGN.md, "Data model").
 *
 * A volume is a voxel grid in **LPS patient space** with index axis i fastest in memory (ITK/DICOM convention):
 * voxel (i, j, k) sits at `data[i + size[0] * (j + size[1] * k)]` and at physical position
 * `originMm + direction · diag(spacingMm) · [i, j, k]` (see {@link ../common/geometry}).
 * Readers never reorient voxels: the file's grid is kept and the matrix carried.
 */

export type Vec3 = [number, number, number];

/**
 * 3×3 direction matrix, row-major, 9 numbers. Column c is the unit vector (in LPS) of index axis c (i, j, k):
 * `direction[r * 3 + c]` is the r-th LPS component of axis c.
 */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

export type VoxelDataType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** Grid geometry of a volume, without its voxels. */
export interface Grid {
  /** Voxel counts along i, j, k. */
  size: Vec3;
  /** Voxel spacing in mm along i, j, k. */
  spacingMm: Vec3;
  /** LPS position (mm) of the centre of voxel (0,0,0). */
  originMm: Vec3;
  /** Row-major 3×3; columns are the i, j, k axes as LPS unit vectors. */
  direction: Mat3;
}

/** A scalar volume (one component per voxel) in LPS. `data.length === size[0]*size[1]*size[2]`. */
export interface Volume extends Grid {
  dataType: VoxelDataType;
  data: VoxelArray;
}

/** One row of a segment table. */
export interface Segment {
  /** Label value in the labelmap (1…65535; 0 is background). */
  value: number;
  name: string;
  /** sRGB 0–255. */
  color: [number, number, number];
  /** Optional coded concept, e.g. SNOMED CT or TotalSegmentator class name. */
  code?: { scheme: string; value: string; meaning: string };
}

/** A labelmap: uint8 (uint16 when more than 255 labels) on a reference grid, plus its segment table. */
export interface Labelmap extends Grid {
  dataType: 'uint8' | 'uint16';
  data: Uint8Array | Uint16Array;
  segments: Segment[];
}

/** What `delineate info --json` reports for one volume found in a file or folder. */
export interface VolumeInfo {
  /** Stable id within one scan (used by `--series` and by the API). */
  id: string;
  /** File path (single-file formats) or folder path (DICOM series). */
  source: string;
  modality: string;
  description: string;
  size: Vec3;
  spacingMm: Vec3;
  originMm: Vec3;
  /** Row-major, columns are the i, j, k axes in LPS. */
  direction: Mat3;
  dataType: VoxelDataType;
  /** Files that make up this volume (one for NIfTI/NRRD/MHA, all slices for a DICOM series). */
  files: string[];
  warnings: string[];
  /** DICOM study/series details and patient overlay fields, where the format has them. */
  study?: StudyDetails;
}

export interface StudyDetails {
  patientName?: string;
  patientId?: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  studyDescription?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  frameOfReferenceUid?: string;
  manufacturer?: string;
  bodyPart?: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ScanResult {
  volumes: VolumeInfo[];
  skipped: SkippedFile[];
}

export const BYTES_PER_VOXEL: Record<VoxelDataType, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};

/** Allocate a zeroed voxel array of a data type. */
export function allocateVoxels(dataType: VoxelDataType, length: number): VoxelArray {
  switch (dataType) {
    case 'uint8':
      return new Uint8Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint16':
      return new Uint16Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
  }
}

/** The data type name of a typed array. */
export function dataTypeOf(data: VoxelArray): VoxelDataType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

/** Number of voxels of a grid. */
export function voxelCount(size: Vec3): number {
  return size[0] * size[1] * size[2];
}
