/**
 * NRRD (NRRD0001–NRRD0005) header and data, as far as segmentation files need: attached data (one file), raw or
 * gzip encoding, integer voxel types, 3 spatial axes with an optional leading `list` axis (Slicer's layers), and
 * the `key:=value` pairs Slicer stores its segment metadata in. Single-file scalar images go through itk-wasm
 * (main/core/io); this module exists because itk-wasm neither keeps the key/value pairs nor reads 4-D layers.
 *
 * Geometry follows the NRRD spec: `space directions` columns are the index axes scaled by spacing, `space origin`
 * is the centre of the first voxel, `space` names the frame (LPS kept; RAS converted to LPS by negating x and y).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { DelineateError } from '../../common/errors';
import type { Mat3, Vec3 } from '../../common/volume';

/** Voxel types allowed in a segmentation NRRD. */
export type NrrdIntType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32';

const TYPE_NAMES: Record<string, NrrdIntType> = {
  'unsigned char': 'uint8', uchar: 'uint8', uint8: 'uint8', uint8_t: 'uint8',
  'signed char': 'int8', char: 'int8', int8: 'int8', int8_t: 'int8',
  short: 'int16', 'short int': 'int16', 'signed short': 'int16', 'signed short int': 'int16', int16: 'int16', int16_t: 'int16',
  ushort: 'uint16', 'unsigned short': 'uint16', 'unsigned short int': 'uint16', uint16: 'uint16', uint16_t: 'uint16',
  int: 'int32', 'signed int': 'int32', int32: 'int32', int32_t: 'int32',
  uint: 'uint32', 'unsigned int': 'uint32', uint32: 'uint32', uint32_t: 'uint32',
};
const BYTES: Record<NrrdIntType, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4 };
const WRITE_NAME: Record<NrrdIntType, string> = {
  uint8: 'unsigned char', int8: 'signed char', uint16: 'unsigned short', int16: 'short', uint32: 'unsigned int', int32: 'int',
};

/** A parsed NRRD with 3 spatial axes and an optional leading list axis. */
export interface NrrdImage {
  /** Length of the leading list axis (layers); 1 when the file is 3-D. */
  listSize: number;
  size: Vec3;
  spacingMm: Vec3;
  originMm: Vec3;
  direction: Mat3;
  type: NrrdIntType;
  /** Voxels as numbers in file order: list axis fastest, then i, j, k. */
  data: Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
  /** Key/value pairs (`key:=value` lines), in file order. */
  keyValues: Map<string, string>;
  /** Things a reader should tell the user (assumptions made). */
  warnings: string[];
}

function bad(path: string, msg: string): DelineateError {
  return new DelineateError('FORMAT', `${path}: ${msg}`, { subject: path });
}

function parseVector(s: string, path: string, field: string): Vec3 {
  const m = /^\(\s*([^,]+),([^,]+),([^)]+)\)$/.exec(s.trim());
  if (!m) throw bad(path, `${field}: '${s}' is not a vector (x,y,z)`);
  const v = [Number(m[1]), Number(m[2]), Number(m[3])] as Vec3;
  if (!v.every(Number.isFinite)) throw bad(path, `${field}: '${s}' has non-numeric components`);
  return v;
}

/** Decode NRRD `key:=value` escapes (`\n`, `\\`). */
function unescapeValue(s: string): string {
  return s.replace(/\\(n|\\)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}
function escapeValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * Only the `key:=value` pairs of a NRRD header (no data decoded); undefined when the bytes are not NRRD or the
 * header does not end within them.
 */
export function nrrdKeyValues(bytes: Uint8Array): Map<string, string> | undefined {
  if (!/^NRRD000[1-5]$/.test(String.fromCharCode(...bytes.subarray(0, Math.min(8, bytes.length))))) return undefined;
  const text = Buffer.from(bytes).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  if (end < 0) return undefined;
  const out = new Map<string, string>();
  for (const line of Buffer.from(bytes.subarray(0, end)).toString('utf8').split(/\r?\n/)) {
    const kv = line.indexOf(':=');
    const f = line.indexOf(': ');
    if (!line.startsWith('#') && kv >= 0 && (f < 0 || kv < f)) out.set(line.slice(0, kv), unescapeValue(line.slice(kv + 2)));
  }
  return out;
}

/**
 * Parse a whole NRRD file held in memory. Errors: FORMAT naming `path` and the field (not NRRD, detached data,
 * unsupported encoding/type, wrong dimension, truncated or oversized data).
 */
export function parseNrrd(bytes: Uint8Array, path: string): NrrdImage {
  const magic = String.fromCharCode(...bytes.subarray(0, Math.min(8, bytes.length)));
  if (!/^NRRD000[1-5]$/.test(magic)) throw bad(path, 'not a NRRD file (no NRRD000x magic)');
  // Header ends at the first empty line.
  let end = -1;
  let dataStart = -1;
  for (let i = 0; i < bytes.length - 1; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      end = i;
      dataStart = i + 2;
      break;
    }
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) {
      end = i;
      dataStart = i + 3;
      break;
    }
  }
  if (end < 0) throw bad(path, 'header has no end (no blank line before the data)');
  const header = Buffer.from(bytes.subarray(0, end)).toString('utf8');
  const fields = new Map<string, string>();
  const keyValues = new Map<string, string>();
  for (const raw of header.split(/\r?\n/).slice(1)) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#') || line.trim() === '') continue;
    const kv = line.indexOf(':=');
    const f = line.indexOf(': ');
    if (kv >= 0 && (f < 0 || kv < f)) {
      keyValues.set(line.slice(0, kv), unescapeValue(line.slice(kv + 2)));
      continue;
    }
    if (f < 0) throw bad(path, `header line '${line}' is neither 'field: value' nor 'key:=value'`);
    fields.set(line.slice(0, f).trim().toLowerCase(), line.slice(f + 2).trim());
  }
  const warnings: string[] = [];
  if (fields.has('data file') || fields.has('datafile')) throw bad(path, 'detached data files are not supported for segmentations (use one .nrrd file)');
  const typeName = fields.get('type');
  if (!typeName) throw bad(path, "no 'type' field");
  const type = TYPE_NAMES[typeName.toLowerCase()];
  if (!type) throw bad(path, `type '${typeName}' is not an integer type; a segmentation holds integer labels`);
  const dim = Number(fields.get('dimension'));
  if (dim !== 3 && dim !== 4) throw bad(path, `dimension ${fields.get('dimension')}: expected 3 (one layer) or 4 (list of layers)`);
  const sizes = (fields.get('sizes') ?? '').split(/\s+/).map(Number);
  if (sizes.length !== dim || !sizes.every((s) => Number.isInteger(s) && s > 0)) throw bad(path, `sizes '${fields.get('sizes')}' must be ${dim} positive integers`);
  const kinds = (fields.get('kinds') ?? '').split(/\s+/).filter(Boolean);
  const spatialOffset = dim - 3;
  if (dim === 4 && kinds.length === 4 && !['list', 'none', '???'].includes(kinds[0]!.toLowerCase()) && kinds[0]!.toLowerCase() !== 'vector')
    throw bad(path, `kinds '${fields.get('kinds')}': the first of 4 axes must be a list of layers`);
  const encoding = (fields.get('encoding') ?? 'raw').toLowerCase();
  const endian = (fields.get('endian') ?? 'little').toLowerCase();
  const space = (fields.get('space') ?? '').toLowerCase();
  let flip = false;
  if (space === 'right-anterior-superior' || space === 'ras') flip = true;
  else if (space === '') warnings.push(`${path}: no 'space' field: left-posterior-superior assumed`);
  else if (space !== 'left-posterior-superior' && space !== 'lps') throw bad(path, `space '${space}' is not supported (expected left-posterior-superior or right-anterior-superior)`);
  // Space directions: 'none' for the list axis, then 3 vectors.
  const dirsField = fields.get('space directions');
  const direction: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const spacingMm: Vec3 = [1, 1, 1];
  if (dirsField) {
    const parts = dirsField.match(/\([^)]*\)|none/gi) ?? [];
    if (parts.length !== dim) throw bad(path, `space directions '${dirsField}' must list ${dim} entries`);
    for (let c = 0; c < 3; c++) {
      const p = parts[spatialOffset + c]!;
      if (p.toLowerCase() === 'none') throw bad(path, `space directions: spatial axis ${c} is 'none'`);
      const v = parseVector(p, path, 'space directions');
      if (flip) {
        v[0] = -v[0];
        v[1] = -v[1];
      }
      const n = Math.hypot(...v);
      if (!(n > 0)) throw bad(path, `space directions: axis ${c} has zero length`);
      spacingMm[c] = n;
      for (let r = 0; r < 3; r++) direction[r * 3 + c] = v[r]! / n + 0;
    }
  } else {
    const sp = (fields.get('spacings') ?? '').split(/\s+/).map(Number).slice(spatialOffset);
    if (sp.length === 3 && sp.every((s) => s > 0)) spacingMm.splice(0, 3, ...sp);
    warnings.push(`${path}: no 'space directions': identity direction assumed`);
  }
  let originMm: Vec3 = [0, 0, 0];
  const originField = fields.get('space origin');
  if (originField) {
    originMm = parseVector(originField, path, 'space origin');
    if (flip) originMm = [-originMm[0], -originMm[1], originMm[2]];
  } else warnings.push(`${path}: no 'space origin': (0,0,0) assumed`);
  if (fields.has('byte skip') || fields.has('byteskip') || fields.has('line skip') || fields.has('lineskip')) throw bad(path, 'byte/line skip is not supported');
  let payload = bytes.subarray(dataStart);
  if (encoding === 'gzip' || encoding === 'gz') {
    try {
      payload = gunzipSync(payload);
    } catch (e) {
      throw new DelineateError('FORMAT', `${path}: gzip data does not inflate (${(e as Error).message}); the file may be truncated`, { subject: path, cause: e });
    }
  } else if (encoding !== 'raw') throw bad(path, `encoding '${encoding}' is not supported (raw or gzip)`);
  const count = sizes.reduce((a, b) => a * b, 1);
  const nbytes = count * BYTES[type];
  if (payload.byteLength < nbytes) throw bad(path, `data is truncated: ${payload.byteLength} bytes for ${sizes.join('×')} ${typeName} voxels (${nbytes} bytes)`);
  const buf = new ArrayBuffer(nbytes);
  new Uint8Array(buf).set(payload.subarray(0, nbytes));
  if (BYTES[type] > 1 && endian === 'big') {
    const u8 = new Uint8Array(buf);
    const w = BYTES[type];
    for (let i = 0; i < nbytes; i += w) u8.subarray(i, i + w).reverse();
  }
  const data =
    type === 'uint8' ? new Uint8Array(buf) : type === 'int8' ? new Int8Array(buf) : type === 'uint16' ? new Uint16Array(buf) : type === 'int16' ? new Int16Array(buf) : type === 'uint32' ? new Uint32Array(buf) : new Int32Array(buf);
  return {
    listSize: dim === 4 ? sizes[0]! : 1,
    size: [sizes[spatialOffset]!, sizes[spatialOffset + 1]!, sizes[spatialOffset + 2]!],
    spacingMm,
    originMm,
    direction,
    type,
    data,
    keyValues,
    warnings,
  };
}

const num = (x: number): string => {
  const s = String(Number(x.toPrecision(17)));
  return s === '-0' ? '0' : s;
};

/**
 * Encode a NRRD file (NRRD0004, LPS, gzip, little endian) with 3 spatial axes and, when `listSize` > 1, a leading
 * list axis. `data` is in file order (list fastest). Key/value pairs are written sorted by key, as Slicer does.
 */
export function encodeNrrd(img: Omit<NrrdImage, 'warnings'>, gzipLevel = 6): Uint8Array {
  const four = img.listSize > 1;
  const dirs = [0, 1, 2].map((c) => `(${[0, 1, 2].map((r) => num(img.direction[r * 3 + c]! * img.spacingMm[c]!)).join(',')})`);
  const lines = [
    'NRRD0004',
    '# Complete NRRD file format specification at:',
    '# http://teem.sourceforge.net/nrrd/format.html',
    `type: ${WRITE_NAME[img.type]}`,
    `dimension: ${four ? 4 : 3}`,
    'space: left-posterior-superior',
    `sizes: ${four ? `${img.listSize} ` : ''}${img.size.join(' ')}`,
    `space directions: ${four ? 'none ' : ''}${dirs.join(' ')}`,
    `kinds: ${four ? 'list ' : ''}domain domain domain`,
    'endian: little',
    'encoding: gzip',
    `space origin: (${img.originMm.map(num).join(',')})`,
  ];
  for (const [k, v] of [...img.keyValues].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (/[\n:]|:=/.test(k)) throw new DelineateError('INPUT', `NRRD key '${k}' may not contain ':' or a newline`, { subject: k });
    lines.push(`${k}:=${escapeValue(v)}`);
  }
  const head = Buffer.from(lines.join('\n') + '\n\n', 'utf8');
  const little = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  // Typed arrays are little endian on every platform Delineate runs on (x64, arm64).
  const body = gzipSync(little, { level: gzipLevel });
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}
