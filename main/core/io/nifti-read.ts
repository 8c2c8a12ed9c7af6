/**
 * A direct reader for the most common NIfTI-1 files (little-endian .nii / .nii.gz, 3-D scalar, no intensity scaling,
 * geometry in an sform that ITK uses as it is), giving exactly the {@link Volume} itk-wasm gives for them — without
 * loading and compiling itk-wasm's NIfTI module, which is most of a first read's 0.15–0.25 s (PGBM-001 T1c, 2 M
 * int16 voxels: 0.16–0.21 s with itk-wasm, ≈ 0.03 s here, the gunzip running off this thread).
 *
 * Anything else returns undefined and is left to itk-wasm ({@link readImageFile} falls back), so that ITK's rules
 * stay the only ones for: a qform (unless the sform is a scanner-anatomical one, which ITK prefers — checked on the
 * PGBM-00x studies, whose qform and sform disagree by up to 2.5e-4), both forms absent (Analyze orientation),
 * scl_slope/scl_inter scaling (ITK converts to float32), big-endian or NIfTI-2 headers, 2-D or 4-D images, unusual
 * voxel types, sform columns that are not orthogonal or whose lengths are not pixdim, and broken or truncated files
 * (whose errors come from the checks before itk-wasm). `test/integration/io/nifti-read.test.ts` compares this reader
 * with itk-wasm on every NIfTI file in ../shared/data.
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { niftiHead } from './nifti-check';
import type { Grid, Mat3, Vec3, Volume, VoxelArray, VoxelDataType } from '../../common/volume';

const gunzipAsync = promisify(gunzip);
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** NIfTI datatype code → voxel type and bytes per voxel (the scalar types itk-wasm reads to the same type). */
const TYPES: Record<number, { type: VoxelDataType; bytes: number; make: (n: number) => VoxelArray }> = {
  2: { type: 'uint8', bytes: 1, make: (n) => new Uint8Array(n) },
  256: { type: 'int8', bytes: 1, make: (n) => new Int8Array(n) },
  4: { type: 'int16', bytes: 2, make: (n) => new Int16Array(n) },
  512: { type: 'uint16', bytes: 2, make: (n) => new Uint16Array(n) },
  8: { type: 'int32', bytes: 4, make: (n) => new Int32Array(n) },
  768: { type: 'uint32', bytes: 4, make: (n) => new Uint32Array(n) },
  16: { type: 'float32', bytes: 4, make: (n) => new Float32Array(n) },
  64: { type: 'float64', bytes: 8, make: (n) => new Float64Array(n) },
};

/** NIFTI_XFORM_SCANNER_ANAT: the sform code ITK prefers over a qform. */
const XFORM_SCANNER_ANAT = 1;

/** ITK's tolerance for an orthonormal sform rotation (|R·Rᵀ − I| per entry); the PGBM-006 studies have 1.5e-5. */
const ORTHONORMALITY_TOLERANCE = 1e-4;

/** Largest relative difference between an sform column's length and its pixdim (PGBM-003: 8.6e-6). */
const SPACING_TOLERANCE = 1e-4;

/**
 * The voxels and geometry of a NIfTI-1 file in the subset described above, or undefined (read it with itk-wasm).
 * Never throws for a file it does not take; I/O errors other than a missing file also give undefined, so that
 * itk-wasm's path reports them.
 */
export async function readNiftiDirect(path: string): Promise<Volume | undefined> {
  const gz = path.toLowerCase().endsWith('.gz');
  let buf: Buffer;
  try {
    // The header first (352 bytes, streamed out of the gzip): a file this reader does not take — a 4-D series, a
    // qform file, a scaled one — is not read and inflated twice.
    if (!parseHeader(await niftiHead(path, gz, 352), false)) return undefined;
    buf = await readFile(path);
    if (gz) buf = await gunzipAsync(buf);
  } catch {
    return undefined;
  }
  return volumeFromNifti1(buf);
}

/** What the header says, when it is one this reader takes (`needData`: the voxel bytes must be in `buf` too). */
interface DirectHeader {
  size: Vec3;
  type: (typeof TYPES)[number];
  voxOffset: number;
  pixdim: number[];
  srow: number[][];
}

/**
 * The grid and voxel type {@link readNiftiDirect} would give for a file, from its header alone (352 bytes), or
 * undefined when the direct reader would not take the file. Cheap (no voxels read, no itk-wasm): folder scans list
 * such files with it (readImageFileHeader).
 */
export async function readNiftiHeaderDirect(path: string): Promise<(Grid & { dataType: VoxelDataType }) | undefined> {
  try {
    const hdr = parseHeader(await niftiHead(path, path.toLowerCase().endsWith('.gz'), 352), false);
    return hdr ? { ...gridOf(hdr), dataType: hdr.type.type } : undefined;
  } catch {
    return undefined;
  }
}

/** {@link readNiftiDirect} on the (decompressed) bytes of a file. */
export function volumeFromNifti1(buf: Buffer): Volume | undefined {
  const hdr = parseHeader(buf, true);
  if (!hdr) return undefined;
  const { size, type: t, voxOffset } = hdr;
  const n = size[0] * size[1] * size[2];
  const data = t.make(n);
  // A copy with its own buffer (little-endian file on a little-endian host; the Buffer may be a pooled slice).
  new Uint8Array(data.buffer).set(buf.subarray(voxOffset, voxOffset + n * t.bytes));
  return { ...gridOf(hdr), dataType: t.type, data };
}

/** LPS geometry of a header this reader takes. */
function gridOf({ size, pixdim, srow }: DirectHeader): Grid {
  // RAS → LPS: negate the x and y rows (origin exactly as ITK computes it, −0 included). Direction columns = sform
  // columns normalised (+0: no −0, as volumeFromItkImage); spacing = pixdim (as ITK).
  const lps = srow.map((row, r) => row.map((v) => (r < 2 ? -v : v)));
  const direction = [0, 0, 0, 0, 0, 0, 0, 0, 0] as Mat3;
  for (let c = 0; c < 3; c++) {
    const col = [lps[0]![c]!, lps[1]![c]!, lps[2]![c]!];
    const len = Math.sqrt(col[0]! * col[0]! + col[1]! * col[1]! + col[2]! * col[2]!);
    for (let r = 0; r < 3; r++) direction[r * 3 + c] = col[r]! / len + 0;
  }
  return { size: [...size], spacingMm: [pixdim[0]!, pixdim[1]!, pixdim[2]!], originMm: [lps[0]![3]!, lps[1]![3]!, lps[2]![3]!], direction };
}

/** The header checks (see the module doc); `needData`: `buf` must also hold every voxel. */
function parseHeader(buf: Buffer, needData: boolean): DirectHeader | undefined {
  if (!LITTLE_ENDIAN_HOST) return undefined;
  if (buf.length < 352 || buf.readInt32LE(0) !== 348) return undefined;
  if (buf.toString('latin1', 344, 348) !== 'n+1\0') return undefined;
  const dim = [0, 1, 2, 3].map((k) => buf.readInt16LE(40 + 2 * k));
  if (dim[0] !== 3 || !dim.slice(1).every((d) => d >= 1)) return undefined;
  const t = TYPES[buf.readInt16LE(70)];
  if (!t || buf.readInt16LE(72) !== t.bytes * 8) return undefined;
  const pixdim = [1, 2, 3].map((k) => buf.readFloatLE(76 + 4 * k));
  if (!pixdim.every((p) => Number.isFinite(p) && p > 0)) return undefined;
  const voxOffset = buf.readFloatLE(108);
  const slope = buf.readFloatLE(112);
  const inter = buf.readFloatLE(116);
  // No scaling only: slope 0 (unset) or 1, intercept 0.
  if (!((slope === 0 || slope === 1) && inter === 0)) return undefined;
  // Lengths in mm (or unspecified, which ITK reads as mm); ITK scales metres and microns.
  const units = buf[123]! & 7;
  if (units !== 0 && units !== 2) return undefined;
  // Matrix and vector intents: ITK reads them as other image types (or refuses them).
  const intent = buf.readInt16LE(68);
  if (intent >= 1004 && intent <= 1007) return undefined;
  const qformCode = buf.readInt16LE(252);
  const sformCode = buf.readInt16LE(254);
  if (!(sformCode === XFORM_SCANNER_ANAT || (sformCode > 0 && qformCode === 0))) return undefined;
  if (!Number.isInteger(voxOffset) || voxOffset < 352) return undefined;
  const size: Vec3 = [dim[1]!, dim[2]!, dim[3]!];
  if (needData && buf.length < voxOffset + size[0] * size[1] * size[2] * t.bytes) return undefined;

  // sform rows (RAS mm): srow_x, srow_y, srow_z at 280, 296, 312.
  const srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => buf.readFloatLE(280 + 16 * r + 4 * c)));
  if (!srow.every((row) => row.every(Number.isFinite))) return undefined;
  // ITK's own test of an sform it uses: its columns, normalised in float32, orthonormal to 1e-4 (R·Rᵀ ≈ I); and
  // their lengths must be pixdim (ITK's spacing), else ITK's geometry would not be the sform's.
  const unit: number[][] = [];
  for (let c = 0; c < 3; c++) {
    const col = [srow[0]![c]!, srow[1]![c]!, srow[2]![c]!];
    const len = Math.sqrt(col[0]! * col[0]! + col[1]! * col[1]! + col[2]! * col[2]!);
    if (!(len > 0) || Math.abs(len - pixdim[c]!) > SPACING_TOLERANCE * pixdim[c]!) return undefined;
    unit.push(col.map((v) => Math.fround(v / len)));
  }
  for (let a = 0; a < 3; a++)
    for (let b = 0; b < 3; b++) {
      const rrt = unit[0]![a]! * unit[0]![b]! + unit[1]![a]! * unit[1]![b]! + unit[2]![a]! * unit[2]![b]!;
      if (Math.abs(rrt - (a === b ? 1 : 0)) > ORTHONORMALITY_TOLERANCE) return undefined;
    }
  return { size, type: t, voxOffset, pixdim, srow };
}
