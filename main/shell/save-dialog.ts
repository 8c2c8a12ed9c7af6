/**
 * The native save dialog of the segment panel (Electron only; the web host keeps its typed path), as plain logic
 * so vitest checks it without electron: the renderer's request is validated (it crosses IPC), turned into the
 * options of `dialog.showSaveDialog`, and the chosen path gets the format's file ending — the same rule as the
 * renderer's typed path (renderer/src/state/segmentation.svelte.ts, FORMAT_EXTENSION) and the compute side's check
 * ('segmentation.save' in main/compute/service.ts).
 */
import type { SaveDialogRequest, SegmentationFormatName } from '../common/api';
import { DelineateError } from '../common/errors';

/** Longest suggested file name accepted from a renderer, characters. */
export const MAX_DEFAULT_NAME_CHARS = 200;

/** What the shell hands to `dialog.showSaveDialog` (a subset of Electron.SaveDialogOptions). */
export interface SaveDialogSpec {
  title: string;
  /** A bare file name (Electron starts in the last folder used). */
  defaultPath?: string;
  filters: { name: string; extensions: string[] }[];
}

const FORMATS: Record<SegmentationFormatName, { title: string; ending: string; filters: SaveDialogSpec['filters'] }> = {
  labelmap: {
    title: 'Save the segmentation as a labelmap (NIfTI or NRRD, with a .segments.json sidecar)',
    ending: '.nii.gz',
    filters: [
      { name: 'NIfTI labelmap', extensions: ['nii.gz', 'nii'] },
      { name: 'NRRD labelmap', extensions: ['nrrd'] },
    ],
  },
  'slicer-seg': { title: 'Save the segmentation for 3D Slicer (.seg.nrrd)', ending: '.seg.nrrd', filters: [{ name: '3D Slicer segmentation', extensions: ['seg.nrrd'] }] },
  'dicom-seg': { title: 'Save the segmentation as DICOM SEG', ending: '.dcm', filters: [{ name: 'DICOM SEG', extensions: ['dcm'] }] },
};

/**
 * Check a renderer's save-dialog request: `{format, defaultName?}` with a known format and, if given, a plain file
 * name (no folders, no control characters, at most {@link MAX_DEFAULT_NAME_CHARS}). PROTOCOL error otherwise.
 */
export function parseSaveDialogRequest(request: unknown): SaveDialogRequest {
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    throw new DelineateError('PROTOCOL', 'saveDialog takes an object {format, defaultName?}', { subject: 'request' });
  const r = request as Record<string, unknown>;
  for (const key of Object.keys(r))
    if (key !== 'format' && key !== 'defaultName') throw new DelineateError('PROTOCOL', `saveDialog: unknown field '${key}'`, { subject: `request.${key}` });
  if (typeof r.format !== 'string' || !Object.hasOwn(FORMATS, r.format))
    throw new DelineateError('PROTOCOL', `saveDialog: format must be labelmap, slicer-seg or dicom-seg, got ${JSON.stringify(r.format) ?? String(r.format)}`, { subject: 'request.format' });
  const out: SaveDialogRequest = { format: r.format as SegmentationFormatName };
  if (r.defaultName !== undefined) {
    const name = r.defaultName;
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (typeof name !== 'string' || name.length > MAX_DEFAULT_NAME_CHARS || /[\\/\u0000-\u001f]/.test(name) || name === '.' || name === '..')
      throw new DelineateError('PROTOCOL', `saveDialog: defaultName must be a file name of at most ${MAX_DEFAULT_NAME_CHARS} characters without folders`, {
        subject: 'request.defaultName',
      });
    out.defaultName = name;
  }
  return out;
}

/** The options of the native dialog for a request (title, suggested name with the format's ending, filters). */
export function saveDialogSpec(request: SaveDialogRequest): SaveDialogSpec {
  const f = FORMATS[request.format];
  const spec: SaveDialogSpec = { title: f.title, filters: [...f.filters.map((x) => ({ name: x.name, extensions: [...x.extensions] })), { name: 'All files', extensions: ['*'] }] };
  const name = request.defaultName?.trim();
  if (name) spec.defaultPath = withFormatEnding(name, request.format);
  return spec;
}

/**
 * `path` with the ending of `format`: kept when it already ends so (labelmap: .nii.gz, .nii or .nrrd but not
 * .seg.nrrd), else a known segmentation ending is replaced, else the format's ending is appended.
 */
export function withFormatEnding(path: string, format: SegmentationFormatName): string {
  const lower = path.toLowerCase();
  if (format === 'labelmap' && /\.(nii|nii\.gz|nrrd)$/.test(lower) && !lower.endsWith('.seg.nrrd')) return path;
  const ending = FORMATS[format].ending;
  if (format !== 'labelmap' && lower.endsWith(ending)) return path;
  return path.replace(/(\.seg\.nrrd|\.nii\.gz|\.nii|\.nrrd|\.dcm)$/i, '') + ending;
}
