/**
 * Application state of the workstation window: connection, open/scan/load flow, series browser, recent
 * items, progress and the error banner. The viewer's own state is {@link ViewerState}.
 */
import type { AppInfo, DirEntry, LoadedVolume, RecentItem } from '../../../main/common/api';
import { DelineateError, isCancelled, toDelineateError, type ErrorCode } from '../../../main/common/errors';
import { estimateEtaMs, type Progress } from '../../../main/common/progress';
import type { ScanResult, VolumeInfo } from '../../../main/common/volume';
import { connect, readDroppedFiles, type Backend } from '../api/client';
import { orientThumbnail, thumbnailTransform } from '../viewer/thumbnail';
import { ViewerState } from './viewer.svelte.ts';

/** One message in the error banner. */
export interface BannerError {
  id: number;
  code: ErrorCode;
  message: string;
  subject?: string;
}

/** A running job shown by the progress bar (`total` 0 = indeterminate). */
export interface ProgressInfo {
  label: string;
  done: number;
  total: number;
  detail?: string;
  /** Estimated time left (linear in units), once at least one unit is done. */
  etaMs?: number;
  cancel: () => void;
}

/** Progress of a job started at `startedAt` (performance.now()), with its ETA. */
function progressOf(label: string, startedAt: number, p: Progress, cancel: () => void): ProgressInfo {
  const out: ProgressInfo = { label, done: p.done, total: p.total, cancel };
  if (p.detail) out.detail = p.detail;
  const eta = estimateEtaMs(startedAt, performance.now(), p);
  if (eta !== undefined) out.etaMs = eta;
  return out;
}

export type Thumbnail =
  | { status: 'loading' }
  | { status: 'ready'; width: number; height: number; pixels: Uint8Array }
  | { status: 'failed'; message: string };

/** Web host's open dialog (a folder browser over `fs.list` plus a typed path). */
export interface PathDialogState {
  kind: 'file' | 'folder';
  dir: string;
  entries: DirEntry[];
  /** The typed/selected path that "Open" will scan. */
  typed: string;
  loading: boolean;
  error: string | null;
}

const THUMB_SIZE = 96;

export class Workstation {
  readonly viewer = new ViewerState();
  appInfo = $state.raw<AppInfo | null>(null);
  connected = $state(false);
  errors = $state<BannerError[]>([]);
  progress = $state.raw<ProgressInfo | null>(null);
  scan = $state.raw<ScanResult | null>(null);
  /** What the current scan was made of (path or "n dropped files"). */
  scanSource = $state('');
  recent = $state.raw<RecentItem[]>([]);
  thumbnails = $state.raw<Record<string, Thumbnail>>({});
  /** Volume shown in the viewer, and the one being loaded. */
  shownId = $state<string | null>(null);
  loadingId = $state<string | null>(null);
  pathDialog = $state<PathDialogState | null>(null);
  /** Durations of the last scan and load requests, ms (shown to developers and read by the e2e tests). */
  lastScanMs = $state<number | null>(null);
  lastLoadMs = $state<number | null>(null);

  readonly shownInfo: VolumeInfo | null = $derived(
    this.scan?.volumes.find((v) => v.id === this.shownId) ?? this.viewer.loaded?.info ?? null,
  );

  /** The connection (read by the segmentation and models state too). */
  backend: Backend | null = null;
  private nextErrorId = 1;
  private loadAbort: AbortController | null = null;

  /** Connect and fetch app info and recent items. Safe to call once at startup. */
  async start(): Promise<void> {
    try {
      this.backend = connect();
      // Electron menu: File → Open… / Open Recent arrive as commands with a path already chosen.
      this.backend.native?.onCommand((c) => {
        if (c.kind === 'open') void this.scanPath(c.path);
      });
      this.appInfo = await this.backend.client.call('app.info', {});
      this.connected = true;
      this.recent = await this.backend.client.call('recent.list', {});
    } catch (e) {
      this.report(e);
    }
  }

  get nativeDialogs(): boolean {
    return this.backend?.native !== null && this.backend?.native !== undefined;
  }

  report(e: unknown): void {
    if (isCancelled(e)) return;
    const err = toDelineateError(e);
    const entry: BannerError = { id: this.nextErrorId++, code: err.code, message: err.message };
    if (err.subject !== undefined) entry.subject = err.subject;
    this.errors = [...this.errors, entry].slice(-4);
  }

  dismissError(id: number): void {
    this.errors = this.errors.filter((e) => e.id !== id);
  }

  /** "Open file…" / "Open folder…": the native dialog in Electron, the path dialog in a browser. */
  async open(kind: 'file' | 'folder'): Promise<void> {
    const native = this.backend?.native;
    if (native) {
      try {
        const path = await native.openDialog(kind);
        if (path) await this.scanPath(path);
      } catch (e) {
        this.report(e);
      }
      return;
    }
    const start = this.appInfo?.dataRoot ?? '/';
    this.pathDialog = { kind, dir: start, entries: [], typed: start, loading: false, error: null };
    await this.browse(start);
  }

  /** List a folder in the path dialog. */
  async browse(dir: string): Promise<void> {
    const d = this.pathDialog;
    if (!d || !this.backend) return;
    d.loading = true;
    d.error = null;
    // Set the field now, not when the listing arrives, so that typing meanwhile is never overwritten.
    d.typed = dir;
    try {
      const entries = await this.backend.client.call('fs.list', { path: dir });
      entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
      if (this.pathDialog !== d) return;
      d.dir = dir;
      d.entries = entries;
    } catch (e) {
      const err = toDelineateError(e);
      d.error = `${err.code}: ${err.message}`;
    } finally {
      d.loading = false;
    }
  }

  closePathDialog(): void {
    this.pathDialog = null;
  }

  /** Scan what the path dialog points at. */
  async confirmPathDialog(path?: string): Promise<void> {
    const target = (path ?? this.pathDialog?.typed ?? '').trim();
    if (!target) return;
    this.pathDialog = null;
    await this.scanPath(target);
  }

  /** Scan a file or folder for volumes and list them; a single volume is shown right away. */
  async scanPath(path: string): Promise<void> {
    const client = this.backend?.client;
    if (!client) return;
    const abort = new AbortController();
    this.progress = { label: `Scanning ${path}`, done: 0, total: 0, cancel: () => abort.abort() };
    try {
      const started = performance.now();
      const result = await client.call('volumes.scan', { path }, {
        signal: abort.signal,
        onProgress: (p) => (this.progress = progressOf(`Scanning ${path}`, started, p, () => abort.abort())),
      });
      this.lastScanMs = performance.now() - started;
      this.progress = null;
      this.setScan(result, path);
      if (result.volumes.length > 0) {
        const label = result.volumes.length === 1 ? (result.volumes[0]!.description || baseName(path)) : baseName(path);
        client.call('recent.add', { path, label }).then((r) => (this.recent = r), (e: unknown) => this.report(e));
      }
    } catch (e) {
      this.progress = null;
      this.report(e);
    }
  }

  /** Drag-and-drop: paths in Electron, uploaded bytes in a browser. */
  async drop(dt: DataTransfer): Promise<void> {
    const backend = this.backend;
    if (!backend) return;
    if (backend.native) {
      const paths = Array.from(dt.files).map((f) => backend.native!.pathForFile(f)).filter((p) => p);
      if (paths.length === 0) return;
      if (paths.length === 1) return this.scanPath(paths[0]!);
      // Several items: scan each and merge.
      const merged: ScanResult = { volumes: [], skipped: [] };
      for (const p of paths) {
        try {
          const r = await backend.client.call('volumes.scan', { path: p });
          merged.volumes.push(...r.volumes);
          merged.skipped.push(...r.skipped);
        } catch (e) {
          this.report(e);
        }
      }
      this.setScan(merged, `${paths.length} dropped items`);
      return;
    }
    const abort = new AbortController();
    this.progress = { label: 'Reading dropped files', done: 0, total: 0, cancel: () => abort.abort() };
    try {
      const files = await readDroppedFiles(dt.items, dt.files);
      if (files.length === 0) throw new DelineateError('NOT_FOUND', 'Nothing to open: the drop contained no files');
      this.progress = { label: `Scanning ${files.length} dropped files`, done: 0, total: files.length, cancel: () => abort.abort() };
      const started = performance.now();
      const result = await backend.client.call('volumes.scanUpload', { files }, {
        signal: abort.signal,
        onProgress: (p) => (this.progress = progressOf(`Scanning ${files.length} dropped files`, started, p, () => abort.abort())),
      });
      this.progress = null;
      this.setScan(result, `${files.length} dropped file${files.length === 1 ? '' : 's'}`);
    } catch (e) {
      this.progress = null;
      this.report(e);
    }
  }

  /** Load a volume of the current scan into the viewer (cancels a load in flight). */
  async load(volumeId: string): Promise<void> {
    const client = this.backend?.client;
    if (!client) return;
    this.loadAbort?.abort();
    const abort = new AbortController();
    this.loadAbort = abort;
    const info = this.scan?.volumes.find((v) => v.id === volumeId);
    const label = `Loading ${info?.description || info?.source || volumeId}`;
    this.loadingId = volumeId;
    this.progress = { label, done: 0, total: 0, cancel: () => abort.abort() };
    try {
      const started = performance.now();
      const loaded: LoadedVolume = await client.call('volumes.load', { volumeId }, {
        signal: abort.signal,
        onProgress: (p) => {
          if (this.loadAbort === abort) this.progress = progressOf(label, started, p, () => abort.abort());
        },
      });
      if (this.loadAbort !== abort) return;
      this.lastLoadMs = performance.now() - started;
      this.viewer.setVolume(loaded);
      this.shownId = volumeId;
    } catch (e) {
      this.report(e);
    } finally {
      if (this.loadAbort === abort) {
        this.loadAbort = null;
        this.progress = null;
        this.loadingId = null;
      }
    }
  }

  /** Fetch a series thumbnail once (lazy, on first display). */
  async requestThumbnail(volumeId: string): Promise<void> {
    const client = this.backend?.client;
    if (!client || this.thumbnails[volumeId]) return;
    this.thumbnails = { ...this.thumbnails, [volumeId]: { status: 'loading' } };
    try {
      const raw = await client.call('volumes.thumbnail', { volumeId, maxSize: THUMB_SIZE });
      // Stored order → the radiological view of the closest patient plane, like the 2D views.
      const direction = this.scan?.volumes.find((v) => v.id === volumeId)?.direction;
      const t = direction ? orientThumbnail(raw, thumbnailTransform(direction)) : raw;
      this.thumbnails = { ...this.thumbnails, [volumeId]: { status: 'ready', ...t } };
    } catch (e) {
      this.thumbnails = { ...this.thumbnails, [volumeId]: { status: 'failed', message: toDelineateError(e).message } };
    }
  }

  private setScan(result: ScanResult, source: string): void {
    if (result.volumes.length === 0) {
      // Keep the current list and volume; say why nothing was found (the skip reason when there is one file).
      const first = result.skipped[0];
      const why =
        result.skipped.length === 1 && first
          ? `: ${first.reason}`
          : result.skipped.length > 1
            ? ` (${result.skipped.length} files skipped, e.g. ${baseName(first!.path)}: ${first!.reason})`
            : '';
      this.report(new DelineateError('NOT_FOUND', `No images found in ${source}${why}`, { subject: source }));
      return;
    }
    this.scan = result;
    this.scanSource = source;
    this.thumbnails = {};
    if (result.volumes.length === 1) void this.load(result.volumes[0]!.id);
  }
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}
