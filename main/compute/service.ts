/**
 * The compute dispatcher: implements every method of {@link ServiceMethods} (main/common/api.ts) on top of
 * core. Each request's params are validated here (the last boundary before core): a malformed payload is a
 * PROTOCOL error and a well-formed but unusable value (relative path, size out of range) a USAGE error, both
 * naming the field as `params.<name>`.
 *
 * State kept per compute process: the VolumeInfo of every scanned volume by id (so `volumes.load` takes just an
 * id), the uploads of the web host (in a temporary folder of this process, see {@link ComputeService.dispose}),
 * and the recent-items store in the user-data folder.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { AppInfo, DirEntry, LoadedVolume, MethodName, ParamsOf, RecentItem, ResultOf, SegmentationData, UploadedFile } from '../common/api';
import { DelineateError, throwIfCancelled } from '../common/errors';
import type { JobOptions } from '../common/progress';
import type { ComputeConfig } from '../common/supervisor';
import type { ScanResult, Volume, VolumeInfo } from '../common/volume';
import { RecentStore } from './recent';
import { AutosaveStore } from './autosave';
import { MESH_PARAM_FIELDS, MeshService, validateMeshOptions } from './service-mesh';
import { ESTIMATE_PARAM_FIELDS, ModelsEstimator, validateEstimateParams } from './service-models';
import type { Handler, HandlerOptions } from './server';
import { middleSliceThumbnail, type Thumbnail } from './thumbnail';
import { Workflow } from './workflow';

/** The part of core the service needs (main/core/io). Injected so the dispatcher can be tested on its own. */
export interface ServiceCore {
  /** Recursive scan of a file or folder. Progress unit: files. */
  scanPath(path: string, options: JobOptions): Promise<ScanResult>;
  /** Read the voxels of a volume found by {@link ServiceCore.scanPath}. */
  readVolume(info: VolumeInfo, options: JobOptions): Promise<Volume>;
}

/** Limits on what one request may ask for. */
export const LIMITS = {
  /** Longest side of a thumbnail, px. */
  maxThumbnailPx: 1024,
  maxUploadFiles: 50_000,
  maxUploadBytes: 8 * 1024 ** 3,
  maxListEntries: 20_000,
  maxLabelChars: 1000,
  /** Scanned volumes remembered for `volumes.load`; the oldest are forgotten first. */
  maxKnownVolumes: 20_000,
  /** Thumbnails kept (least recently used dropped first). */
  maxCachedThumbnails: 256,
  /** Input series of one model run. */
  maxModelInputs: 16,
} as const;

type Implementation = { [M in MethodName]: (params: ParamsOf<M>, options: HandlerOptions) => Promise<ResultOf<M>> };

export class ComputeService {
  /** Service id → the info given to clients and the info core listed (its own id, for readVolume). */
  private readonly volumes = new Map<string, { info: VolumeInfo; coreInfo: VolumeInfo }>();
  /** `${volumeId}:${maxSize}` → thumbnail, least recently used first. */
  private readonly thumbnails = new Map<string, Thumbnail>();
  private readonly recent: RecentStore;
  private readonly uploadRoot: string;
  /** Models, segmentation files and statistics (./workflow) over the volumes known here. */
  private readonly workflow = new Workflow(
    {
      info: (volumeId) => this.known(volumeId).coreInfo,
      read: (info, options) => this.core.readVolume(info, options),
    },
    () => this.autosave,
  );
  /** Unsaved segmentations, in `<userDataDir>/autosave/` (./autosave). */
  private readonly autosave: AutosaveStore;
  /** Surfaces and mesh export (./service-mesh) of labelmaps on the volumes known here. */
  private readonly mesh = new MeshService({ info: (volumeId) => this.known(volumeId).coreInfo, version: () => this.config.version });
  /** The models panel's time estimate (./service-models). */
  private readonly estimator = new ModelsEstimator({ info: (volumeId) => this.known(volumeId).coreInfo, read: (info, options) => this.core.readVolume(info, options) });

  constructor(
    private readonly config: ComputeConfig,
    private readonly core: ServiceCore,
    private readonly platform: string = process.platform,
  ) {
    this.recent = new RecentStore(config.userDataDir);
    this.autosave = new AutosaveStore(config.userDataDir);
    void this.autosave.cleanTemporary().catch(() => {}); // leftovers of a crash in the middle of an autosave
    this.uploadRoot = join(tmpdir(), `delineate-uploads-${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** The {@link Handler} the compute server calls: validate, then run. */
  readonly handle: Handler = async (method, params, options) => {
    if (typeof method !== 'string' || !Object.hasOwn(this.methods, method))
      throw new DelineateError('PROTOCOL', `Unknown method '${String(method)}'`, { subject: 'method' });
    const m = method as MethodName;
    const validated = validateParams(m, params);
    return (this.methods[m] as (p: unknown, o: HandlerOptions) => Promise<unknown>)(validated, options);
  };

  /** Remove this process's uploads (a temporary folder of its own). Call when the process stops. */
  dispose(): void {
    rmSync(this.uploadRoot, { recursive: true, force: true });
  }

  private readonly methods: Implementation = {
    'app.info': async () => {
      const info: AppInfo = {
        name: 'Delineate',
        version: this.config.version,
        transport: this.config.transport,
        platform: this.platform,
        nativeDialogs: this.config.nativeDialogs,
      };
      if (this.config.dataRoot !== undefined) info.dataRoot = this.config.dataRoot;
      return info;
    },

    'volumes.scan': async ({ path }, { signal, onProgress }) => {
      const result = await this.core.scanPath(path, { signal, onProgress });
      return this.remember(result);
    },

    'volumes.scanUpload': async ({ files }, { signal, onProgress }) => {
      const dir = join(this.uploadRoot, `${Date.now()}-${randomBytes(4).toString('hex')}`);
      try {
        await mkdir(dir, { recursive: true });
        let done = 0;
        for (const file of files) {
          throwIfCancelled(signal);
          const target = join(dir, ...safeRelativeParts(file.name));
          await mkdir(join(target, '..'), { recursive: true });
          await writeFile(target, new Uint8Array(file.bytes), { flag: 'wx' });
          onProgress({ stage: 'upload', done: ++done, total: files.length, detail: file.name });
        }
        const result = await this.core.scanPath(dir, { signal, onProgress });
        return this.remember(result);
      } catch (e) {
        await rm(dir, { recursive: true, force: true }).catch(() => {});
        if ((e as NodeJS.ErrnoException).code === 'EEXIST')
          throw new DelineateError('USAGE', `Two uploaded files in params.files have the same name`, { subject: 'params.files' });
        throw e;
      }
    },

    'volumes.load': async ({ volumeId }, { signal, onProgress }): Promise<LoadedVolume> => {
      const { info, coreInfo } = this.known(volumeId);
      const volume = await this.core.readVolume(coreInfo, { signal, onProgress });
      return { info, volume };
    },

    'volumes.thumbnail': async ({ volumeId, maxSize }, { signal, onProgress }): Promise<Thumbnail> => {
      const { coreInfo } = this.known(volumeId);
      const key = `${volumeId}:${maxSize}`;
      const cached = this.thumbnails.get(key);
      if (cached) {
        this.thumbnails.delete(key);
        this.thumbnails.set(key, cached);
        return cached;
      }
      const volume = await this.core.readVolume(coreInfo, { signal, onProgress });
      throwIfCancelled(signal);
      const thumbnail = middleSliceThumbnail(volume, maxSize);
      this.thumbnails.set(key, thumbnail);
      while (this.thumbnails.size > LIMITS.maxCachedThumbnails) this.thumbnails.delete(this.thumbnails.keys().next().value!);
      return thumbnail;
    },

    'recent.list': async (): Promise<RecentItem[]> => this.recent.list(),

    'recent.add': async ({ path, label }) => this.recent.add(path, label),

    'fs.list': async ({ path }): Promise<DirEntry[]> => listFolder(path),

    'models.list': async () => this.workflow.listModels(),

    'segment.run': async (params, { signal, onProgress }) => this.workflow.run(params, { signal, onProgress }),

    'segmentation.open': async (params) => this.workflow.open(params),

    'segmentation.save': async (params) => this.workflow.save(params),

    'segmentation.edit': async (params, { signal, onProgress }) => this.workflow.edit(params, { signal, onProgress }),

    'stats.compute': async (params, { signal, onProgress }) => this.workflow.stats(params, { signal, onProgress }),

    'autosave.write': async (params) => this.workflow.autosaveWrite(params),

    'autosave.find': async (params) => this.workflow.autosaveFind(params),

    'autosave.recover': async (params) => this.workflow.autosaveRecover(params),

    'autosave.discard': async (params) => this.workflow.autosaveDiscard(params),

    'mesh.build': async (params, { signal, onProgress }) => this.mesh.build(params, { signal, onProgress }),

    'mesh.export': async (params, { signal, onProgress }) => this.mesh.export(params, { signal, onProgress }),

    'models.estimate': async (params, { signal, onProgress }) => this.estimator.estimate(params, { signal, onProgress }),
  };

  private known(volumeId: string): { info: VolumeInfo; coreInfo: VolumeInfo } {
    const entry = this.volumes.get(volumeId);
    if (!entry)
      throw new DelineateError('NOT_FOUND', `No scanned volume has the id '${volumeId}'; scan its file or folder first`, { subject: 'params.volumeId' });
    return entry;
  }

  /**
   * Keep the scanned volumes by id. Ids are unique within one scan; when a later scan reuses an id for a different
   * volume, the new one gets a suffix (`<id>~2`, …) so that earlier ids keep meaning what they meant.
   */
  private remember(result: ScanResult): ScanResult {
    const volumes = result.volumes.map((info) => {
      let id = info.id;
      for (let n = 2; this.volumes.has(id) && !sameVolume(this.volumes.get(id)!.coreInfo, info); n++) id = `${info.id}~${n}`;
      const kept = id === info.id ? info : { ...info, id };
      if (this.volumes.has(id)) for (const key of [...this.thumbnails.keys()]) if (key.startsWith(`${id}:`)) this.thumbnails.delete(key);
      this.volumes.delete(id);
      this.volumes.set(id, { info: kept, coreInfo: info });
      return kept;
    });
    while (this.volumes.size > LIMITS.maxKnownVolumes) this.volumes.delete(this.volumes.keys().next().value!);
    return { volumes, skipped: result.skipped };
  }
}

function sameVolume(a: VolumeInfo, b: VolumeInfo): boolean {
  return a.source === b.source && a.files.length === b.files.length && a.files.every((f, i) => f === b.files[i]) && a.size.every((s, i) => s === b.size[i]);
}

async function listFolder(path: string): Promise<DirEntry[]> {
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (e) {
    throw fsError(e, path);
  }
  const out: DirEntry[] = [];
  for (const entry of entries.slice(0, LIMITS.maxListEntries)) {
    const full = join(path, entry.name);
    let kind: DirEntry['kind'] | undefined = entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : undefined;
    let sizeBytes: number | undefined;
    if (kind === 'file' || entry.isSymbolicLink()) {
      try {
        const st = await stat(full);
        kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
        if (kind === 'file') sizeBytes = st.size;
      } catch {
        kind = undefined; // broken link or vanished file
      }
    }
    if (!kind) continue;
    out.push(sizeBytes === undefined ? { name: entry.name, path: full, kind } : { name: entry.name, path: full, kind, sizeBytes });
  }
  out.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  return out;
}

function fsError(e: unknown, path: string): DelineateError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new DelineateError('NOT_FOUND', `No such folder: ${path}`, { subject: path, cause: e });
  if (code === 'ENOTDIR') return new DelineateError('USAGE', `Not a folder: ${path}`, { subject: path, cause: e });
  return new DelineateError('IO', `Cannot list ${path}: ${(e as Error).message}`, { subject: path, cause: e });
}

/** Split an uploaded file's relative name into safe path parts (no absolute paths, drive letters or `..`). */
export function safeRelativeParts(name: string, field = 'params.files[].name'): string[] {
  const parts = name.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..' || /^[a-zA-Z]:$/.test(p) || p.includes('\0')))
    throw new DelineateError('USAGE', `${field} '${name}' is not a safe relative path`, { subject: field });
  return parts;
}

// ---- params validation -----------------------------------------------------------------------------------------

type Params = Record<string, unknown>;

function paramsObject(method: MethodName, params: unknown, allowed: readonly string[]): Params {
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    throw new DelineateError('PROTOCOL', `'${method}' takes an object of parameters, got ${describe(params)}`, { subject: 'params' });
  for (const key of Object.keys(params))
    if (!allowed.includes(key))
      throw new DelineateError('PROTOCOL', `params.${key} is not a parameter of '${method}' (expected: ${allowed.join(', ') || 'none'})`, { subject: `params.${key}` });
  return params as Params;
}

function str(method: MethodName, p: Params, field: string): string {
  const v = p[field];
  if (typeof v !== 'string') throw new DelineateError('PROTOCOL', `'${method}' needs params.${field} as a string, got ${describe(v)}`, { subject: `params.${field}` });
  return v;
}

function absolutePath(method: MethodName, p: Params, field: string): string {
  const v = str(method, p, field);
  if (v.includes('\0') || !isAbsolute(v))
    throw new DelineateError('USAGE', `'${method}' needs params.${field} as an absolute path, got '${v}'`, { subject: `params.${field}` });
  const n = normalize(v);
  return n.length > 1 && n.endsWith(sep) ? n.slice(0, -1) : n;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer';
  return typeof v === 'string' ? `a string` : typeof v;
}

/** Check and normalise the params of one request. Throws PROTOCOL/USAGE errors naming the field. */
export function validateParams<M extends MethodName>(method: M, params: unknown): ParamsOf<M> {
  switch (method) {
    case 'app.info':
    case 'recent.list':
    case 'models.list':
      paramsObject(method, params ?? {}, []);
      return {} as ParamsOf<M>;
    case 'volumes.scan':
    case 'fs.list': {
      const p = paramsObject(method, params, ['path']);
      return { path: absolutePath(method, p, 'path') } as ParamsOf<M>;
    }
    case 'volumes.load': {
      const p = paramsObject(method, params, ['volumeId']);
      const volumeId = str(method, p, 'volumeId');
      if (volumeId === '') throw new DelineateError('USAGE', `'${method}' needs a non-empty params.volumeId`, { subject: 'params.volumeId' });
      return { volumeId } as ParamsOf<M>;
    }
    case 'volumes.thumbnail': {
      const p = paramsObject(method, params, ['volumeId', 'maxSize']);
      const volumeId = str(method, p, 'volumeId');
      const maxSize = p.maxSize;
      if (typeof maxSize !== 'number') throw new DelineateError('PROTOCOL', `'${method}' needs params.maxSize as a number, got ${describe(maxSize)}`, { subject: 'params.maxSize' });
      if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > LIMITS.maxThumbnailPx)
        throw new DelineateError('USAGE', `params.maxSize must be an integer from 1 to ${LIMITS.maxThumbnailPx} px, got ${maxSize}`, { subject: 'params.maxSize' });
      return { volumeId, maxSize } as ParamsOf<M>;
    }
    case 'recent.add': {
      const p = paramsObject(method, params, ['path', 'label']);
      const path = absolutePath(method, p, 'path');
      const label = str(method, p, 'label');
      if (label.length > LIMITS.maxLabelChars)
        throw new DelineateError('USAGE', `params.label is longer than ${LIMITS.maxLabelChars} characters`, { subject: 'params.label' });
      return { path, label } as ParamsOf<M>;
    }
    case 'volumes.scanUpload': {
      const p = paramsObject(method, params, ['files']);
      const files = p.files;
      if (!Array.isArray(files)) throw new DelineateError('PROTOCOL', `'${method}' needs params.files as an array, got ${describe(files)}`, { subject: 'params.files' });
      if (files.length === 0) throw new DelineateError('USAGE', `'${method}' got no files (params.files is empty)`, { subject: 'params.files' });
      if (files.length > LIMITS.maxUploadFiles)
        throw new DelineateError('USAGE', `'${method}' takes at most ${LIMITS.maxUploadFiles} files, got ${files.length}`, { subject: 'params.files' });
      let total = 0;
      const out: UploadedFile[] = files.map((f: unknown, i) => {
        const field = `params.files[${i}]`;
        if (typeof f !== 'object' || f === null) throw new DelineateError('PROTOCOL', `${field} must be an object {name, bytes}`, { subject: field });
        const { name, bytes } = f as Partial<UploadedFile>;
        if (typeof name !== 'string' || name === '') throw new DelineateError('PROTOCOL', `${field}.name must be a non-empty string`, { subject: `${field}.name` });
        if (!(bytes instanceof ArrayBuffer)) throw new DelineateError('PROTOCOL', `${field}.bytes must be an ArrayBuffer, got ${describe(bytes)}`, { subject: `${field}.bytes` });
        safeRelativeParts(name, `${field}.name`);
        total += bytes.byteLength;
        return { name, bytes };
      });
      if (total > LIMITS.maxUploadBytes)
        throw new DelineateError('USAGE', `'${method}' takes at most ${LIMITS.maxUploadBytes / 1024 ** 3} GiB, got ${(total / 1024 ** 3).toFixed(1)} GiB`, { subject: 'params.files' });
      return { files: out } as ParamsOf<M>;
    }
    case 'segment.run': {
      const p = paramsObject(method, params, ['modelId', 'volumeIds', 'device', 'preset', 'uncertainty']);
      const modelId = nonEmpty(method, p, 'modelId');
      const ids = p.volumeIds;
      if (!Array.isArray(ids) || ids.length === 0 || ids.some((v) => typeof v !== 'string' || v === ''))
        throw new DelineateError('PROTOCOL', `'${method}' needs params.volumeIds as a non-empty array of volume ids`, { subject: 'params.volumeIds' });
      if (ids.length > LIMITS.maxModelInputs) throw new DelineateError('USAGE', `params.volumeIds lists more than ${LIMITS.maxModelInputs} series`, { subject: 'params.volumeIds' });
      const device = str(method, p, 'device');
      if (!DEVICES.includes(device)) throw new DelineateError('USAGE', `params.device must be one of ${DEVICES.join(', ')}, got '${device}'`, { subject: 'params.device' });
      const preset = str(method, p, 'preset');
      if (preset !== 'fast' && preset !== 'accurate') throw new DelineateError('USAGE', `params.preset must be 'fast' or 'accurate', got '${preset}'`, { subject: 'params.preset' });
      if (p.uncertainty !== undefined && typeof p.uncertainty !== 'boolean')
        throw new DelineateError('PROTOCOL', `params.uncertainty must be true or false`, { subject: 'params.uncertainty' });
      // The uncertainty map is made unless asked not to (its cost: see main/common/uncertainty.ts).
      return { modelId, volumeIds: ids as string[], device, preset, uncertainty: p.uncertainty !== false } as ParamsOf<M>;
    }
    case 'segmentation.open': {
      const p = paramsObject(method, params, ['volumeId', 'path']);
      return { volumeId: nonEmpty(method, p, 'volumeId'), path: absolutePath(method, p, 'path') } as ParamsOf<M>;
    }
    case 'segmentation.save': {
      const p = paramsObject(method, params, ['volumeId', 'path', 'format', ...SEG_FIELDS]);
      const format = str(method, p, 'format');
      if (format !== 'labelmap' && format !== 'slicer-seg' && format !== 'dicom-seg')
        throw new DelineateError('USAGE', `params.format must be labelmap, slicer-seg or dicom-seg, got '${format}'`, { subject: 'params.format' });
      const path = absolutePath(method, p, 'path');
      const lower = path.toLowerCase();
      const okName = format === 'slicer-seg' ? lower.endsWith('.seg.nrrd') : format === 'labelmap' ? /\.(nii|nii\.gz|nrrd)$/.test(lower) && !lower.endsWith('.seg.nrrd') : lower.endsWith('.dcm');
      if (!okName)
        throw new DelineateError('USAGE', `params.path '${path}' does not end in ${format === 'slicer-seg' ? '.seg.nrrd' : format === 'labelmap' ? '.nii.gz, .nii or .nrrd' : '.dcm'} (format ${format})`, { subject: 'params.path' });
      return { volumeId: nonEmpty(method, p, 'volumeId'), path, format, ...segmentationData(method, p) } as ParamsOf<M>;
    }
    case 'segmentation.edit': {
      const p = paramsObject(method, params, ['volumeId', 'op', 'value', 'axis', 'radiusMm', 'locked', ...SEG_FIELDS]);
      const op = str(method, p, 'op');
      if (op !== 'fill-between-slices' && op !== 'median' && op !== 'closing')
        throw new DelineateError('USAGE', `params.op must be fill-between-slices, median or closing, got '${op}'`, { subject: 'params.op' });
      const value = p.value;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535)
        throw new DelineateError('USAGE', `params.value must be a segment value 1…65535`, { subject: 'params.value' });
      const out: Record<string, unknown> = { volumeId: nonEmpty(method, p, 'volumeId'), op, value, ...segmentationData(method, p) };
      if (p.axis !== undefined) {
        if (p.axis !== 0 && p.axis !== 1 && p.axis !== 2) throw new DelineateError('USAGE', `params.axis must be 0, 1 or 2`, { subject: 'params.axis' });
        out.axis = p.axis;
      }
      if (p.radiusMm !== undefined) {
        if (typeof p.radiusMm !== 'number' || !(p.radiusMm > 0 && p.radiusMm <= 50)) throw new DelineateError('USAGE', `params.radiusMm must be a number in (0, 50] mm`, { subject: 'params.radiusMm' });
        out.radiusMm = p.radiusMm;
      }
      const locked = p.locked ?? [];
      if (!Array.isArray(locked) || !locked.every((v) => Number.isInteger(v))) throw new DelineateError('PROTOCOL', `params.locked must be an array of segment values`, { subject: 'params.locked' });
      out.locked = locked;
      return out as ParamsOf<M>;
    }
    case 'stats.compute': {
      const p = paramsObject(method, params, ['volumeId', ...SEG_FIELDS]);
      return { volumeId: nonEmpty(method, p, 'volumeId'), ...segmentationData(method, p) } as ParamsOf<M>;
    }
    case 'autosave.write': {
      const p = paramsObject(method, params, ['volumeId', 'origin', ...SEG_FIELDS]);
      const origin = str(method, p, 'origin');
      if (origin.length > LIMITS.maxLabelChars) throw new DelineateError('USAGE', `params.origin is longer than ${LIMITS.maxLabelChars} characters`, { subject: 'params.origin' });
      return { volumeId: nonEmpty(method, p, 'volumeId'), origin, ...segmentationData(method, p) } as ParamsOf<M>;
    }
    case 'autosave.find':
    case 'autosave.recover':
    case 'autosave.discard': {
      const p = paramsObject(method, params, ['volumeId']);
      return { volumeId: nonEmpty(method, p, 'volumeId') } as ParamsOf<M>;
    }
    case 'mesh.build':
    case 'mesh.export': {
      const m = method as 'mesh.build' | 'mesh.export';
      const p = paramsObject(method, params, ['volumeId', ...SEG_FIELDS, ...MESH_PARAM_FIELDS[m]]);
      return { volumeId: nonEmpty(method, p, 'volumeId'), ...segmentationData(method, p), ...validateMeshOptions(m, p) } as ParamsOf<M>;
    }
    case 'models.estimate':
      return validateEstimateParams(paramsObject(method, params, ESTIMATE_PARAM_FIELDS)) as ParamsOf<M>;
    default:
      throw new DelineateError('PROTOCOL', `Unknown method '${String(method)}'`, { subject: 'method' });
  }
}

const DEVICES = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'];
const SEG_FIELDS = ['dataType', 'labels', 'segments'] as const;

function nonEmpty(method: MethodName, p: Params, field: string): string {
  const v = str(method, p, field);
  if (v === '') throw new DelineateError('USAGE', `'${method}' needs a non-empty params.${field}`, { subject: `params.${field}` });
  return v;
}

/** Validate the {@link SegmentationData} fields of a request (labels array type, segment table rows). */
function segmentationData(method: MethodName, p: Params): SegmentationData {
  const dataType = p.dataType;
  const labels = p.labels;
  if (dataType !== 'uint8' && dataType !== 'uint16') throw new DelineateError('PROTOCOL', `params.dataType must be 'uint8' or 'uint16'`, { subject: 'params.dataType' });
  if (!(dataType === 'uint8' ? labels instanceof Uint8Array : labels instanceof Uint16Array))
    throw new DelineateError('PROTOCOL', `'${method}' needs params.labels as a ${dataType === 'uint8' ? 'Uint8Array' : 'Uint16Array'}, got ${describe(labels)}`, { subject: 'params.labels' });
  const segs = p.segments;
  if (!Array.isArray(segs) || segs.length > 65535) throw new DelineateError('PROTOCOL', `params.segments must be an array of segments`, { subject: 'params.segments' });
  const seen = new Set<number>();
  const segments = segs.map((s: unknown, i) => {
    const f = `params.segments[${i}]`;
    const o = s as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) throw new DelineateError('PROTOCOL', `${f} must be an object`, { subject: f });
    const value = o.value;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > (dataType === 'uint8' ? 255 : 65535) || seen.has(value))
      throw new DelineateError('USAGE', `${f}.value must be a unique integer label value 1…${dataType === 'uint8' ? 255 : 65535}`, { subject: `${f}.value` });
    seen.add(value);
    if (typeof o.name !== 'string' || o.name.length > LIMITS.maxLabelChars) throw new DelineateError('USAGE', `${f}.name must be a string`, { subject: `${f}.name` });
    const c = o.color;
    if (!Array.isArray(c) || c.length !== 3 || !c.every((x) => Number.isInteger(x) && x >= 0 && x <= 255))
      throw new DelineateError('USAGE', `${f}.color must be three integers 0–255`, { subject: `${f}.color` });
    return { ...(o as object), value, name: o.name, color: [c[0], c[1], c[2]], layer: 0 } as SegmentationData['segments'][number];
  });
  return { dataType, labels: labels as SegmentationData['labels'], segments };
}
