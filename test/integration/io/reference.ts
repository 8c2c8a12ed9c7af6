/**
 * Test helpers for comparing Delineate's volumes with reference NIfTI files (dcm2niix output) WITHOUT going
 * through itk-wasm: a minimal NIfTI-1 reader (sform, else qform; scl_slope/scl_inter applied) that converts the
 * RAS affine to LPS itself, and a comparison that maps every voxel of one grid onto the other through the
 * physical (LPS) position.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { invert4, ijkToLps, type Mat4 } from '../../../main/common/geometry';
import type { Volume } from '../../../main/common/volume';

export interface NiftiReference {
  size: [number, number, number];
  /** 4×4 row-major: voxel index → LPS mm. */
  ijkToLps: Mat4;
  /** Scaled voxel values (scl_slope/scl_inter applied), i fastest. */
  values: Float64Array;
}

/** Read a NIfTI-1 (.nii or .nii.gz) file: 3-D scalar only. */
export function readNiftiReference(path: string): NiftiReference {
  let buf: Buffer = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const le = buf.readInt32LE(0) === 348;
  if (!le && buf.readInt32BE(0) !== 348) throw new Error(`${path}: not NIfTI-1`);
  const i16 = (o: number) => (le ? buf.readInt16LE(o) : buf.readInt16BE(o));
  const f32 = (o: number) => (le ? buf.readFloatLE(o) : buf.readFloatBE(o));
  const dim = [1, 2, 3, 4].map((k) => i16(40 + 2 * k));
  const size: [number, number, number] = [dim[0]!, dim[1]!, Math.max(1, dim[2]!)];
  const datatype = i16(70);
  const pixdim = [0, 1, 2, 3, 4].map((k) => f32(76 + 4 * k));
  const voxOffset = f32(108);
  let slope = f32(112);
  const inter = f32(116);
  if (slope === 0 || !Number.isFinite(slope)) slope = 1;
  const qformCode = i16(252);
  const sformCode = i16(254);
  let ras: number[];
  if (sformCode > 0) {
    ras = [...[0, 1, 2, 3].map((k) => f32(280 + 4 * k)), ...[0, 1, 2, 3].map((k) => f32(296 + 4 * k)), ...[0, 1, 2, 3].map((k) => f32(312 + 4 * k))];
  } else if (qformCode > 0) {
    const b = f32(256);
    const c = f32(260);
    const d = f32(264);
    const a = Math.sqrt(Math.max(0, 1 - b * b - c * c - d * d));
    const qfac = pixdim[0]! < 0 ? -1 : 1;
    const R = [
      [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
      [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
      [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ];
    const s = [pixdim[1]!, pixdim[2]!, pixdim[3]! * qfac];
    const q = [f32(268), f32(272), f32(276)];
    ras = [];
    for (let r = 0; r < 3; r++) ras.push(R[r]![0]! * s[0]!, R[r]![1]! * s[1]!, R[r]![2]! * s[2]!, q[r]!);
  } else throw new Error(`${path}: neither sform nor qform set`);
  // RAS → LPS: negate the first two rows.
  const lps: Mat4 = [
    -ras[0]!, -ras[1]!, -ras[2]!, -ras[3]!,
    -ras[4]!, -ras[5]!, -ras[6]!, -ras[7]!,
    ras[8]!, ras[9]!, ras[10]!, ras[11]!,
    0, 0, 0, 1,
  ];
  const n = size[0] * size[1] * size[2];
  const values = new Float64Array(n);
  const o = Math.round(voxOffset);
  const readers: Record<number, [number, (p: number) => number]> = {
    2: [1, (p) => buf.readUInt8(p)],
    4: [2, (p) => (le ? buf.readInt16LE(p) : buf.readInt16BE(p))],
    8: [4, (p) => (le ? buf.readInt32LE(p) : buf.readInt32BE(p))],
    16: [4, (p) => (le ? buf.readFloatLE(p) : buf.readFloatBE(p))],
    64: [8, (p) => (le ? buf.readDoubleLE(p) : buf.readDoubleBE(p))],
    256: [1, (p) => buf.readInt8(p)],
    512: [2, (p) => (le ? buf.readUInt16LE(p) : buf.readUInt16BE(p))],
    768: [4, (p) => (le ? buf.readUInt32LE(p) : buf.readUInt32BE(p))],
  };
  const rd = readers[datatype];
  if (!rd) throw new Error(`${path}: NIfTI datatype ${datatype} not handled by the test reader`);
  const [bytes, read] = rd;
  if (o + n * bytes > buf.length) throw new Error(`${path}: truncated`);
  for (let i = 0; i < n; i++) values[i] = read(o + i * bytes) * slope + inter;
  return { size, ijkToLps: lps, values };
}

export interface Comparison {
  /** Largest distance (mm) between a corner voxel's position in ours and the same voxel's in the reference. */
  maxCornerErrorMm: number;
  /** Voxels compared / voxels that differ by more than the tolerance. */
  compared: number;
  mismatched: number;
  maxAbsDifference: number;
}

/**
 * Compare a volume with a reference on the same physical grid up to axis permutation/flips (what dcm2niix does):
 * our index → LPS → reference index must be an integer signed permutation (within `indexTolerance` voxels), then
 * every voxel value is compared (|a-b| ≤ valueTolerance).
 */
export function compareWithReference(ours: Volume, ref: NiftiReference, valueTolerance = 1e-3, indexTolerance = 0.02): Comparison {
  const toRef = multiply4(invert4(ref.ijkToLps), ijkToLps(ours));
  // The 3×3 part must be a signed permutation.
  const perm: { axis: number; sign: number }[] = [];
  for (let c = 0; c < 3; c++) {
    let best = -1;
    for (let r = 0; r < 3; r++) if (Math.abs(Math.abs(toRef[r * 4 + c]!) - 1) < indexTolerance) best = r;
    if (best < 0) throw new Error(`index axis ${c} does not map onto a reference axis: ${toRef.map((x) => x.toFixed(4)).join(',')}`);
    for (let r = 0; r < 3; r++) if (r !== best && Math.abs(toRef[r * 4 + c]!) > indexTolerance) throw new Error(`axis ${c} is oblique to the reference grid`);
    perm.push({ axis: best, sign: Math.sign(toRef[best * 4 + c]!) });
  }
  const t = [toRef[3]!, toRef[7]!, toRef[11]!];
  if (t.some((x) => Math.abs(x - Math.round(x)) > indexTolerance)) throw new Error(`grids are offset by a fraction of a voxel: ${t.join(',')}`);
  const ti = t.map(Math.round);
  const [ni, nj, nk] = ours.size;
  const refSize = ref.size;
  // Corner error in mm.
  let maxCornerErrorMm = 0;
  const oursM = ijkToLps(ours);
  for (const [i, j, k] of [
    [0, 0, 0],
    [ni - 1, 0, 0],
    [0, nj - 1, 0],
    [0, 0, nk - 1],
    [ni - 1, nj - 1, nk - 1],
  ] as const) {
    const p = apply(oursM, [i, j, k]);
    const idx = [0, 0, 0];
    const src = [i, j, k];
    for (let c = 0; c < 3; c++) idx[perm[c]!.axis] = ti[perm[c]!.axis]! + perm[c]!.sign * src[c]!;
    const q = apply(ref.ijkToLps, idx as [number, number, number]);
    maxCornerErrorMm = Math.max(maxCornerErrorMm, Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]));
  }
  let mismatched = 0;
  let maxAbsDifference = 0;
  let compared = 0;
  const idx = [0, 0, 0];
  for (let k = 0; k < nk; k++)
    for (let j = 0; j < nj; j++)
      for (let i = 0; i < ni; i++) {
        const src = [i, j, k];
        for (let c = 0; c < 3; c++) idx[perm[c]!.axis] = ti[perm[c]!.axis]! + perm[c]!.sign * src[c]!;
        if (idx[0]! < 0 || idx[1]! < 0 || idx[2]! < 0 || idx[0]! >= refSize[0] || idx[1]! >= refSize[1] || idx[2]! >= refSize[2])
          throw new Error(`voxel (${i},${j},${k}) falls outside the reference grid`);
        const a = ours.data[i + ni * (j + nj * k)]!;
        const b = ref.values[idx[0]! + refSize[0] * (idx[1]! + refSize[1] * idx[2]!)]!;
        const d = Math.abs(a - b);
        compared++;
        if (d > valueTolerance) mismatched++;
        if (d > maxAbsDifference) maxAbsDifference = d;
      }
  return { maxCornerErrorMm, compared, mismatched, maxAbsDifference };
}

function multiply4(a: Mat4, b: Mat4): Mat4 {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let k = 0; k < 4; k++) out[r * 4 + c]! += a[r * 4 + k]! * b[k * 4 + c]!;
  return out;
}

function apply(m: Mat4, p: [number, number, number]): [number, number, number] {
  return [
    m[0]! * p[0] + m[1]! * p[1] + m[2]! * p[2] + m[3]!,
    m[4]! * p[0] + m[5]! * p[1] + m[6]! * p[2] + m[7]!,
    m[8]! * p[0] + m[9]! * p[1] + m[10]! * p[2] + m[11]!,
  ];
}

/** Run Debian's dcm2niix on a folder into `outDir` (uncompressed NIfTI, no sidecars); returns the .nii paths. */
export function runDcm2niix(inputDir: string, outDir: string): string[] {
  execFileSync('dcm2niix', ['-z', 'n', '-b', 'n', '-f', '%s_%d', '-o', outDir, inputDir], { stdio: 'pipe' });
  return execFileSync('find', [outDir, '-name', '*.nii'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

/**
 * Whether a command (dcm2niix, dcmodify …: Debian packages that CI installs) is on PATH. Missing locally: the
 * test is skipped with a warning; missing under CI=true: an error, so that a CI run never skips silently.
 */
export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${cmd} is not installed (CI=true: tests that need it must not skip)`);
    console.warn(`${cmd} not installed — skipping`);
    return false;
  }
}
