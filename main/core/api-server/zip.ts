/**
 * A small, defensive ZIP reader for uploads (a zipped DICOM series): stored (method 0) and deflated (method 8,
 * node:zlib inflateRaw) entries, read through the central directory.
 *
 * Guards: entry names must be relative paths without `..`, drive letters, backslashes or NUL (zip-slip); the
 * number of entries, the total declared and the total actual uncompressed size are capped, each entry's
 * inflation is capped by `maxOutputLength` (so a zip bomb stops at the cap instead of filling memory), and the
 * compression ratio per entry is limited. Encrypted entries, ZIP64 archives and other methods are refused with a
 * FORMAT/UNSUPPORTED error naming the entry. CRC-32 is checked.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { DelineateError } from '../../common/errors';

/** Limits of {@link readZip}. */
export interface ZipLimits {
  /** Most entries (files and folders). Default 20 000. */
  maxEntries?: number;
  /** Most bytes once all entries are inflated. Default 2 GiB. */
  maxTotalBytes?: number;
  /** Highest uncompressed/compressed ratio of an entry larger than 1 MiB. Default 200. */
  maxRatio?: number;
}

/** One file of an archive (folders are not returned). */
export interface ZipEntry {
  /** Normalised relative path with `/` separators. */
  name: string;
  data: Buffer;
}

const fail = (message: string, subject?: string): never => {
  throw new DelineateError('FORMAT', message, subject ? { subject } : {});
};

/** Normalise and check an entry name; throws on absolute paths, `..`, backslashes, drive letters or NUL. */
export function safeEntryName(raw: string): string {
  if (raw.includes('\0')) fail(`zip entry name contains NUL: ${JSON.stringify(raw)}`, raw);
  if (raw.includes('\\')) fail(`zip entry '${raw}' uses backslashes (refused: could escape the extraction folder)`, raw);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) fail(`zip entry '${raw}' is an absolute path (refused)`, raw);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) fail(`zip entry '${raw}' leaves the extraction folder ('..'; refused)`, raw);
  return parts.join('/');
}

/**
 * Read every file of a ZIP archive held in memory. Throws DelineateError FORMAT (not a zip, truncated, bad CRC,
 * unsafe name, limits exceeded — the message says which and names the entry) or UNSUPPORTED (ZIP64, encryption,
 * compression other than stored/deflate).
 */
export function readZip(buf: Buffer, limits: ZipLimits = {}): ZipEntry[] {
  return [...iterateZip(buf, limits)];
}

/**
 * Like {@link readZip}, but inflates one entry at a time as the caller iterates (so a caller that writes each
 * entry to disk holds one inflated entry at once). The whole central directory — names, declared sizes, limits —
 * is checked before the first entry is yielded, so nothing is yielded from an archive that breaks a limit there.
 */
export function* iterateZip(buf: Buffer, limits: ZipLimits = {}): Generator<ZipEntry> {
  const maxEntries = limits.maxEntries ?? 20_000;
  const maxTotal = limits.maxTotalBytes ?? 2 * 1024 ** 3;
  const maxRatio = limits.maxRatio ?? 200;
  if (buf.length < 22 || (buf.readUInt32LE(0) !== 0x04034b50 && buf.readUInt32LE(0) !== 0x06054b50)) fail('not a zip archive (no PK signature)');
  // End of central directory: last 22 bytes + up to 65535 bytes of comment.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--)
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) fail('zip archive is truncated: no end-of-central-directory record');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff)
    throw new DelineateError('UNSUPPORTED', 'ZIP64 archives are not supported; zip the series without ZIP64 (under 4 GiB, under 65 535 files)');
  if (count > maxEntries) fail(`zip archive has ${count} entries, more than the limit of ${maxEntries}`);
  if (cdOffset + cdSize > eocd) fail('zip archive is truncated: the central directory lies outside the file');
  interface Rec {
    rawName: string;
    name: string;
    method: number;
    crc: number;
    csize: number;
    usize: number;
    local: number;
  }
  const recs: Rec[] = [];
  let total = 0;
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) fail(`zip central directory entry ${n + 1} is damaged`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLen > buf.length) fail(`zip central directory entry ${n + 1} is truncated`);
    const rawName = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    const name = safeEntryName(rawName);
    if (rawName.endsWith('/') || name === '') continue; // folder
    if (flags & 0x1) throw new DelineateError('UNSUPPORTED', `zip entry '${rawName}' is encrypted`, { subject: rawName });
    if (method !== 0 && method !== 8) throw new DelineateError('UNSUPPORTED', `zip entry '${rawName}' uses compression method ${method}; only stored and deflate are supported`, { subject: rawName });
    if (usize === 0xffffffff || csize === 0xffffffff) throw new DelineateError('UNSUPPORTED', `zip entry '${rawName}' needs ZIP64 (not supported)`, { subject: rawName });
    total += usize;
    if (total > maxTotal) fail(`zip archive inflates to more than ${maxTotal} bytes (limit)`, rawName);
    if (usize > 1024 * 1024 && usize > maxRatio * Math.max(1, csize)) fail(`zip entry '${rawName}' has a compression ratio over ${maxRatio}:1 (refused as a possible zip bomb)`, rawName);
    recs.push({ rawName, name, method, crc, csize, usize, local });
  }
  for (const { rawName, name, method, crc, csize, usize, local } of recs) {
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) fail(`zip entry '${rawName}': local header missing (truncated archive?)`, rawName);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + csize > buf.length) fail(`zip entry '${rawName}' is truncated`, rawName);
    const raw = buf.subarray(start, start + csize);
    let data: Buffer;
    if (method === 0) {
      if (csize !== usize) fail(`zip entry '${rawName}' is stored but its sizes differ`, rawName);
      data = Buffer.from(raw);
    } else {
      try {
        // maxOutputLength caps inflation at the declared size (+1 to detect a lie) whatever the stream says.
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, usize + 1) });
      } catch (e) {
        fail(`zip entry '${rawName}' does not inflate (${(e as Error).message})`, rawName);
        throw e;
      }
    }
    if (data.length !== usize) fail(`zip entry '${rawName}' inflates to ${data.length} bytes, but the directory says ${usize}`, rawName);
    if ((crc32(data) >>> 0) !== crc) fail(`zip entry '${rawName}' fails its CRC-32 check (damaged archive)`, rawName);
    yield { name, data };
  }

}
