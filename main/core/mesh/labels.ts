/**
 * Turning a read volume into a {@link Labelmap}, segment tables, and per-label voxel statistics.
 */
import { DelineateError } from '../../common/errors';
import type { Labelmap, Segment, Volume } from '../../common/volume';

/** Slicer-like default colours for segments without a table entry (sRGB 0–255), cycled by label value. */
const PALETTE: [number, number, number][] = [
  [128, 174, 128], [241, 214, 145], [177, 122, 101], [111, 184, 210], [216, 101, 79], [221, 130, 101],
  [144, 238, 144], [192, 104, 88], [220, 245, 20], [78, 63, 0], [255, 250, 220], [230, 220, 70],
];

/** The default segment for a label value without a table entry: "Segment N" and a palette colour. */
export function defaultSegment(value: number): Segment {
  return { value, name: `Segment ${value}`, color: [...PALETTE[(value - 1) % PALETTE.length]!] as [number, number, number] };
}

/**
 * Make a labelmap from a volume of integer labels (any integer type, or floats holding whole numbers).
 * Values must be whole numbers in 0…65535; uint8 is kept when every value fits, uint16 otherwise.
 *
 * Errors: INPUT (fractional, negative, too large or non-finite values), naming `source`.
 */
export function labelmapFromVolume(volume: Volume, source: string, segments: Segment[] = []): Labelmap {
  const { data } = volume;
  const n = data.length;
  let max = 0;
  if (volume.dataType === 'uint8') max = 255;
  else {
    for (let i = 0; i < n; i++) {
      const v = data[i]!;
      if (!(v >= 0 && v <= 65535 && Math.floor(v) === v)) {
        const what = !Number.isFinite(v) ? 'a non-finite value' : v < 0 ? `a negative value (${v})` : v > 65535 ? `a value above 65535 (${v})` : `a non-integer value (${v})`;
        const i0 = i % volume.size[0];
        const j0 = Math.floor(i / volume.size[0]) % volume.size[1];
        const k0 = Math.floor(i / (volume.size[0] * volume.size[1]));
        throw new DelineateError('INPUT', `${source}: not a labelmap — voxel (${i0}, ${j0}, ${k0}) holds ${what}; labels must be whole numbers 0…65535`, { subject: source });
      }
      if (v > max) max = v;
    }
  }
  let labels: Uint8Array | Uint16Array;
  if (data instanceof Uint8Array) labels = data;
  else if (data instanceof Uint16Array) labels = data;
  else if (max <= 255) labels = Uint8Array.from(data as ArrayLike<number>);
  else labels = Uint16Array.from(data as ArrayLike<number>);
  const geometry = { size: volume.size, spacingMm: volume.spacingMm, originMm: volume.originMm, direction: volume.direction };
  return labels instanceof Uint8Array
    ? { ...geometry, dataType: 'uint8', data: labels, segments }
    : { ...geometry, dataType: 'uint16', data: labels, segments };
}

/**
 * Parse a segment table: JSON (an array of `{value, name, color?}` or `{segments: [...]}`) or a colour table text
 * file (3D Slicer / ITK-SNAP style lines `value name r g b [a]`, `#` comments). Errors: FORMAT naming the file and line.
 */
export function parseSegmentTable(text: string, source: string): Segment[] {
  const trimmed = text.trim();
  const out: Segment[] = [];
  const bad = (msg: string): DelineateError => new DelineateError('FORMAT', `${source}: ${msg}`, { subject: source });
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new DelineateError('FORMAT', `${source}: not valid JSON (${(e as Error).message})`, { subject: source, cause: e });
    }
    if (!Array.isArray(json) && typeof json === 'object' && json !== null && !('segments' in json)) {
      // {"1": "spleen", "2": "liver"}
      for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
        if (!/^\d+$/.test(k) || Number(k) < 1 || Number(k) > 65535) throw bad(`key '${k}' is not a label value 1…65535`);
        if (typeof v !== 'string' || !v) throw bad(`name of label ${k} must be a non-empty string`);
        out.push({ ...defaultSegment(Number(k)), name: v });
      }
      return out;
    }
    const list = Array.isArray(json) ? json : (json as { segments?: unknown }).segments;
    if (!Array.isArray(list)) throw bad('expected an array of {value, name, color} or {"segments": [...]}');
    list.forEach((item: unknown, i: number) => {
      const o = item as { value?: unknown; name?: unknown; color?: unknown };
      if (typeof o !== 'object' || o === null || typeof o.value !== 'number' || !Number.isInteger(o.value) || o.value < 1 || o.value > 65535)
        throw bad(`segments[${i}].value must be an integer 1…65535`);
      if (typeof o.name !== 'string' || o.name.length === 0) throw bad(`segments[${i}].name must be a non-empty string`);
      let color = defaultSegment(o.value).color;
      if (o.color !== undefined) {
        if (!Array.isArray(o.color) || o.color.length < 3 || !o.color.slice(0, 3).every((c) => typeof c === 'number' && c >= 0 && c <= 255))
          throw bad(`segments[${i}].color must be [r, g, b] with 0…255`);
        color = [o.color[0], o.color[1], o.color[2]] as [number, number, number];
      }
      out.push({ value: o.value, name: o.name, color });
    });
    return out;
  }
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('#')) return;
    const m = /^(\d+)\s+(?:"([^"]*)"|(\S+))\s+(\d+)\s+(\d+)\s+(\d+)/.exec(l);
    if (!m) throw bad(`line ${i + 1}: expected 'value name r g b'`);
    const value = Number(m[1]);
    if (value === 0) return; // background entry of colour tables
    const color = [Number(m[4]), Number(m[5]), Number(m[6])] as [number, number, number];
    if (value > 65535 || color.some((c) => c > 255)) throw bad(`line ${i + 1}: value must be ≤ 65535 and colours ≤ 255`);
    out.push({ value, name: m[2] ?? m[3]!, color });
  });
  return out;
}

/** Per-label voxel counts, index bounding boxes and index sums (for centroids), from one pass over the labelmap. */
export interface LabelStats {
  count: Float64Array;
  /** Index bounding box per label: min i, j, k and max i, j, k (−1 when absent). */
  min: Int32Array;
  max: Int32Array;
  /** Sums of i, j, k over the label's voxels. */
  sum: Float64Array;
}

export function labelStats(lm: Labelmap): LabelStats {
  const [nx, ny, nz] = lm.size;
  const L = lm.dataType === 'uint8' ? 256 : 65536;
  const count = new Float64Array(L);
  const min = new Int32Array(3 * L).fill(0x7fffffff);
  const max = new Int32Array(3 * L).fill(-1);
  const sum = new Float64Array(3 * L);
  const d = lm.data;
  // Per row: count and i-sum per label, and the list of labels the row holds (flushed once per row).
  const rowCount = new Float64Array(L);
  const rowSumI = new Float64Array(L);
  const seen = new Int32Array(L);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++) {
      const base = nx * (j + ny * k);
      let nSeen = 0;
      for (let i = 0; i < nx; i++) {
        const v = d[base + i]!;
        if (v === 0) continue;
        if (rowCount[v] === 0) {
          seen[nSeen++] = v;
          if (i < min[3 * v]!) min[3 * v] = i;
        }
        rowCount[v]!++;
        rowSumI[v]! += i;
        if (i > max[3 * v]!) max[3 * v] = i;
      }
      for (let s = 0; s < nSeen; s++) {
        const v = seen[s]!;
        const c = rowCount[v]!;
        count[v]! += c;
        sum[3 * v]! += rowSumI[v]!;
        sum[3 * v + 1]! += c * j;
        sum[3 * v + 2]! += c * k;
        if (j < min[3 * v + 1]!) min[3 * v + 1] = j;
        if (j > max[3 * v + 1]!) max[3 * v + 1] = j;
        if (k < min[3 * v + 2]!) min[3 * v + 2] = k;
        if (k > max[3 * v + 2]!) max[3 * v + 2] = k;
        rowCount[v] = 0;
        rowSumI[v] = 0;
      }
    }
  for (let v = 0; v < L; v++) if (count[v] === 0) min[3 * v] = min[3 * v + 1] = min[3 * v + 2] = -1;
  return { count, min, max, sum };
}
