/**
 * Autosave files of unsaved segmentations (issue 5): one file per source series in `<userDataDir>/autosave/`, the
 * same user-data folder as `recent.json` (./recent) — Electron's `app.getPath('userData')`, the web host's
 * `--user-data` folder (default `<config>/Delineate/web-host`). The CLI never edits, so it never autosaves.
 *
 * A file is named by {@link autosaveKey} of the series (a hash of its source path, SeriesInstanceUID and grid), so
 * reopening the same series after a crash — in a new compute process, with a new volume id — finds it. It is
 * written atomically (temp file in the same folder + rename: a crash mid-write leaves the previous autosave or none,
 * never a torn one) and removed by an explicit save or a discard. The source images are never written.
 *
 * File layout (`<key>.autosave`, little-endian): 8 bytes magic `DLNAUTO1`, u32 header length, the header as UTF-8
 * JSON ({@link AutosaveHeader}), then the label voxels (uint8/uint16 LE, i fastest) gzip-compressed (level 1; the
 * gzip CRC-32 checks them on reading).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { SegmentationData } from '../common/api';
import { DelineateError } from '../common/errors';
import type { LayeredSegment } from '../common/segmentation';
import type { VolumeInfo } from '../common/volume';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Folder of the autosave files inside the user-data folder. */
export const AUTOSAVE_DIR = 'autosave';
export const AUTOSAVE_EXTENSION = '.autosave';
const MAGIC = 'DLNAUTO1';
/** Largest header accepted when reading (the segment table), bytes. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** What an autosave file says about itself (its JSON header). */
export interface AutosaveHeader {
  version: 1;
  /** {@link autosaveKey} of the series. */
  key: string;
  /** The series as it was when saved: its source path, SeriesInstanceUID and grid size [i, j, k]. */
  source: string;
  seriesInstanceUid?: string;
  size: [number, number, number];
  /** When the file was written (ms since the epoch). */
  savedAtMs: number;
  /** Where the segmentation came from ("brain-tumour-t1c (fast)", a file path, "new"). */
  origin: string;
  dataType: 'uint8' | 'uint16';
  segments: LayeredSegment[];
  /** Voxel count (= size product) and labelled (non-zero) voxels. */
  voxelCount: number;
  labelledVoxels: number;
}

/** A recoverable autosave as the renderer is offered it. */
export interface AutosaveSummary {
  savedAtMs: number;
  origin: string;
  segmentCount: number;
  labelledVoxels: number;
  /** Set when the file is damaged (then only discarding it makes sense): why. */
  problem?: string;
}

/**
 * The key of a series: sha256 over its source path, SeriesInstanceUID, grid size, spacing, origin and direction
 * (first 32 hex digits). Stable across scans and processes; differs between series of one folder.
 */
export function autosaveKey(info: VolumeInfo): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([info.source, info.study?.seriesInstanceUid ?? '', info.size, info.spacingMm, info.originMm, info.direction]));
  return h.digest('hex').slice(0, 32);
}

function voxelCount(info: VolumeInfo): number {
  return info.size[0] * info.size[1] * info.size[2];
}

/** Little-endian bytes of a label array (a view when the platform is little-endian, as every supported one is). */
function labelBytes(labels: Uint8Array | Uint16Array): Uint8Array {
  return new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength);
}

export class AutosaveStore {
  readonly dir: string;
  /** Per key, the last operation: writes, discards and reads of one series run in arrival order. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    userDataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = join(userDataDir, AUTOSAVE_DIR);
  }

  /** The file of a series (whether or not it exists). */
  pathOf(info: VolumeInfo): string {
    return join(this.dir, `${autosaveKey(info)}${AUTOSAVE_EXTENSION}`);
  }

  private serial<T>(key: string, op: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(op);
    this.queues.set(key, next);
    void next.catch(() => {}).then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
    return next;
  }

  /** Write the autosave of `info`'s segmentation (replacing the previous one atomically). */
  write(info: VolumeInfo, data: SegmentationData, origin: string): Promise<{ path: string; savedAtMs: number }> {
    const n = voxelCount(info);
    if (data.labels.length !== n)
      throw new DelineateError('USAGE', `params.labels has ${data.labels.length} voxels but ${info.source} has ${n} (${info.size.join('×')})`, { subject: 'params.labels' });
    // Copy now: the caller's buffer may be reused while the compression runs.
    const bytes = labelBytes(data.labels).slice();
    let labelled = 0;
    for (let i = 0; i < data.labels.length; i++) if (data.labels[i] !== 0) labelled++;
    const key = autosaveKey(info);
    return this.serial(key, async () => {
      const savedAtMs = this.now();
      const header: AutosaveHeader = {
        version: 1,
        key,
        source: info.source,
        size: [...info.size],
        savedAtMs,
        origin,
        dataType: data.dataType,
        segments: data.segments,
        voxelCount: n,
        labelledVoxels: labelled,
      };
      if (info.study?.seriesInstanceUid) header.seriesInstanceUid = info.study.seriesInstanceUid;
      const json = new TextEncoder().encode(JSON.stringify(header));
      const prefix = new Uint8Array(12);
      prefix.set(new TextEncoder().encode(MAGIC), 0);
      new DataView(prefix.buffer).setUint32(8, json.length, true);
      const body = await gzipAsync(bytes, { level: 1 });
      const path = this.pathOf(info);
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await mkdir(this.dir, { recursive: true });
        await writeFile(tmp, Buffer.concat([prefix, json, body]));
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => {});
        throw new DelineateError('IO', `Cannot write the autosave ${path}: ${(e as Error).message}`, { subject: path, cause: e });
      }
      return { path, savedAtMs };
    });
  }

  /** The header of `info`'s autosave, or null when there is none (or it does not belong to this series). */
  find(info: VolumeInfo): Promise<AutosaveHeader | null> {
    const key = autosaveKey(info);
    return this.serial(key, async () => {
      const path = this.pathOf(info);
      let fh;
      try {
        fh = await open(path, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new DelineateError('IO', `Cannot read the autosave ${path}: ${(e as Error).message}`, { subject: path, cause: e });
      }
      try {
        const prefix = new Uint8Array(12);
        const { bytesRead } = await fh.read(prefix, 0, 12, 0);
        const length = this.checkPrefix(prefix, bytesRead, path);
        const json = new Uint8Array(length);
        const r = await fh.read(json, 0, length, 12);
        if (r.bytesRead !== length) throw damaged(path, 'its header is cut short');
        return this.checkHeader(json, info, path);
      } finally {
        await fh.close();
      }
    });
  }

  /** A short description of the recoverable autosave, or null. */
  async summary(info: VolumeInfo): Promise<AutosaveSummary | null> {
    try {
      const h = await this.find(info);
      return h && { savedAtMs: h.savedAtMs, origin: h.origin, segmentCount: h.segments.length, labelledVoxels: h.labelledVoxels };
    } catch (e) {
      if (!(e instanceof DelineateError) || e.code !== 'INPUT') throw e;
      return { savedAtMs: 0, origin: '', segmentCount: 0, labelledVoxels: 0, problem: e.message };
    }
  }

  /** Read `info`'s autosave back, voxel for voxel (NOT_FOUND when there is none; INPUT when it is damaged). */
  read(info: VolumeInfo): Promise<SegmentationData & { savedAtMs: number; origin: string }> {
    const key = autosaveKey(info);
    return this.serial(key, async () => {
      const path = this.pathOf(info);
      let file: Buffer;
      try {
        file = await readFile(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT')
          throw new DelineateError('NOT_FOUND', `There is no autosave of ${info.source} (it was saved or discarded)`, { subject: 'params.volumeId' });
        throw new DelineateError('IO', `Cannot read the autosave ${path}: ${(e as Error).message}`, { subject: path, cause: e });
      }
      const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
      const length = this.checkPrefix(bytes.subarray(0, 12), Math.min(12, bytes.length), path);
      if (bytes.length < 12 + length) throw damaged(path, 'its header is cut short');
      const header = this.checkHeader(bytes.subarray(12, 12 + length), info, path);
      if (!header) throw damaged(path, `it belongs to another series than ${info.source}`);
      let raw: Buffer;
      try {
        raw = await gunzipAsync(bytes.subarray(12 + length));
      } catch (e) {
        throw damaged(path, `its voxels do not decompress (${(e as Error).message})`);
      }
      const bytesPer = header.dataType === 'uint8' ? 1 : 2;
      if (raw.length !== header.voxelCount * bytesPer) throw damaged(path, `it holds ${raw.length} bytes of labels for ${header.voxelCount} ${header.dataType} voxels`);
      const copy = new Uint8Array(raw.length);
      copy.set(raw);
      const labels = header.dataType === 'uint8' ? copy : new Uint16Array(copy.buffer);
      return { dataType: header.dataType, labels, segments: header.segments, savedAtMs: header.savedAtMs, origin: header.origin };
    });
  }

  /** Remove `info`'s autosave (after an explicit save, or when the user discards it). Resolves whether one existed. */
  discard(info: VolumeInfo): Promise<boolean> {
    const key = autosaveKey(info);
    return this.serial(key, async () => {
      const path = this.pathOf(info);
      try {
        await rm(path);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw new DelineateError('IO', `Cannot remove the autosave ${path}: ${(e as Error).message}`, { subject: path, cause: e });
      }
    });
  }

  /** Temporary files left by a crash in the middle of a write (removed by {@link cleanTemporary}). */
  async temporaryFiles(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((f) => f.endsWith('.tmp')).map((f) => join(this.dir, f));
    } catch {
      return [];
    }
  }

  /**
   * Remove temporary files of interrupted writes older than `minAgeMs` (so that a write in flight in another
   * process is left alone). Call when a compute process starts. Resolves to the number removed.
   */
  async cleanTemporary(minAgeMs = 60_000): Promise<number> {
    let removed = 0;
    for (const f of await this.temporaryFiles()) {
      try {
        if (this.now() - (await stat(f)).mtimeMs < minAgeMs) continue;
        await rm(f, { force: true });
        removed++;
      } catch {
        // vanished meanwhile
      }
    }
    return removed;
  }

  private checkPrefix(prefix: Uint8Array, got: number, path: string): number {
    if (got < 12 || new TextDecoder().decode(prefix.subarray(0, 8)) !== MAGIC) throw damaged(path, `it does not start with ${MAGIC}`);
    const length = new DataView(prefix.buffer, prefix.byteOffset, 12).getUint32(8, true);
    if (length === 0 || length > MAX_HEADER_BYTES) throw damaged(path, `its header length ${length} is out of range`);
    return length;
  }

  /** Parse a header; null when it is for another series (a hash collision or a changed series), throw when damaged. */
  private checkHeader(json: Uint8Array, info: VolumeInfo, path: string): AutosaveHeader | null {
    let h: AutosaveHeader;
    try {
      h = JSON.parse(new TextDecoder().decode(json)) as AutosaveHeader;
    } catch {
      throw damaged(path, 'its header is not JSON');
    }
    if (h?.version !== 1 || (h.dataType !== 'uint8' && h.dataType !== 'uint16') || !Array.isArray(h.segments) || typeof h.savedAtMs !== 'number' || !Array.isArray(h.size))
      throw damaged(path, 'its header lacks version, dataType, segments, size or savedAtMs');
    const same =
      h.key === autosaveKey(info) &&
      h.source === info.source &&
      (h.seriesInstanceUid ?? '') === (info.study?.seriesInstanceUid ?? '') &&
      h.size.every((s, i) => s === info.size[i]) &&
      h.voxelCount === voxelCount(info);
    return same ? h : null;
  }
}

function damaged(path: string, why: string): DelineateError {
  return new DelineateError('INPUT', `The autosave ${path} is damaged: ${why}. Discard it to go on.`, { subject: path });
}
