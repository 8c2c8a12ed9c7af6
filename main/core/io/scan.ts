/**
 * Folder (or file) scanning and volume reading — what `delineate info`/`convert` and the workstation's open
 * dialog use. A scan walks the path recursively, reads DICOM headers only (no voxels), groups them into volumes
 * (./dicom/series) and lists NIfTI/NRRD/MetaImage files as volumes of their own; every other file is listed as
 * skipped with a reason. {@link readVolume} then decodes one of the listed volumes.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DelineateError, throwIfCancelled, toDelineateError } from '../../common/errors';
import type { JobOptions } from '../../common/progress';
import type { ScanResult, SkippedFile, Volume, VolumeInfo } from '../../common/volume';
import { type DicomHeader, type HeaderResult, readDicomHeader } from './dicom/header';
import { decodePlan } from './dicom/pixels';
import { type VolumePlan, planVolumes, shortId } from './dicom/series';
import { imageExtension, readImageFile, readImageFileHeader } from './itk';

/** Plans of recent scans, by volume id, so that readVolume need not re-read headers. */
const planCache = new Map<string, VolumePlan>();
const PLAN_CACHE_LIMIT = 2000;

function remember(plan: VolumePlan): void {
  planCache.delete(plan.info.id);
  planCache.set(plan.info.id, plan);
  while (planCache.size > PLAN_CACHE_LIMIT) planCache.delete(planCache.keys().next().value!);
}

/** Forget the plans of earlier scans (memory; tests of the re-planning path). */
export function clearScanCache(): void {
  planCache.clear();
}

/** Files that travel with a header file and are not volumes themselves. */
const SIDE_FILE = /\.(raw|zraw|raw\.gz|img|img\.gz)$/i;

/**
 * All files under `root` (sorted, recursive, following symbolic links once). Hidden entries (names starting with
 * '.', e.g. .DS_Store, ._AppleDouble files, .git) are not read: they are reported in `hidden` so that the scan can
 * list them as skipped.
 */
async function listFiles(root: string, opts: JobOptions): Promise<{ files: string[]; hidden: SkippedFile[] }> {
  const files: string[] = [];
  const hidden: SkippedFile[] = [];
  const visited = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    throwIfCancelled(opts.signal);
    let real: string;
    try {
      real = await realpath(dir);
    } catch {
      real = dir;
    }
    if (visited.has(real)) return; // a link back into a folder already searched
    visited.add(real);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new DelineateError('IO', `${dir}: cannot list folder (${(e as Error).message})`, { subject: dir, cause: e });
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = await stat(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          hidden.push({ path: p, reason: 'broken symbolic link' });
          continue;
        }
      }
      if (e.name.startsWith('.')) {
        hidden.push({ path: p, reason: isDir ? 'hidden folder (not searched)' : 'hidden file' });
        continue;
      }
      if (isDir) await walk(p);
      else if (isFile) files.push(p);
    }
  };
  await walk(root);
  return { files, hidden };
}

async function imageFileInfo(path: string): Promise<VolumeInfo> {
  const h = await readImageFileHeader(path);
  const ext = imageExtension(path) ?? '';
  return {
    id: shortId('file', resolve(path)),
    source: path,
    modality: '',
    description: basename(path).slice(0, basename(path).length - ext.length),
    size: h.size,
    spacingMm: h.spacingMm,
    originMm: h.originMm,
    direction: h.direction,
    dataType: h.dataType,
    files: [path],
    warnings: [],
  };
}

/**
 * Scan a file or folder (recursively) for volumes. DICOM files are read header-only; NIfTI/NRRD/MetaImage
 * headers through itk-wasm. Volumes are listed with LPS geometry (see {@link VolumeInfo}); files that are not
 * images are listed in `skipped` with a reason (not DICOM, DICOM without pixel data, segmentation object,
 * truncated …). Progress: stage 'scan', unit files.
 *
 * Errors: NOT_FOUND when the path does not exist; a folder with no volumes is NOT an error here (the result is
 * empty and `skipped` says why) — callers that need a volume report that.
 */
export async function scanPath(path: string, opts: JobOptions = {}): Promise<ScanResult> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${path}: no such file or folder`, { subject: path, cause: e });
  }
  const listing = st.isDirectory() ? await listFiles(path, opts) : { files: [path], hidden: [] };
  const files = listing.files;
  const sideFiles = new Set<string>();
  const skipped: SkippedFile[] = [...listing.hidden];
  const headers: DicomHeader[] = [];
  const imageFiles: string[] = [];
  const total = files.length;
  opts.onProgress?.({ stage: 'scan', done: 0, total });
  let done = 0;
  // Header reads overlap (I/O bound); results are consumed in file order so the outcome does not depend on timing.
  const CONCURRENCY = 8;
  const headerOf = (f: string): Promise<HeaderResult> =>
    readDicomHeader(f).catch((e: unknown) => ({ kind: 'broken' as const, reason: toDelineateError(e).message }));
  const inFlight = new Map<number, Promise<HeaderResult>>();
  const launch = (i: number) => {
    const f = files[i];
    if (f !== undefined && !imageExtension(f)) inFlight.set(i, headerOf(f));
  };
  for (let i = 0; i < Math.min(CONCURRENCY, files.length); i++) launch(i);
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    throwIfCancelled(opts.signal);
    launch(i + CONCURRENCY);
    if (imageExtension(f)) {
      imageFiles.push(f);
    } else {
      const r = await inFlight.get(i)!;
      inFlight.delete(i);
      switch (r.kind) {
        case 'image':
          headers.push(r.header);
          break;
        case 'skip':
          skipped.push({ path: f, reason: r.reason });
          break;
        case 'broken':
          skipped.push({ path: f, reason: `broken DICOM: ${r.reason}` });
          break;
        case 'not-dicom':
          if (SIDE_FILE.test(f)) sideFiles.add(f);
          else skipped.push({ path: f, reason: 'not DICOM and not a NIfTI/NRRD/MetaImage file' });
          break;
      }
    }
    done++;
    if (done % 16 === 0 || done === total) opts.onProgress?.({ stage: 'scan', done, total, detail: f });
  }
  const volumes: VolumeInfo[] = [];
  const broken = skipped.filter((s) => s.reason.startsWith('broken DICOM'));
  for (const plan of planVolumes(headers)) {
    // A broken file next to a series is most likely one of its slices: say so where the gap will show.
    const near = broken.filter((b) => dirname(b.path) === plan.info.source);
    if (near.length && plan.info.files.length > 1)
      plan.info.warnings.push(
        `${near.length} broken DICOM file(s) in this folder were left out: ${near.slice(0, 3).map((b) => `${b.path} (${b.reason.replace(/^broken DICOM: /, '')})`).join(', ')}${near.length > 3 ? ', …' : ''}`,
      );
    remember(plan);
    volumes.push(plan.info);
  }
  for (const f of imageFiles) {
    throwIfCancelled(opts.signal);
    try {
      volumes.push(await imageFileInfo(f));
    } catch (e) {
      skipped.push({ path: f, reason: toDelineateError(e).message.replace(`${f}: `, '') });
    }
  }
  // Data files of .mhd/.nhdr/.hdr headers are not volumes; say so only if no header claimed them.
  for (const f of sideFiles) skipped.push({ path: f, reason: 'raw data file (read through its header file, if any)' });
  skipped.sort((a, b) => a.path.localeCompare(b.path));
  return { volumes, skipped };
}

/**
 * Read the voxels of a volume listed by {@link scanPath}. For DICOM the decoded voxels are in modality units
 * (rescale slope/intercept applied: CT in HU) and the grid is the one listed (i along rows of a slice, j down the
 * columns, k along the slice normal, LPS). For single image files the file is read with {@link readImageFile}.
 * Progress: stage 'read', unit files.
 *
 * Errors: NOT_FOUND (the volume's files are gone or no longer form that volume), GEOMETRY (missing slice),
 * FORMAT (truncated/undecodable file, named), UNSUPPORTED.
 */
export async function readVolume(info: VolumeInfo, opts: JobOptions = {}): Promise<Volume> {
  throwIfCancelled(opts.signal);
  if (info.files.length === 1 && imageExtension(info.files[0]!)) return readImageFile(info.files[0]!, opts);
  let plan = planCache.get(info.id);
  if (!plan || plan.info.files.length !== info.files.length || plan.info.files.some((f, i) => f !== info.files[i])) {
    // Not from this process's scans (e.g. an id passed over IPC after a restart): re-read the headers.
    const headers: DicomHeader[] = [];
    for (const f of info.files) {
      throwIfCancelled(opts.signal);
      let r;
      try {
        r = await readDicomHeader(f);
      } catch (e) {
        throw new DelineateError('NOT_FOUND', `${f}: cannot read (${(e as Error).message})`, { subject: f, cause: e });
      }
      if (r.kind !== 'image') throw new DelineateError('FORMAT', `${f}: not a readable DICOM image${'reason' in r ? ` (${r.reason})` : ''}`, { subject: f });
      headers.push(r.header);
    }
    const plans = planVolumes(headers);
    plan = plans.find((p) => p.info.id === info.id) ?? (plans.length === 1 ? plans[0] : undefined);
    if (!plan) throw new DelineateError('NOT_FOUND', `Volume ${info.id} (${info.source}) is no longer in its files`, { subject: info.id });
    remember(plan);
  }
  return decodePlan(plan, opts);
}

/** Read the one volume of a file or folder, or the one with `volumeId`; USAGE error listing ids when ambiguous. */
export async function readSingleVolume(path: string, volumeId?: string, opts: JobOptions = {}): Promise<{ info: VolumeInfo; volume: Volume }> {
  const scan = await scanPath(path, opts);
  if (scan.volumes.length === 0) {
    const only = scan.skipped.length === 1 ? scan.skipped[0]! : undefined;
    if (only && resolve(only.path) === resolve(path)) throw new DelineateError('FORMAT', `${path}: ${only.reason}`, { subject: path });
    const why = scan.skipped.length ? `; skipped: ${scan.skipped.slice(0, 5).map((s) => `${s.path} (${s.reason})`).join(', ')}${scan.skipped.length > 5 ? ', …' : ''}` : '';
    throw new DelineateError('FORMAT', `${path}: no image volumes found${why}`, { subject: path });
  }
  let info: VolumeInfo | undefined;
  if (volumeId !== undefined) {
    info = scan.volumes.find((v) => v.id === volumeId);
    if (!info)
      throw new DelineateError('NOT_FOUND', `${path}: no volume with id ${volumeId}; ids: ${scan.volumes.map((v) => `${v.id} (${v.description || v.source})`).join(', ')}`, {
        subject: volumeId,
      });
  } else if (scan.volumes.length > 1) {
    throw new DelineateError(
      'USAGE',
      `${path} holds ${scan.volumes.length} volumes; choose one with --series <id>:\n${scan.volumes.map((v) => `  ${v.id}  ${v.modality.padEnd(3)} ${v.size.join('×')}  ${v.description || v.source}`).join('\n')}`,
      { subject: path },
    );
  } else info = scan.volumes[0]!;
  return { info, volume: await readVolume(info, opts) };
}
