/**
 * The service contract between the renderer and the compute side. One contract, two transports:
 * Electron IPC (renderer → preload → main → compute utilityProcess) and the loopback WebSocket of the web host
 * (renderer in a browser → host → compute worker). Both carry the same {@link RpcMessage}s (see ./rpc).
 *
 * Every method is a request with typed params and result; long ones report {@link Progress} and can be
 * cancelled. Voxel buffers travel as ArrayBuffers (transferred, never JSON-encoded).
 */
import type { Progress } from './progress';
import type { ScanResult, Volume, VolumeInfo } from './volume';

/** A file handed over by the renderer without a path (browser drag-and-drop into the web host). */
export interface UploadedFile {
  /** Relative path inside the dropped folder (or the file name). */
  name: string;
  bytes: ArrayBuffer;
}

export interface RecentItem {
  path: string;
  label: string;
  openedAt: number;
}

export interface AppInfo {
  name: 'Delineate';
  version: string;
  /** Which transport this renderer talks through. */
  transport: 'electron' | 'web';
  platform: string;
  /** Whether the host can show native open dialogs (Electron) or only accepts typed paths/uploads (web). */
  nativeDialogs: boolean;
  /** Data root configured for this host, offered as a starting folder in the open dialog. */
  dataRoot?: string;
}

/** A loaded volume: its description plus its voxels. */
export interface LoadedVolume {
  info: VolumeInfo;
  volume: Volume;
}

/** Entries of a folder listing (web host's path browser). */
export interface DirEntry {
  name: string;
  path: string;
  kind: 'file' | 'dir';
  sizeBytes?: number;
}

/**
 * Method name → params and result. Add methods here; both transports and the compute dispatcher are typed by it.
 */
export interface ServiceMethods {
  'app.info': { params: Record<string, never>; result: AppInfo };
  /** Scan a file or folder (recursive) for volumes. Progress unit: files. */
  'volumes.scan': { params: { path: string }; result: ScanResult };
  /** Scan files uploaded by the renderer (web host drag-and-drop). */
  'volumes.scanUpload': { params: { files: UploadedFile[] }; result: ScanResult };
  /** Read one volume found by a previous scan. Progress unit: slices/files. */
  'volumes.load': { params: { volumeId: string }; result: LoadedVolume };
  /** Small preview (middle slice along k, 8-bit grey, at most `maxSize` px on its long side). */
  'volumes.thumbnail': {
    params: { volumeId: string; maxSize: number };
    result: { width: number; height: number; pixels: Uint8Array };
  };
  'recent.list': { params: Record<string, never>; result: RecentItem[] };
  'recent.add': { params: { path: string; label: string }; result: RecentItem[] };
  /** List a folder (web host only; Electron uses native dialogs). */
  'fs.list': { params: { path: string }; result: DirEntry[] };
}

export type MethodName = keyof ServiceMethods;
export type ParamsOf<M extends MethodName> = ServiceMethods[M]['params'];
export type ResultOf<M extends MethodName> = ServiceMethods[M]['result'];

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** What the renderer calls. Implemented over IPC by the preload and over WebSocket for the web host. */
export interface ServiceClient {
  call<M extends MethodName>(method: M, params: ParamsOf<M>, options?: CallOptions): Promise<ResultOf<M>>;
}

/**
 * Commands the Electron shell sends to the renderer (menu items): the renderer acts on them as if the user had
 * asked in the window (e.g. `open` = scan that path and show it).
 */
export type ShellCommand = { kind: 'open'; path: string; what: 'file' | 'folder' | 'recent' };

/**
 * What the Electron preload exposes as `window.delineate`, besides service calls: native dialogs and
 * drop-path resolution, which only the shell can do.
 */
export interface DelineateBridge {
  /** Raw RPC channel: post an encoded message, receive encoded messages. */
  post(message: ArrayBuffer): void;
  onMessage(listener: (message: ArrayBuffer) => void): () => void;
  /** Native open dialog; resolves to the chosen path or null. */
  openDialog(kind: 'file' | 'folder'): Promise<string | null>;
  /** Absolute path of a dropped File (Electron's webUtils.getPathForFile); '' when the file has no path. */
  pathForFile(file: unknown): string;
  /** Menu commands from the shell (File → Open…, Recent). Returns an unsubscribe function. */
  onCommand(listener: (command: ShellCommand) => void): () => void;
}
