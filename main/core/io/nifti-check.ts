/**
 * NIfTI sanity checks done in TypeScript before itk-wasm reads a file, because ITK's NIfTI reader accepts a
 * broken `sizeof_hdr` and silently returns partial voxels for truncated files. Checks: header size and magic,
 * dimensions, datatype/bitpix, vox_offset, and that the file (decompressed, for .nii.gz) holds all the voxels the
 * header promises. For .nii.gz the gzip trailer's ISIZE is compared first; only when it disagrees is the file
 * decompressed (streaming, nothing kept) to find out.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { DelineateError } from '../../common/errors';

const BITPIX: Record<number, number> = {
  2: 8, // uint8
  4: 16, // int16
  8: 32, // int32
  16: 32, // float32
  32: 64, // complex64
  64: 64, // float64
  128: 24, // rgb24
  256: 8, // int8
  512: 16, // uint16
  768: 32, // uint32
  1024: 64, // int64
  1280: 64, // uint64
  1536: 128, // float128
  1792: 128, // complex128
  2048: 256, // complex256
  2304: 32, // rgba32
};

const fail = (path: string, what: string) => new DelineateError('FORMAT', `${path}: broken NIfTI header: ${what}`, { subject: path });

/** First `n` bytes of the (decompressed) file (fewer when it is shorter, or its gzip data breaks after some). */
export async function niftiHead(path: string, gz: boolean, n: number): Promise<Buffer> {
  if (!gz) {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
  return new Promise<Buffer>((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const src = createReadStream(path);
    const gunzip = createGunzip();
    const finish = () => {
      src.destroy();
      gunzip.destroy();
      resolvePromise(Buffer.concat(chunks).subarray(0, n));
    };
    gunzip.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) finish();
    });
    gunzip.on('end', finish);
    gunzip.on('error', (e) => (got > 0 ? finish() : reject(e)));
    src.on('error', reject);
    src.pipe(gunzip);
  });
}

/** Decompressed byte count of a gzip file; rejects if the stream is corrupt or truncated. */
function gunzippedSize(path: string): Promise<number> {
  return new Promise<number>((resolvePromise, reject) => {
    let total = 0;
    const src = createReadStream(path);
    const gunzip = createGunzip();
    gunzip.on('data', (c: Buffer) => (total += c.length));
    gunzip.on('end', () => resolvePromise(total));
    gunzip.on('error', reject);
    src.on('error', reject);
    src.pipe(gunzip);
  });
}

export interface NiftiHeaderFacts {
  version: 1 | 2;
  dims: number[];
  datatype: number;
  voxOffset: number;
  /** Bytes the file must hold (decompressed): vox_offset + voxel data. */
  neededBytes: number;
}

/** Validate a .nii/.nii.gz file; throws FORMAT naming the file and the problem. */
export async function checkNifti(path: string): Promise<NiftiHeaderFacts> {
  const gz = path.toLowerCase().endsWith('.gz');
  let h: Buffer;
  try {
    h = await niftiHead(path, gz, 540);
  } catch (e) {
    throw new DelineateError('FORMAT', `${path}: not a gzip file or corrupt compressed data (${(e as Error).message})`, { subject: path, cause: e });
  }
  if (h.length < 348) throw fail(path, `file holds ${h.length} bytes, a NIfTI header needs 348`);
  let le = true;
  let version: 1 | 2;
  if (h.readInt32LE(0) === 348) version = 1;
  else if (h.readInt32BE(0) === 348) {
    version = 1;
    le = false;
  } else if (h.readInt32LE(0) === 540) version = 2;
  else if (h.readInt32BE(0) === 540) {
    version = 2;
    le = false;
  } else throw fail(path, `sizeof_hdr is ${h.readInt32LE(0)}, expected 348 (NIfTI-1) or 540 (NIfTI-2)`);
  const i16 = (o: number) => (le ? h.readInt16LE(o) : h.readInt16BE(o));
  const i64 = (o: number) => Number(le ? h.readBigInt64LE(o) : h.readBigInt64BE(o));
  const f32 = (o: number) => (le ? h.readFloatLE(o) : h.readFloatBE(o));
  let dims: number[];
  let datatype: number;
  let bitpix: number;
  let voxOffset: number;
  let magic: string;
  if (version === 1) {
    magic = h.toString('latin1', 344, 347);
    dims = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => i16(40 + 2 * k));
    datatype = i16(70);
    bitpix = i16(72);
    voxOffset = f32(108);
  } else {
    if (h.length < 540) throw fail(path, `file holds ${h.length} bytes, a NIfTI-2 header needs 540`);
    magic = h.toString('latin1', 4, 7);
    dims = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => i64(16 + 8 * k));
    datatype = i16(12);
    bitpix = i16(14);
    voxOffset = i64(168);
  }
  if (magic !== 'n+1' && magic !== 'n+2') throw fail(path, `magic is ${JSON.stringify(magic)}, expected "n+${version}" (single-file NIfTI)`);
  const nd = dims[0]!;
  if (!(nd >= 1 && nd <= 7)) throw fail(path, `dim[0] is ${nd}, expected 1…7`);
  for (let k = 1; k <= nd; k++) if (!(dims[k]! >= 1)) throw fail(path, `dim[${k}] is ${dims[k]}, expected ≥ 1`);
  const expectedBits = BITPIX[datatype];
  if (expectedBits === undefined) throw fail(path, `unknown datatype code ${datatype}`);
  if (bitpix !== expectedBits) throw fail(path, `bitpix is ${bitpix} but datatype ${datatype} has ${expectedBits} bits`);
  if (!(voxOffset >= (version === 1 ? 352 : 544)))
    throw fail(path, `vox_offset is ${voxOffset}, expected ≥ ${version === 1 ? 352 : 544}`);
  let voxels = 1;
  for (let k = 1; k <= nd; k++) voxels *= dims[k]!;
  const neededBytes = Math.floor(voxOffset) + (voxels * bitpix) / 8;
  const facts: NiftiHeaderFacts = { version, dims: dims.slice(1, nd + 1), datatype, voxOffset, neededBytes };
  const fh = await open(path, 'r');
  let size: number;
  let isize = -1;
  try {
    size = (await fh.stat()).size;
    if (gz && size >= 4) {
      const t = Buffer.alloc(4);
      await fh.read(t, 0, 4, size - 4);
      isize = t.readUInt32LE(0);
    }
  } finally {
    await fh.close();
  }
  if (!gz) {
    if (size < neededBytes) throw new DelineateError('FORMAT', `${path}: truncated: ${size} bytes, the header promises ${neededBytes}`, { subject: path });
    return facts;
  }
  if (isize === neededBytes % 2 ** 32) return facts;
  let total: number;
  try {
    total = await gunzippedSize(path);
  } catch (e) {
    throw new DelineateError('FORMAT', `${path}: truncated or corrupt gzip data (${(e as Error).message})`, { subject: path, cause: e });
  }
  if (total < neededBytes) throw new DelineateError('FORMAT', `${path}: truncated: ${total} bytes uncompressed, the header promises ${neededBytes}`, { subject: path });
  return facts;
}
