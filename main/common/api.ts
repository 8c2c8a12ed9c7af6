/**
 * The service contract between the renderer and the compute side. One contract, two transports:
 * Electron IPC (renderer → preload → main → compute utilityProcess) and the loopback WebSocket of the web host
 * (renderer in a browser → host → compute worker). Both carry the same {@link RpcMessage}s (see ./rpc).
 *
 * Every method is a request with typed params and result; long ones report {@link Progress} and can be
 * cancelled. Voxel buffers travel as ArrayBuffers (transferred, never JSON-encoded).
 */
import type { MeshBuildOptions, MeshBuildResult, MeshExportOptions, MeshExportResult } from './mesh-service';
import type { Progress } from './progress';
import type { LayeredSegment } from './segmentation';
import type { ScanResult, Vec3, Volume, VolumeInfo } from './volume';

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

/** One model of the registry as the models panel shows it (bundled or the user's models folder). */
export interface ModelInfo {
  id: string;
  name: string;
  version: string;
  description: string;
  source: 'bundled' | 'user';
  /** Whether the manifest is valid and every fold file exists; `problems` says why not. */
  available: boolean;
  problems?: string[];
  dimensionality?: string;
  /** Input channels in network order, with the modality each expects ("MR", "CT"; informational). */
  channels: { name: string; modality: string }[];
  /** Output labels (value 0 = background is not listed). Colour sRGB 0–255 where the manifest gives one. */
  labels: { value: number; name: string; color?: [number, number, number] }[];
  folds: number[];
  /** Number of tensor axes mirrored by test-time augmentation (accurate preset: 2^n network runs per tile). */
  mirrorAxes: number;
  /** Network patch (tensor order, voxels) and target spacing (tensor order, mm). */
  patchSize?: number[];
  targetSpacingMm?: number[];
  /** MODEL_CARD.md text (first 64 kB), '' when the folder has none. */
  card: string;
}

/**
 * Run presets: `fast` = no mirroring TTA and fold 0 only (1 network run per tile); `accurate` = TTA over the
 * manifest's mirror axes and all folds (folds × 2^axes runs per tile).
 */
export type SegmentPreset = 'fast' | 'accurate';

/** A one-layer segmentation on the grid of a scanned volume (LPS, i fastest; `labels.length` = voxel count). */
export interface SegmentationData {
  dataType: 'uint8' | 'uint16';
  labels: Uint8Array | Uint16Array;
  /** Segment table (all in layer 0). */
  segments: LayeredSegment[];
}

/** Per-segment statistics: `delineate stats --json`, the `stats.compute` method and main/core/stats. */
export interface SegmentStatisticsRow {
  /** Label value. */
  value: number;
  /** Segment name, when a segment table was given. */
  name?: string;
  voxelCount: number;
  /** voxelCount × voxel volume (spacing product), in mL. */
  volumeMl: number;
  /**
   * Image intensities inside the segment, in the image's stored units (Hounsfield units for CT as read, after
   * the file's rescale). `sd` is the population standard deviation (divisor n, as NumPy's default).
   * Absent without an image or for an empty segment.
   */
  intensity?: { mean: number; sd: number; min: number; max: number };
  /** Inclusive voxel-index bounding box [i, j, k]; absent for an empty segment. */
  bboxIjk?: { min: Vec3; max: Vec3 };
  /**
   * Axis-aligned LPS bounding box (mm) of the voxel centres of `bboxIjk`'s eight corners (for an oblique grid
   * this encloses the rotated index box). Absent for an empty segment.
   */
  bboxLpsMm?: { min: Vec3; max: Vec3 };
  /** Mean LPS position (mm) of the segment's voxel centres; absent for an empty segment. */
  centroidLpsMm?: Vec3;
}

/** Whole-volume edits run by the compute side (see 'segmentation.edit'). */
export type SegmentationEditOp = 'fill-between-slices' | 'median' | 'closing';

/** Segmentation file formats: labelmap (.nii.gz/.nii/.nrrd + `.segments.json` sidecar), Slicer `.seg.nrrd`, DICOM SEG. */
export type SegmentationFormatName = 'labelmap' | 'slicer-seg' | 'dicom-seg';

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
  /** Bundled and user models, and the inference devices present on this machine ('cpu' always). */
  'models.list': { params: Record<string, never>; result: { models: ModelInfo[]; devices: string[] } };
  /**
   * Run a model on scanned volumes (one per model channel, in channel order, all on the grid of the first).
   * Progress: stage 'inference' in tiles (also 'load', 'preprocess'). Cancellable between tiles.
   * The labels are on the grid of `volumeIds[0]`.
   */
  'segment.run': {
    params: { modelId: string; volumeIds: string[]; device: string; preset: SegmentPreset; uncertainty?: boolean };
    result: SegmentationData & {
      device: string;
      tiles: number;
      networkRuns: number;
      seconds: number;
      /**
       * Unless `uncertainty: false`: per voxel of the labels' grid, the normalised entropy of the model's
       * probabilities quantised to 0–255 (main/common/uncertainty.ts). Absent when the model's probabilities would
       * not fit the memory budget; `notes` then says why.
       */
      uncertainty?: Uint8Array;
      notes?: string[];
    };
  };
  /**
   * Open a segmentation file onto the grid of a scanned volume (labelmap: same grid; .seg.nrrd: same grid or a
   * crop of it; DICOM SEG: must reference that series). Overlapping segments are refused (INPUT).
   */
  'segmentation.open': {
    params: { volumeId: string; path: string };
    result: SegmentationData & { format: SegmentationFormatName; warnings: string[] };
  };
  /** Save a segmentation of a scanned volume (atomic; DICOM SEG only for DICOM series). Returns the files written. */
  'segmentation.save': {
    params: SegmentationData & { volumeId: string; path: string; format: SegmentationFormatName };
    result: { paths: string[] };
  };
  /**
   * A whole-volume edit that runs on the compute side (wasm or heavy morphology) on a labelmap of a scanned
   * volume's grid; returns the change as an undo delta (runs of voxel indices with old/new values, as
   * main/common/edit/delta `EditDelta`) — the labels sent are not kept. `locked` values are never overwritten.
   * Ops: 'fill-between-slices' (segment `value`, slices stacked along index `axis`), 'median' (3×3×3 majority of
   * segment `value`), 'closing' (of segment `value` with a ball of `radiusMm`).
   */
  'segmentation.edit': {
    params: SegmentationData & { volumeId: string; op: SegmentationEditOp; value: number; axis?: 0 | 1 | 2; radiusMm?: number; locked: number[] };
    result: { starts: Uint32Array; lengths: Uint32Array; oldValues: Uint16Array; newValues: Uint16Array; voxelCount: number };
  };
  // ---- autosave and crash recovery (issue 5): main/compute/autosave.ts, files in <userDataDir>/autosave/
  /**
   * Autosave the unsaved segmentation of a scanned volume (replaces the previous autosave of that series
   * atomically; the source images are never written). `origin` says where it came from (shown on recovery).
   */
  'autosave.write': {
    params: SegmentationData & { volumeId: string; origin: string };
    result: { savedAtMs: number };
  };
  /**
   * Whether the series of a scanned volume has an autosave (one exists only when it is newer than the last explicit
   * save: `segmentation.save` removes it). `problem` is set when the file is damaged (then only discard it).
   */
  'autosave.find': {
    params: { volumeId: string };
    result: { savedAtMs: number; origin: string; segmentCount: number; labelledVoxels: number; problem?: string } | null;
  };
  /** Read the autosave of a scanned volume's series back, voxel for voxel (NOT_FOUND when there is none). */
  'autosave.recover': {
    params: { volumeId: string };
    result: SegmentationData & { savedAtMs: number; origin: string };
  };
  /** Remove the autosave of a scanned volume's series; `discarded` says whether there was one. */
  'autosave.discard': { params: { volumeId: string }; result: { discarded: boolean } };
  /** Per-segment statistics of a labelmap on the grid of a scanned volume, with that volume's intensities. */
  'stats.compute': {
    params: SegmentationData & { volumeId: string };
    result: SegmentStatisticsRow[];
  };
  // ---- mesh (issue 6; surfaces in the 3D view, issue 5): types in ./mesh-service, implementation compute/service-mesh.ts
  /**
   * Surfaces of the segments of a labelmap on the grid of a scanned volume (main/core/mesh meshSegments): per
   * segment Float32 positions (mm, LPS by default), outward normals, Uint32 triangles and metrics.
   * Progress: stage 'mesh' in segments. Cancellable between steps.
   */
  'mesh.build': { params: SegmentationData & { volumeId: string } & MeshBuildOptions; result: MeshBuildResult };
  /** Write the segments' meshes (STL/OBJ/PLY, per segment or merged) and the sidecar JSON into a folder, atomically. */
  'mesh.export': { params: SegmentationData & { volumeId: string } & MeshExportOptions; result: MeshExportResult };
  // ---- models panel time estimate (issue 5): implementation compute/service-models.ts
  /**
   * How long `segment.run` with the same params would take on this machine, before running it: the exact tile
   * count of the engine for these inputs (reads the voxels when the model crops to the non-zero region) times the
   * preset's network runs per tile, times one network run on a zero patch timed on `device` (session creation not
   * counted; cached per model, fold file and device in the compute process).
   */
  'models.estimate': { params: { modelId: string; volumeIds: string[]; device: string; preset: SegmentPreset }; result: ModelEstimate };
}

/** Result of 'models.estimate'. Seconds are wall-clock on this machine. */
export interface ModelEstimate {
  /** The device the network was timed on (`auto` resolved). */
  device: string;
  /** Sliding-window tiles of the run (= `segment.run`'s `tiles` for the same inputs). */
  tiles: number;
  /** tiles × mirror variants (preset accurate: 2^axes) × folds (fast: 1). */
  networkRuns: number;
  /** One network run on one patch, seconds (mean over the preset's fold files). */
  secondsPerRun: number;
  /** networkRuns × secondsPerRun: the network time of the run (preprocessing and export not counted). */
  estimatedSeconds: number;
  /** `calibrated`: from a network run timed on this machine. */
  basis: 'calibrated';
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

/** The segment panel's native save dialog (Electron): the format to save and a suggested file name (no folders). */
export interface SaveDialogRequest {
  format: SegmentationFormatName;
  defaultName?: string;
}

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
  /** Native save dialog for a segmentation; resolves to the chosen absolute path (with the format's ending) or null. */
  saveDialog(request: SaveDialogRequest): Promise<string | null>;
  /** Absolute path of a dropped File (Electron's webUtils.getPathForFile); '' when the file has no path. */
  pathForFile(file: unknown): string;
  /** Menu commands from the shell (File → Open…, Recent). Returns an unsubscribe function. */
  onCommand(listener: (command: ShellCommand) => void): () => void;
}
