/**
 * Cohort discovery for `delineate batch`: which cases an input names, and the input files (one per model channel)
 * of each case.
 *
 * Three kinds of input:
 * - **An nnU-Net / MSD folder** (e.g. `imagesTs/`): image files (NIfTI, NRRD, MetaImage) directly in the folder.
 *   `<case>_<XXXX>.<ext>` files are channels XXXX (0000, 0001, …) of case `<case>`; a file without a 4-digit
 *   channel suffix is a one-channel case named by its file name without extension.
 * - **A text list** (any file that is not an image): one case per line; blank lines and lines starting with `#`
 *   are ignored. A line holds one path, or several tab-separated paths (the case's channels in order). Relative
 *   paths are relative to the list's folder. Single paths are grouped by the nnU-Net channel suffix as in a folder;
 *   a path may also be a DICOM series folder (one series expected).
 * - **A folder of DICOM studies** (no image files at its top level): every series that `scanPath` finds is a
 *   one-channel case named `<patient>_<study>_<series>` (patient id, study date or UID suffix, series number and
 *   description; unsafe characters replaced by `_`, duplicates disambiguated by the series' scan id).
 *
 * Case ids are unique, contain only `[A-Za-z0-9._-]`, and are what outputs are named after (`<id>.nii.gz`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { DelineateError, throwIfCancelled } from '../../common/errors';
import type { JobOptions } from '../../common/progress';
import type { SkippedFile, VolumeInfo } from '../../common/volume';
import { imageExtension, READABLE_IMAGE_EXTENSIONS, scanPath } from '../io/index';

/** One input of a case: an image file, or a DICOM series found by a scan. */
export type CaseInput = { kind: 'file'; path: string } | { kind: 'dicom'; path: string; volume: VolumeInfo };

/** One case of a cohort. */
export interface BatchCase {
  /** Unique, file-name-safe id (`[A-Za-z0-9._-]+`); the output is `<id>.nii.gz`. */
  id: string;
  /** Inputs in channel order (channel 0000 first). */
  inputs: CaseInput[];
  /** Problems found while grouping (a missing channel number); a case with problems fails when it runs. */
  problems: string[];
}

/** What {@link discoverCases} found. */
export interface Cohort {
  /** Which kind of input it was. */
  kind: 'folder' | 'list' | 'dicom';
  /** Cases sorted by id (code-unit order, so that every machine sorts them the same way). */
  cases: BatchCase[];
  /** Files that are not part of any case, with the reason (non-image files, unreadable DICOM). */
  skipped: SkippedFile[];
}

const CHANNEL_SUFFIX = /^(.+)_(\d{4})$/;

/** Replace characters outside `[A-Za-z0-9._-]` by `_` (and collapse runs); never empty. */
export function safeCaseId(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').replace(/_+$/, '');
  return s || 'case';
}

/** Sort by code units (not locale): the same order on every machine, which sharding relies on. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Group single image paths by nnU-Net channel suffix into cases. */
function groupFiles(paths: readonly string[]): BatchCase[] {
  const byCase = new Map<string, { channel: number; path: string }[]>();
  for (const p of paths) {
    const ext = imageExtension(p)!;
    const stem = basename(p).slice(0, basename(p).length - ext.length);
    const m = CHANNEL_SUFFIX.exec(stem);
    const id = safeCaseId(m ? m[1]! : stem);
    const channel = m ? Number(m[2]) : 0;
    const list = byCase.get(id) ?? [];
    list.push({ channel, path: p });
    byCase.set(id, list);
  }
  const out: BatchCase[] = [];
  for (const [id, list] of byCase) {
    list.sort((a, b) => a.channel - b.channel);
    const problems: string[] = [];
    list.forEach((c, i) => {
      if (c.channel !== i) problems.push(`channel ${String(i).padStart(4, '0')} is missing (found ${list.map((x) => basename(x.path)).join(', ')})`);
    });
    const seen = new Set<number>();
    for (const c of list) {
      if (seen.has(c.channel)) problems.push(`channel ${String(c.channel).padStart(4, '0')} is given twice (${list.filter((x) => x.channel === c.channel).map((x) => x.path).join(', ')})`);
      seen.add(c.channel);
    }
    out.push({ id, inputs: list.map((c) => ({ kind: 'file', path: c.path })), problems: [...new Set(problems)] });
  }
  return out;
}

/** `<patient>_<study>_<series>` for a DICOM series. */
function dicomCaseName(v: VolumeInfo): string {
  const s = v.study;
  const patient = s?.patientId || s?.patientName || 'patient';
  const study = s?.studyDate || (s?.studyInstanceUid ? s.studyInstanceUid.split('.').slice(-1)[0]! : 'study');
  const series = [s?.seriesNumber !== undefined ? String(s.seriesNumber) : '', s?.seriesDescription || v.description || ''].filter(Boolean).join('_') || v.id;
  return safeCaseId(`${patient}_${study}_${series}`);
}

function uniqueIds(cases: BatchCase[], disambiguate: (c: BatchCase) => string): BatchCase[] {
  const count = new Map<string, number>();
  for (const c of cases) count.set(c.id, (count.get(c.id) ?? 0) + 1);
  return cases.map((c) => ((count.get(c.id) ?? 0) > 1 ? { ...c, id: safeCaseId(`${c.id}_${disambiguate(c)}`) } : c));
}

async function dicomCases(folder: string, opts: JobOptions): Promise<{ cases: BatchCase[]; skipped: SkippedFile[] }> {
  const scan = await scanPath(folder, opts);
  const cases = scan.volumes.map(
    (v): BatchCase => ({
      id: dicomCaseName(v),
      inputs: [v.files.length === 1 && imageExtension(v.files[0]!) ? { kind: 'file', path: v.files[0]! } : { kind: 'dicom', path: v.source, volume: v }],
      problems: [],
    }),
  );
  const ids = new Map(scan.volumes.map((v, i) => [cases[i]!, v.id]));
  return { cases: uniqueIds(cases, (c) => ids.get(c) ?? 'x'), skipped: scan.skipped };
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function listCases(listFile: string, opts: JobOptions): Promise<{ cases: BatchCase[]; skipped: SkippedFile[] }> {
  let text: string;
  try {
    text = await readFile(listFile, 'utf8');
  } catch (e) {
    throw new DelineateError('IO', `${listFile}: cannot read the case list (${(e as Error).message})`, { subject: listFile, cause: e });
  }
  if (text.includes('\0')) throw new DelineateError('FORMAT', `${listFile}: neither an image (NIfTI/NRRD/MetaImage) nor a text list of paths`, { subject: listFile });
  const base = dirname(resolve(listFile));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const singles: string[] = [];
  const cases: BatchCase[] = [];
  const skipped: SkippedFile[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    throwIfCancelled(opts.signal);
    const line = lines[n]!.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split('\t').map((s) => s.trim()).filter(Boolean).map(abs);
    if (parts.length > 1) {
      const first = parts[0]!;
      const ext = imageExtension(first);
      const stem = basename(first).slice(0, basename(first).length - (ext?.length ?? 0));
      const m = CHANNEL_SUFFIX.exec(stem);
      cases.push({ id: safeCaseId(m ? m[1]! : stem), inputs: parts.map((path) => ({ kind: 'file', path })), problems: [] });
    } else if (imageExtension(parts[0]!)) singles.push(parts[0]!);
    else if (await isDirectory(parts[0]!)) {
      const found = await dicomCases(parts[0]!, opts);
      skipped.push(...found.skipped);
      if (found.cases.length === 1) cases.push({ ...found.cases[0]!, id: safeCaseId(basename(parts[0]!)) });
      else
        cases.push({
          id: safeCaseId(basename(parts[0]!)),
          inputs: [],
          problems: [`${parts[0]}: expected one DICOM series, found ${found.cases.length}${found.cases.length ? ` (${found.cases.map((c) => c.id).join(', ')})` : ''}`],
        });
    } else
      cases.push({
        id: safeCaseId(basename(parts[0]!)),
        inputs: [{ kind: 'file', path: parts[0]! }],
        problems: [`${listFile}:${n + 1}: ${parts[0]} is neither an image file (${READABLE_IMAGE_EXTENSIONS.join(', ')}) nor a DICOM folder`],
      });
  }
  cases.push(...groupFiles(singles));
  return { cases: uniqueIds(cases, (c) => String(cases.indexOf(c))), skipped };
}

/**
 * Find the cases of a batch input (a folder of images, a folder of DICOM studies, or a text list — see the module
 * comment). Errors: NOT_FOUND (the input does not exist), INPUT (no cases), IO. Per-case problems (missing
 * channel) are returned on the case, not thrown, so that the rest of the cohort can run.
 */
export async function discoverCases(input: string, opts: JobOptions = {}): Promise<Cohort> {
  let st;
  try {
    st = await stat(input);
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${input}: no such file or folder`, { subject: input, cause: e });
  }
  let kind: Cohort['kind'];
  let found: { cases: BatchCase[]; skipped: SkippedFile[] };
  if (st.isDirectory()) {
    const entries = (await readdir(input, { withFileTypes: true })).filter((e) => e.isFile() || e.isSymbolicLink());
    const images = entries.map((e) => join(input, e.name)).filter((p) => imageExtension(p) !== undefined && !basename(p).startsWith('.'));
    if (images.length > 0) {
      kind = 'folder';
      const skipped = entries
        .map((e) => join(input, e.name))
        .filter((p) => !images.includes(p))
        .map((path) => ({ path, reason: basename(path).startsWith('.') ? 'hidden file' : `not an image file (expected ${READABLE_IMAGE_EXTENSIONS.join(', ')})` }));
      found = { cases: groupFiles(images), skipped };
    } else {
      kind = 'dicom';
      found = await dicomCases(input, opts);
    }
  } else if (imageExtension(input)) {
    kind = 'list';
    found = { cases: groupFiles([input]), skipped: [] };
  } else {
    kind = 'list';
    found = await listCases(input, opts);
  }
  if (found.cases.length === 0) {
    const why = found.skipped.length ? `; skipped: ${found.skipped.slice(0, 5).map((s) => `${s.path} (${s.reason})`).join(', ')}${found.skipped.length > 5 ? ', …' : ''}` : '';
    throw new DelineateError('INPUT', `${input}: no cases found${why}`, { subject: input });
  }
  return { kind, cases: [...found.cases].sort((a, b) => compareIds(a.id, b.id)), skipped: found.skipped };
}
