/**
 * Single-file image formats (NIfTI, NRRD, MetaImage) through itk-wasm's `@itk-wasm/image-io` Node API.
 *
 * Geometry comes back exactly as ITK gives it: LPS millimetres, origin = centre of voxel (0,0,0), and a direction
 * matrix whose itk-wasm memory layout is row-major (`direction[row * 3 + col]`, column = index axis), which is
 * the layout of our {@link Mat3}. (Verified on a NIfTI with a known affine: PIL.nii.gz, whose RAS sform columns
 * are i→(0,-2.39,0), j→(0,0,-2.37), k→(-2.39,0,0); itk-wasm returns [0,0,1, 1,0,0, 0,-1,0] — the same columns
 * in LPS.) NIfTI's RAS→LPS conversion and the sform/qform choice are ITK's.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readImageNode, writeImageNode } from '@itk-wasm/image-io';
import { Image, ImageType, type TypedArray } from 'itk-wasm';
import { DelineateError, throwIfCancelled } from '../../common/errors';
import type { JobOptions } from '../../common/progress';
import { itkErrorDetail, quietly } from './itk-quiet';
import { checkNifti } from './nifti-check';
import { readNiftiDirect, readNiftiHeaderDirect } from './nifti-read';
import { type Mat3, type Vec3, type Volume, type VoxelArray, type VoxelDataType, dataTypeOf } from '../../common/volume';

/** Extensions {@link readImageFile} accepts (lower case, with the leading dot). */
export const READABLE_IMAGE_EXTENSIONS = ['.nii', '.nii.gz', '.nrrd', '.nhdr', '.mha', '.mhd'] as const;
/** Extensions {@link writeVolume} accepts. */
export const WRITABLE_IMAGE_EXTENSIONS = ['.nii.gz', '.nii', '.nrrd', '.mha'] as const;

/** The image-format extension of a path ('.nii.gz', '.nrrd' …, lower case), or undefined if it is not one we read. */
export function imageExtension(path: string): string | undefined {
  const lower = basename(path).toLowerCase();
  // Longest first so that .nii.gz wins over .gz.
  return [...READABLE_IMAGE_EXTENSIONS].sort((a, b) => b.length - a.length).find((e) => lower.endsWith(e));
}

const SUPPORTED_COMPONENTS: Record<string, VoxelDataType> = {
  uint8: 'uint8',
  int8: 'int8',
  uint16: 'uint16',
  int16: 'int16',
  uint32: 'uint32',
  int32: 'int32',
  float32: 'float32',
  float64: 'float64',
};

/** Convert an itk-wasm image (2D or 3D, one component) to a {@link Volume}. A 2D image becomes one slice. */
export function volumeFromItkImage(image: Image, path: string): Volume {
  const { dimension, componentType, components } = image.imageType;
  if (components !== 1)
    throw new DelineateError('UNSUPPORTED', `${path}: ${components}-component (${image.imageType.pixelType}) images are not supported; expected a scalar image`, { subject: path });
  if (dimension !== 2 && dimension !== 3)
    throw new DelineateError('UNSUPPORTED', `${path}: ${dimension}-D images are not supported; expected a 3-D volume`, { subject: path });
  const dataType = SUPPORTED_COMPONENTS[componentType];
  if (!dataType) throw new DelineateError('UNSUPPORTED', `${path}: voxel type ${componentType} is not supported`, { subject: path });
  const d = dimension;
  const size: Vec3 = [image.size[0] ?? 1, image.size[1] ?? 1, d === 3 ? (image.size[2] ?? 1) : 1];
  const spacingMm: Vec3 = [image.spacing[0] ?? 1, image.spacing[1] ?? 1, d === 3 ? (image.spacing[2] ?? 1) : 1];
  const originMm: Vec3 = [image.origin[0] ?? 0, image.origin[1] ?? 0, d === 3 ? (image.origin[2] ?? 0) : 0];
  const direction: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) direction[r * 3 + c] = Number(image.direction[r * d + c]) + 0; // +0 turns -0 into 0
  if (image.data === null) throw new DelineateError('FORMAT', `${path}: no voxel data`, { subject: path });
  const data = image.data as VoxelArray;
  if (dataTypeOf(data) !== dataType)
    throw new DelineateError('INTERNAL', `${path}: itk-wasm returned ${data.constructor.name} for component type ${componentType}`, { subject: path });
  if (data.length !== size[0] * size[1] * size[2])
    throw new DelineateError('FORMAT', `${path}: ${data.length} voxels for a ${size.join('×')} grid`, { subject: path });
  return { size, spacingMm, originMm, direction, dataType, data };
}

async function assertReadableFile(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${path}: no such file`, { subject: path, cause: e });
  }
  if (!st.isFile()) throw new DelineateError('USAGE', `${path}: not a file`, { subject: path });
}

function itkFailure(path: string, e: unknown): DelineateError {
  return new DelineateError('FORMAT', `${path}: cannot read image (${itkErrorDetail(e)})`, { subject: path, cause: e });
}

/** Checks ITK does not do: a broken NIfTI header or a truncated NIfTI file (ITK would return partial voxels). */
async function precheck(path: string, ext: string): Promise<void> {
  if (ext === '.nii' || ext === '.nii.gz') await checkNifti(path);
}

/**
 * Read a NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage (.mha, .mhd) file into a {@link Volume}:
 * voxels in the file's own grid (never reoriented), i fastest; geometry in LPS mm as ITK reports it (NIfTI's RAS
 * affine converted to LPS; sform/qform chosen by ITK). NIfTI scl_slope/scl_inter are applied by ITK (the voxel
 * type becomes float32 when they are not identity). Common NIfTI files are read without itk-wasm
 * (./nifti-read.ts), to the same Volume.
 *
 * Errors: NOT_FOUND (no file), USAGE (unknown extension), FORMAT (broken/truncated file), UNSUPPORTED
 * (multi-component, 4-D or 64-bit integer images). Cancellation is checked before and after the read.
 */
export async function readImageFile(path: string, opts: JobOptions = {}): Promise<Volume> {
  throwIfCancelled(opts.signal);
  const ext = imageExtension(path);
  if (!ext)
    throw new DelineateError('USAGE', `${path}: not a NIfTI/NRRD/MetaImage file (expected ${READABLE_IMAGE_EXTENSIONS.join(', ')})`, { subject: path });
  await assertReadableFile(path);
  opts.onProgress?.({ stage: 'read', done: 0, total: 1, detail: path });
  // The common NIfTI files without itk-wasm (./nifti-read.ts: same Volume, bit for bit); the rest below.
  const direct = ext === '.nii' || ext === '.nii.gz' ? await readNiftiDirect(path) : undefined;
  if (direct) {
    throwIfCancelled(opts.signal);
    opts.onProgress?.({ stage: 'read', done: 1, total: 1, detail: path });
    return direct;
  }
  await precheck(path, ext);
  let image: Image;
  try {
    ({ result: image } = await quietly(() => readImageNode(path)));
  } catch (e) {
    throw itkFailure(path, e);
  }
  throwIfCancelled(opts.signal);
  const volume = volumeFromItkImage(image, path);
  opts.onProgress?.({ stage: 'read', done: 1, total: 1, detail: path });
  return volume;
}

/** Geometry only (no voxels): itk-wasm's information-only read. Same errors as {@link readImageFile}. */
export async function readImageFileHeader(path: string): Promise<{ size: Vec3; spacingMm: Vec3; originMm: Vec3; direction: Mat3; dataType: VoxelDataType }> {
  const ext = imageExtension(path);
  if (!ext) throw new DelineateError('USAGE', `${path}: not a NIfTI/NRRD/MetaImage file`, { subject: path });
  await assertReadableFile(path);
  await precheck(path, ext);
  // Common NIfTI files: their header alone, without loading itk-wasm (./nifti-read.ts: the same geometry).
  const direct = ext === '.nii' || ext === '.nii.gz' ? await readNiftiHeaderDirect(path) : undefined;
  if (direct) return direct;
  let image: Image;
  try {
    ({ result: image } = await quietly(() => readImageNode(path, { informationOnly: true })));
  } catch (e) {
    throw itkFailure(path, e);
  }
  const { dimension, componentType, components } = image.imageType;
  const dataType = SUPPORTED_COMPONENTS[componentType];
  if (components !== 1 || (dimension !== 2 && dimension !== 3) || !dataType)
    throw new DelineateError(
      'UNSUPPORTED',
      `${path}: ${dimension}-D ${componentType} image (${image.size.join('×')}${components > 1 ? `, ${components} components` : ''}): only scalar 2-D/3-D volumes are supported`,
      { subject: path },
    );
  const d = dimension;
  const direction: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) direction[r * 3 + c] = Number(image.direction[r * d + c]) + 0;
  return {
    size: [image.size[0] ?? 1, image.size[1] ?? 1, d === 3 ? (image.size[2] ?? 1) : 1],
    spacingMm: [image.spacing[0] ?? 1, image.spacing[1] ?? 1, d === 3 ? (image.spacing[2] ?? 1) : 1],
    originMm: [image.origin[0] ?? 0, image.origin[1] ?? 0, d === 3 ? (image.origin[2] ?? 0) : 0],
    direction,
    dataType,
  };
}

/** Build an itk-wasm image (3-D scalar) that shares the volume's voxel buffer. */
export function itkImageFromVolume(volume: Volume): Image {
  const image = new Image(new ImageType(3, volume.dataType, 'Scalar', 1));
  image.size = [...volume.size];
  image.spacing = [...volume.spacingMm];
  image.origin = [...volume.originMm];
  image.direction = Float64Array.from(volume.direction);
  image.data = volume.data as unknown as TypedArray;
  return image;
}

function checkVolume(volume: Volume, path: string): void {
  const n = volume.size[0] * volume.size[1] * volume.size[2];
  if (!volume.size.every((s) => Number.isInteger(s) && s > 0) || volume.data.length !== n)
    throw new DelineateError('INPUT', `Cannot write ${path}: ${volume.data.length} voxels for a ${volume.size.join('×')} grid`, { subject: path });
  if (![...volume.spacingMm, ...volume.originMm, ...volume.direction].every(Number.isFinite) || !volume.spacingMm.every((s) => s > 0))
    throw new DelineateError('GEOMETRY', `Cannot write ${path}: spacing/origin/direction are not finite and positive`, { subject: path });
  if (dataTypeOf(volume.data) !== volume.dataType)
    throw new DelineateError('INPUT', `Cannot write ${path}: dataType ${volume.dataType} but voxels are ${volume.data.constructor.name}`, { subject: path });
}

/**
 * Write a volume with its geometry to .nii.gz, .nii, .nrrd or .mha (chosen by the extension; NRRD and MHA are
 * written gzip-compressed, NIfTI stores the LPS geometry as a RAS sform/qform as ITK does). Atomic: the file is
 * written to a temporary name in the same folder and renamed over `path`, so a failed write leaves nothing behind
 * and an existing file is replaced only by a complete one.
 *
 * Errors: USAGE (other extension, e.g. .mhd which needs a side file), INPUT/GEOMETRY (inconsistent volume), IO
 * (folder missing or not writable).
 */
export async function writeVolume(volume: Volume, path: string): Promise<void> {
  const lower = basename(path).toLowerCase();
  const ext = [...WRITABLE_IMAGE_EXTENSIONS].sort((a, b) => b.length - a.length).find((e) => lower.endsWith(e));
  if (!ext || lower === ext)
    throw new DelineateError('USAGE', `${path}: output must end in ${WRITABLE_IMAGE_EXTENSIONS.join(', ')}`, { subject: path });
  checkVolume(volume, path);
  const folder = dirname(path);
  try {
    const st = await stat(folder);
    if (!st.isDirectory()) throw new Error('not a folder');
  } catch (e) {
    throw new DelineateError('IO', `Cannot write ${path}: folder ${folder} does not exist`, { subject: path, cause: e });
  }
  const stem = basename(path).slice(0, basename(path).length - ext.length);
  const tmp = join(folder, `.${stem}.${randomBytes(6).toString('hex')}.partial${ext}`);
  try {
    await quietly(() => writeImageNode(itkImageFromVolume(volume), tmp, { useCompression: ext !== '.nii' }));
    await stat(tmp); // itk-wasm reports some failures only by not writing the file
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof DelineateError) throw e;
    throw new DelineateError('IO', `Cannot write ${path}: ${itkErrorDetail(e)}`, { subject: path, cause: e });
  }
}
