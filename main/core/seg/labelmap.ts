/**
 * Labelmaps as NIfTI (.nii, .nii.gz) or NRRD (.nrrd) image files with a segment table beside them.
 *
 * Writing: the labelmap goes through main/core/io's {@link writeVolume} (uint8, or uint16 above 255 labels);
 * the segment table goes to a sidecar `<stem>.segments.json`:
 * `{"format": "delineate-segments", "version": 1, "segments": [{value, name, color: [r,g,b] 0–255, code?,
 * category?, anatomicRegion?}]}`.
 *
 * Reading looks for the segment table, in order: the sidecar `<stem>.segments.json`, a colour table
 * `<stem>.ctbl` or `<stem>.txt` (3D Slicer / ITK-SNAP lines `value name r g b [a]`), and — for NRRD — Slicer's
 * `SegmentN_*` fields in the header (a `.seg.nrrd` saved under another name is read as one). Labels without a table
 * entry get "Segment N" and a default colour, with a warning.
 */
import { open, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DelineateError } from '../../common/errors';
import type { CodedConcept, LayeredSegment, Segmentation } from '../../common/segmentation';
import type { Grid, Labelmap, Volume } from '../../common/volume';
import { readImageFile, writeVolume } from '../io/index';
import { gridDifference } from '../metrics/grid';
import { labelmapFromVolume, parseSegmentTable } from '../mesh/labels';
import { writeFileAtomic } from '../fs/atomic';
import { defaultColor } from './color';
import { segmentationToLabelmap } from './layers';
import { nrrdKeyValues } from './nrrd';
import { type ReadSegmentation, decodeSlicerSeg, hasSlicerSegmentFields } from './slicer';

const LABELMAP_EXT = /\.(nii\.gz|nii|nrrd)$/i;

/** `<stem>` of a labelmap path (without .nii.gz/.nii/.nrrd, and without a `.seg` before .nrrd). */
function stemOf(path: string): string {
  return basename(path).replace(LABELMAP_EXT, '');
}

/** Path of the segment-table sidecar of a labelmap file: `<folder>/<stem>.segments.json`. */
export function sidecarPath(path: string): string {
  return join(dirname(path), `${stemOf(path)}.segments.json`);
}

/** Sidecar JSON of a segment table (see the module comment). */
export function segmentTableJson(segments: readonly (LayeredSegment | Labelmap['segments'][number])[]): string {
  return (
    JSON.stringify(
      {
        format: 'delineate-segments',
        version: 1,
        segments: segments.map((s) => {
          const o: Record<string, unknown> = { value: s.value, name: s.name, color: s.color };
          if (s.code) o.code = s.code;
          const l = s as Partial<LayeredSegment>;
          if (l.category) o.category = l.category;
          if (l.anatomicRegion) o.anatomicRegion = l.anatomicRegion;
          if (l.id) o.id = l.id;
          return o;
        }),
      },
      null,
      2,
    ) + '\n'
  );
}

function isCode(x: unknown): x is CodedConcept {
  const o = x as CodedConcept;
  return typeof o === 'object' && o !== null && typeof o.scheme === 'string' && typeof o.value === 'string' && typeof o.meaning === 'string';
}

/** Parse a sidecar (or any JSON segment table main/core/mesh accepts), keeping codes. Errors: FORMAT. */
export function parseSegmentSidecar(text: string, source: string): Omit<LayeredSegment, 'layer'>[] {
  const base = parseSegmentTable(text, source);
  let extra: Record<number, Partial<LayeredSegment>> = {};
  try {
    const json = JSON.parse(text) as { segments?: unknown };
    const list = Array.isArray(json) ? json : Array.isArray(json?.segments) ? json.segments : [];
    extra = Object.fromEntries(
      (list as Record<string, unknown>[]).map((o) => {
        const e: Partial<LayeredSegment> = {};
        if (isCode(o.code)) e.code = o.code;
        if (isCode(o.category)) e.category = o.category;
        if (isCode(o.anatomicRegion)) e.anatomicRegion = o.anatomicRegion;
        if (typeof o.id === 'string') e.id = o.id;
        return [o.value as number, e];
      }),
    );
  } catch {
    // not JSON (a colour table): no codes
  }
  return base.map((s) => ({ ...s, ...(extra[s.value] ?? {}) }));
}

/**
 * Write a labelmap (or a segmentation whose segments do not overlap) as NIfTI/NRRD plus its sidecar
 * `<stem>.segments.json`, both atomically. Errors: USAGE (extension), INPUT (overlapping segments — a labelmap
 * cannot hold them; or an inconsistent labelmap), IO.
 */
export async function writeLabelmap(labels: Labelmap | Segmentation, path: string): Promise<{ imagePath: string; sidecarPath: string }> {
  if (!LABELMAP_EXT.test(path)) throw new DelineateError('USAGE', `${path}: a labelmap file must end in .nii.gz, .nii or .nrrd`, { subject: path });
  const lm = 'layers' in labels ? segmentationToLabelmap(labels, path) : labels;
  const volume: Volume = { size: lm.size, spacingMm: lm.spacingMm, originMm: lm.originMm, direction: lm.direction, dataType: lm.dataType, data: lm.data };
  const side = sidecarPath(path);
  await writeVolume(volume, path);
  await writeFileAtomic(side, segmentTableJson(lm.segments));
  return { imagePath: path, sidecarPath: side };
}

/** The first `bytes` bytes of a file (fewer when it is shorter). */
export async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Options of {@link readLabelmap}. */
export interface ReadLabelmapOptions {
  /** The image the labelmap belongs to: the labelmap must be on exactly its grid (GEOMETRY error otherwise). */
  reference?: { grid: Grid; name: string };
  /** An explicit segment table file (JSON or colour table) instead of looking beside the labelmap. */
  segmentTablePath?: string;
}

/**
 * Read a NIfTI/NRRD labelmap and its segment table (see the module comment) as a one-layer segmentation. Integer
 * (or whole-number float) labels 0…65535; uint8 when they fit, uint16 otherwise. `slicerFields` is true when the
 * file was a NRRD carrying Slicer segmentation fields (then read as a `.seg.nrrd`, layers and all).
 *
 * Errors: NOT_FOUND, FORMAT (broken file or table), INPUT (not integer labels), GEOMETRY (another grid than
 * `reference`: the message names both and what differs).
 */
export async function readLabelmap(path: string, options: ReadLabelmapOptions = {}): Promise<ReadSegmentation & { slicerFields: boolean }> {
  if (!LABELMAP_EXT.test(path)) throw new DelineateError('USAGE', `${path}: a labelmap file must end in .nii.gz, .nii or .nrrd`, { subject: path });
  if (/\.nrrd$/i.test(path)) {
    // A NRRD with Slicer segment fields is a segmentation file: read it with its metadata (and layers).
    let head: Uint8Array;
    try {
      head = await readHead(path, 256 * 1024);
    } catch (e) {
      throw new DelineateError('NOT_FOUND', `${path}: cannot read (${(e as Error).message})`, { subject: path, cause: e });
    }
    const kvs = nrrdKeyValues(head);
    if (kvs && hasSlicerSegmentFields(kvs) && options.segmentTablePath === undefined) {
      const r = decodeSlicerSeg(await readFile(path), path);
      checkReference(r.segmentation, path, options.reference);
      return { ...r, slicerFields: true };
    }
  }
  const volume = await readImageFile(path);
  const warnings: string[] = [];
  let table: Omit<LayeredSegment, 'layer'>[] | undefined;
  const candidates = options.segmentTablePath
    ? [options.segmentTablePath]
    : [sidecarPath(path), join(dirname(path), `${stemOf(path)}.ctbl`), join(dirname(path), `${stemOf(path)}.txt`)];
  for (const c of candidates) {
    const text = await readText(c);
    if (text === undefined) {
      if (options.segmentTablePath) throw new DelineateError('NOT_FOUND', `${c}: segment table not found`, { subject: c });
      continue;
    }
    table = parseSegmentSidecar(text, c);
    break;
  }
  const lm = labelmapFromVolume(volume, path);
  checkReference(lm, path, options.reference);
  const present = new Set<number>();
  for (let i = 0; i < lm.data.length; i++) if (lm.data[i] !== 0) present.add(lm.data[i]!);
  const segments: LayeredSegment[] = [];
  const byValue = new Map((table ?? []).map((s) => [s.value, s]));
  if (!table) warnings.push(`${basename(path)}: no segment table (${basename(sidecarPath(path))}, .ctbl or .txt); segments named "Segment N" with default colours`);
  for (const s of table ?? []) segments.push({ ...s, layer: 0 });
  const missing = [...present].filter((v) => !byValue.has(v)).sort((a, b) => a - b);
  if (table && missing.length) warnings.push(`${basename(path)}: label value(s) ${missing.join(', ')} are not in the segment table; named "Segment N"`);
  for (const v of missing) segments.push({ value: v, name: `Segment ${v}`, color: defaultColor(v), layer: 0 });
  segments.sort((a, b) => a.value - b.value);
  const maxValue = segments.reduce((m, s) => Math.max(m, s.value), 0);
  let data = lm.data;
  if (maxValue > 255 && data instanceof Uint8Array) data = Uint16Array.from(data);
  return {
    segmentation: { size: lm.size, spacingMm: lm.spacingMm, originMm: lm.originMm, direction: lm.direction, dataType: data instanceof Uint8Array ? 'uint8' : 'uint16', layers: [data], segments },
    warnings,
    slicerFields: false,
  };
}

function checkReference(g: Grid, path: string, reference: ReadLabelmapOptions['reference']): void {
  if (!reference) return;
  const diff = gridDifference(g, reference.grid);
  if (diff)
    throw new DelineateError('GEOMETRY', `${path} is on another grid than ${reference.name} (${diff}); it cannot be shown on that image without resampling`, {
      subject: path,
    });
}
