/**
 * From DICOM headers to volumes: group frames into series (Study/Series Instance UID), split a series where
 * orientation, matrix size or pixel spacing changes (a 3-plane scout becomes three volumes) or where several
 * volumes share slice positions (echoes, time points, stacks), sort the slices by their position along the
 * slice normal, and compute the LPS grid: direction columns = row cosine, column cosine, normal; origin = first
 * slice's ImagePositionPatient; spacing k = mean step between positions. Irregular steps become warnings; a
 * step that is a multiple of the regular one is a missing slice (reported, and refused by the reader).
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { Mat3, Vec3, VolumeInfo, VoxelDataType } from '../../../common/volume';
import type { DicomFrame, DicomHeader } from './header';

/** A slice gap that is an integer multiple (≥ 2) of the regular step: the volume cannot be built faithfully. */
export interface MissingSlice {
  before: DicomFrame;
  after: DicomFrame;
  gapMm: number;
  stepMm: number;
}

/** Everything the decoder needs to build one volume. */
export interface VolumePlan {
  info: VolumeInfo;
  /** Frames in k order (for a mosaic: the one frame holding all slices). */
  frames: DicomFrame[];
  headers: Map<string, DicomHeader>;
  rows: number;
  columns: number;
  /** Mosaic layout, when the volume is the slices of one Siemens MOSAIC frame. */
  mosaic?: { tilesPerRow: number; slices: number };
  missing: MissingSlice[];
}

const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: Vec3): Vec3 => {
  const n = Math.hypot(a[0], a[1], a[2]);
  return n > 0 ? [a[0] / n, a[1] / n, a[2] / n] : a;
};
const fmt = (n: number): string => String(Math.round(n * 1000) / 1000);

/** Short stable id from strings. */
export function shortId(...parts: string[]): string {
  return createHash('sha1').update(parts.join('\u0000')).digest('hex').slice(0, 8);
}

/**
 * The voxel type that holds every rescaled value of the frames without loss: the stored type when rescale is
 * identity, the smallest signed/unsigned integer type holding [min, max] × slope + intercept when slope and
 * intercept are integers, float32 otherwise.
 */
export function outputDataType(h: DicomHeader, frames: DicomFrame[]): VoxelDataType {
  if (h.pixelData?.float) return h.bitsAllocated === 64 ? 'float64' : 'float32';
  const signed = h.pixelRepresentation === 1;
  const bits = Math.min(h.bitsStored, h.bitsAllocated);
  const smin = signed ? -(2 ** (bits - 1)) : 0;
  const smax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const identity = frames.every((f) => f.rescaleSlope === 1 && f.rescaleIntercept === 0);
  if (identity) {
    if (h.bitsAllocated === 8) return signed ? 'int8' : 'uint8';
    if (h.bitsAllocated === 16) return signed ? 'int16' : 'uint16';
    return signed ? 'int32' : 'uint32';
  }
  const integral = frames.every((f) => Number.isInteger(f.rescaleSlope) && Number.isInteger(f.rescaleIntercept));
  if (!integral) return 'float32';
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of frames) {
    const a = smin * f.rescaleSlope + f.rescaleIntercept;
    const b = smax * f.rescaleSlope + f.rescaleIntercept;
    lo = Math.min(lo, a, b);
    hi = Math.max(hi, a, b);
  }
  if (lo >= -128 && hi <= 127 && h.bitsAllocated === 8) return 'int8';
  if (lo >= 0 && hi <= 255 && h.bitsAllocated === 8) return 'uint8';
  if (lo >= -32768 && hi <= 32767) return 'int16';
  // 16-bit data shifted by a modest intercept (CT: stored 0…65535 or −32768…32767, intercept −1024): the values a
  // scanner writes fit int16; the decoder saturates (and warns) in the rare case one does not.
  if (h.bitsAllocated === 16 && frames.every((f) => f.rescaleSlope === 1 && Math.abs(f.rescaleIntercept) <= 4096)) return 'int16';
  if (lo >= 0 && hi <= 65535) return 'uint16';
  if (lo >= -(2 ** 31) && hi <= 2 ** 31 - 1) return 'int32';
  return 'float32';
}

function orientationLabel(o: DicomFrame['orientation']): string {
  if (!o) return 'no orientation';
  const n = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
  const a = n.map(Math.abs);
  const i = a.indexOf(Math.max(...a));
  return ['sagittal', 'coronal', 'axial'][i]!;
}

function studyOf(h: DicomHeader): VolumeInfo['study'] {
  return { ...h.study };
}

function commonFolder(paths: string[]): string {
  if (paths.length === 0) return '';
  let prefix = dirname(paths[0]!);
  for (const p of paths) {
    while (!(dirname(p) + '/').startsWith(prefix + '/') && prefix !== dirname(prefix)) prefix = dirname(prefix);
  }
  return prefix;
}

const round = (x: number, q: number) => Math.round(x / q) * q;

/** Key that separates frames with different in-plane geometry. */
function geometryKey(h: DicomHeader, f: DicomFrame): string {
  const o = f.orientation ? f.orientation.map((x) => round(x, 1e-3).toFixed(3)).join(',') : 'none';
  const s = f.pixelSpacingMm ? f.pixelSpacingMm.map((x) => round(x, 1e-4).toFixed(4)).join(',') : 'none';
  return `${h.rows}x${h.columns}|${h.bitsAllocated}${h.pixelRepresentation}|${o}|${s}|${f.stackId ?? ''}`;
}

interface Group {
  key: string;
  frames: DicomFrame[];
}

/** Keys tried, in order, to separate volumes that share slice positions. */
const SEPARATORS: { name: string; get: (f: DicomFrame, h: DicomHeader) => string | number | undefined }[] = [
  { name: 'echo', get: (f) => f.echoNumber },
  { name: 'time point', get: (f) => f.temporalPosition },
  { name: 'acquisition', get: (f) => f.acquisitionNumber },
  { name: 'image type', get: (_f, h) => h.imageType.join('\\') },
];

/**
 * Plan volumes from the headers of one scan. Frames without position/orientation (projection images) become one
 * volume per file with an identity direction.
 */
export function planVolumes(headers: DicomHeader[]): VolumePlan[] {
  // 0. The same instance found twice (copies in two folders): keep the first, note the others on its volume.
  const byInstance = new Map<string, DicomHeader>();
  const duplicatesOf = new Map<string, string[]>();
  const distinct: DicomHeader[] = [];
  for (const h of [...headers].sort((a, b) => a.path.localeCompare(b.path))) {
    const first = h.sopInstanceUid ? byInstance.get(h.sopInstanceUid) : undefined;
    if (first) {
      const l = duplicatesOf.get(first.path) ?? [];
      l.push(h.path);
      duplicatesOf.set(first.path, l);
      continue;
    }
    if (h.sopInstanceUid) byInstance.set(h.sopInstanceUid, h);
    distinct.push(h);
  }
  const byPath = new Map(distinct.map((h) => [h.path, h]));
  const plans: VolumePlan[] = [];
  // 1. Series.
  const series = new Map<string, DicomHeader[]>();
  for (const h of distinct) {
    // Anonymisers sometimes blank the UIDs: then files of one folder with the same series number, modality and
    // description form a series (the geometry split below still separates stacks).
    const key = h.seriesInstanceUid
      ? `${h.studyInstanceUid}|${h.seriesInstanceUid}`
      : `no-uid|${dirname(h.path)}|${h.seriesNumber ?? ''}|${h.modality}|${h.seriesDescription}`;
    let list = series.get(key);
    if (!list) series.set(key, (list = []));
    list.push(h);
  }
  for (const [seriesKey, list] of series) {
    // Mosaics: each file is a volume of its own.
    const mosaics = list.filter((h) => h.mosaic);
    for (const h of mosaics) plans.push(planMosaic(h, seriesKey));
    const rest = list.filter((h) => !h.mosaic);
    // 2. Split by in-plane geometry.
    const groups = new Map<string, DicomFrame[]>();
    const noGeometry: DicomFrame[] = [];
    for (const h of rest) {
      for (const f of h.frames) {
        if (!f.positionMm || !f.orientation) {
          noGeometry.push(f);
          continue;
        }
        const k = geometryKey(h, f);
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(f);
      }
    }
    const split = groups.size > 1;
    let index = 0;
    for (const [k, frames] of [...groups].sort((a, b) => a[1][0]!.path.localeCompare(b[1][0]!.path))) {
      for (const part of separateDuplicates({ key: k, frames }, byPath)) {
        plans.push(planStack(part, byPath, seriesKey, split ? { index: index++, of: groups.size } : undefined));
      }
    }
    // Projection images: one volume per file.
    const perFile = new Map<string, DicomFrame[]>();
    for (const f of noGeometry) {
      let l = perFile.get(f.path);
      if (!l) perFile.set(f.path, (l = []));
      l.push(f);
    }
    for (const [path, frames] of perFile) plans.push(planNoGeometry(byPath.get(path)!, frames, seriesKey));
  }
  for (const p of plans) {
    const dups = p.info.files.flatMap((f) => duplicatesOf.get(f) ?? []);
    if (dups.length)
      p.info.warnings.push(`${dups.length} duplicate file(s) with the same SOP Instance UID ignored: ${dups.slice(0, 3).join(', ')}${dups.length > 3 ? ', …' : ''}`);
  }
  // Unique ids within the scan.
  const seen = new Map<string, number>();
  for (const p of plans) {
    const n = seen.get(p.info.id) ?? 0;
    seen.set(p.info.id, n + 1);
    if (n > 0) p.info.id = `${p.info.id}-${n + 1}`;
  }
  return plans.sort(
    (a, b) =>
      (a.info.study?.studyInstanceUid ?? '').localeCompare(b.info.study?.studyInstanceUid ?? '') ||
      (a.info.study?.seriesNumber ?? 0) - (b.info.study?.seriesNumber ?? 0) ||
      a.info.source.localeCompare(b.info.source) ||
      a.info.description.localeCompare(b.info.description),
  );
}

/** Split a geometry group whose frames share positions by the first separator that makes positions unique. */
function separateDuplicates(g: Group, byPath: Map<string, DicomHeader>): Group[] {
  const dist = distances(g.frames);
  if (!hasDuplicates(dist)) return [g];
  for (const sep of SEPARATORS) {
    const parts = new Map<string, DicomFrame[]>();
    for (const f of g.frames) {
      const v = String(sep.get(f, byPath.get(f.path)!) ?? '');
      let l = parts.get(v);
      if (!l) parts.set(v, (l = []));
      l.push(f);
    }
    if (parts.size < 2) continue;
    const ok = [...parts.values()].every((fs) => !hasDuplicates(distances(fs)));
    if (ok) return [...parts].sort((a, b) => a[0].localeCompare(b[0], undefined, { numeric: true })).map(([v, fs]) => ({ key: `${g.key}|${sep.name}=${v}`, frames: fs }));
  }
  return [g];
}

function normalOf(f: DicomFrame): Vec3 {
  const o = f.orientation!;
  return norm(cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]));
}

function distances(frames: DicomFrame[]): number[] {
  if (frames.length === 0) return [];
  const n = normalOf(frames[0]!);
  return frames.map((f) => dot(f.positionMm!, n));
}

function hasDuplicates(d: number[]): boolean {
  const s = [...d].sort((a, b) => a - b);
  for (let i = 1; i < s.length; i++) if (Math.abs(s[i]! - s[i - 1]!) < 1e-3) return true;
  return false;
}

function planStack(g: Group, byPath: Map<string, DicomHeader>, seriesKey: string, split?: { index: number; of: number }): VolumePlan {
  const first = g.frames[0]!;
  const h0 = byPath.get(first.path)!;
  const warnings: string[] = [];
  const o = first.orientation!;
  const row = norm([o[0], o[1], o[2]]);
  const col = norm([o[3], o[4], o[5]]);
  const normal = norm(cross(row, col));
  // Sort by position along the normal; drop exact duplicates (same position, e.g. the same file copied twice).
  let frames = g.frames.map((f) => ({ f, d: dot(f.positionMm!, normal) })).sort((a, b) => a.d - b.d || a.f.path.localeCompare(b.f.path) || a.f.frame - b.f.frame);
  const unique: typeof frames = [];
  let dropped = 0;
  for (const x of frames) {
    if (unique.length && Math.abs(x.d - unique[unique.length - 1]!.d) < 1e-3) {
      dropped++;
      continue;
    }
    unique.push(x);
  }
  if (dropped) warnings.push(`${dropped} slice(s) share a position with another slice and were left out`);
  frames = unique;
  const n = frames.length;
  const ps = first.pixelSpacingMm;
  if (!ps) warnings.push('no PixelSpacing: 1 mm assumed in-plane');
  let spacingK: number;
  const missing: MissingSlice[] = [];
  if (n > 1) {
    const steps = frames.slice(1).map((x, i) => x.d - frames[i]!.d);
    spacingK = (frames[n - 1]!.d - frames[0]!.d) / (n - 1);
    const sorted = [...steps].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const tol = Math.max(0.01 * median, 0.01);
    const irregular = steps.some((s) => Math.abs(s - median) > tol);
    if (irregular) {
      for (let i = 0; i < steps.length; i++) {
        const m = steps[i]! / median;
        if (m > 1.5 && Math.abs(m - Math.round(m)) < 0.15) missing.push({ before: frames[i]!.f, after: frames[i + 1]!.f, gapMm: steps[i]!, stepMm: median });
      }
      if (missing.length) {
        const total = missing.reduce((s, m) => s + Math.round(m.gapMm / m.stepMm) - 1, 0);
        warnings.push(
          `${total} missing slice(s): ` +
            missing.map((m) => `gap of ${fmt(m.gapMm)} mm between ${m.before.path} and ${m.after.path} where slices are ${fmt(m.stepMm)} mm apart`).join('; '),
        );
      } else {
        warnings.push(`uneven slice spacing: steps from ${fmt(sorted[0]!)} to ${fmt(sorted[sorted.length - 1]!)} mm (mean ${fmt(spacingK)} mm used)`);
      }
    }
    // Sheared stacks (gantry tilt): positions drift in-plane.
    const p0 = frames[0]!.f.positionMm!;
    let maxShift = 0;
    for (const x of frames) {
      const v = sub(x.f.positionMm!, p0);
      const along = dot(v, normal);
      const inPlane: Vec3 = [v[0] - along * normal[0], v[1] - along * normal[1], v[2] - along * normal[2]];
      maxShift = Math.max(maxShift, Math.hypot(...inPlane));
    }
    const pix = ps ? Math.min(ps[0], ps[1]) : 1;
    if (maxShift > 0.5 * pix)
      warnings.push(`slice positions drift ${fmt(maxShift)} mm in-plane (gantry tilt or sheared stack); the grid assumes no shear`);
  } else {
    spacingK = h0.spacingBetweenSlicesMm ?? first.sliceThicknessMm ?? 1;
    if (!(spacingK > 0)) spacingK = 1;
  }
  const direction: Mat3 = [row[0], col[0], normal[0], row[1], col[1], normal[1], row[2], col[2], normal[2]];
  const sortedFrames = frames.map((x) => x.f);
  const files = [...new Set(sortedFrames.map((f) => f.path))];
  const frameHeaders = files.map((p) => byPath.get(p)!);
  const rescaleDiffers = new Set(sortedFrames.map((f) => `${f.rescaleSlope}/${f.rescaleIntercept}`)).size > 1;
  if (rescaleDiffers) warnings.push('rescale slope/intercept differ between slices (applied per slice)');
  if (h0.photometric === 'MONOCHROME1') warnings.push('MONOCHROME1: low values are displayed bright on the scanner');
  let description = h0.seriesDescription || (h0.seriesNumber !== undefined ? `Series ${h0.seriesNumber}` : '');
  if (split) description = `${description}${description ? ' ' : ''}[${orientationLabel(first.orientation)} ${split.index + 1}/${split.of}]`;
  const sepPart = g.key.split('|').slice(5).join('|');
  if (sepPart) description = `${description}${description ? ' ' : ''}[${sepPart}]`;
  const info: VolumeInfo = {
    id: shortId(seriesKey, g.key),
    source: commonFolder(files),
    modality: h0.modality,
    description,
    size: [h0.columns, h0.rows, n],
    spacingMm: [ps ? ps[1] : 1, ps ? ps[0] : 1, spacingK],
    originMm: [...frames[0]!.f.positionMm!] as Vec3,
    direction,
    dataType: outputDataType(h0, sortedFrames),
    files,
    warnings,
    study: studyOf(h0),
  };
  if (frameHeaders.some((h) => h.transferSyntax !== h0.transferSyntax)) {
    // Mixed transfer syntaxes decode fine (per file); nothing to report.
  }
  return { info, frames: sortedFrames, headers: new Map(frameHeaders.map((h) => [h.path, h])), rows: h0.rows, columns: h0.columns, missing };
}

function planMosaic(h: DicomHeader, seriesKey: string): VolumePlan {
  const f = h.frames[0]!;
  const m = h.mosaic!;
  const tiles = Math.ceil(Math.sqrt(m.images));
  const rows = Math.floor(h.rows / tiles);
  const columns = Math.floor(h.columns / tiles);
  const warnings: string[] = [];
  const o = f.orientation ?? [1, 0, 0, 0, 1, 0];
  const row = norm([o[0], o[1], o[2]]);
  const col = norm([o[3], o[4], o[5]]);
  const normal = m.sliceNormal ? norm(m.sliceNormal) : norm(cross(row, col));
  if (!f.orientation || !f.positionMm) warnings.push('mosaic without position/orientation: identity geometry assumed');
  const ps = f.pixelSpacingMm ?? [1, 1];
  // ImagePositionPatient of a mosaic is the corner of the whole mosaic; move it to the first tile's corner.
  const ipp = f.positionMm ?? [0, 0, 0];
  const dc = (ps[1] * (h.columns - columns)) / 2;
  const dr = (ps[0] * (h.rows - rows)) / 2;
  const origin: Vec3 = [ipp[0] + row[0] * dc + col[0] * dr, ipp[1] + row[1] * dc + col[1] * dr, ipp[2] + row[2] * dc + col[2] * dr];
  const spacingK = h.spacingBetweenSlicesMm ?? f.sliceThicknessMm ?? 1;
  const info: VolumeInfo = {
    id: shortId(seriesKey, 'mosaic', h.sopInstanceUid || h.path),
    source: h.path,
    modality: h.modality,
    description: `${h.seriesDescription || `Series ${h.seriesNumber ?? ''}`}${h.frames[0]!.instanceNumber !== undefined ? ` #${h.frames[0]!.instanceNumber}` : ''}`,
    size: [columns, rows, m.images],
    spacingMm: [ps[1], ps[0], spacingK],
    originMm: origin,
    direction: [row[0], col[0], normal[0], row[1], col[1], normal[1], row[2], col[2], normal[2]],
    dataType: outputDataType(h, h.frames),
    files: [h.path],
    warnings,
    study: studyOf(h),
  };
  return { info, frames: [f], headers: new Map([[h.path, h]]), rows, columns, mosaic: { tilesPerRow: tiles, slices: m.images }, missing: [] };
}

function planNoGeometry(h: DicomHeader, frames: DicomFrame[], seriesKey: string): VolumePlan {
  const ps = frames[0]!.pixelSpacingMm;
  const info: VolumeInfo = {
    id: shortId(seriesKey, 'file', h.sopInstanceUid || h.path),
    source: h.path,
    modality: h.modality,
    description: h.seriesDescription || `Series ${h.seriesNumber ?? ''}`.trim(),
    size: [h.columns, h.rows, frames.length],
    spacingMm: [ps ? ps[1] : 1, ps ? ps[0] : 1, h.spacingBetweenSlicesMm ?? frames[0]!.sliceThicknessMm ?? 1],
    originMm: [0, 0, 0],
    direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    dataType: outputDataType(h, frames),
    files: [h.path],
    warnings: ['no patient position/orientation (projection or secondary capture image): identity geometry'],
    study: studyOf(h),
  };
  return { info, frames, headers: new Map([[h.path, h]]), rows: h.rows, columns: h.columns, missing: [] };
}
