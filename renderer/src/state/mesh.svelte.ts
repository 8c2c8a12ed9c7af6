/**
 * Mesh state of the workstation (issues 5 and 6): the segment surfaces shown in the 3D view, rebuilt on the compute
 * side ('mesh.build') a moment after the labels change (edits, undo/redo, a model run, an opened file), and the
 * export dialog — segments, preset, options, a preview of exactly the meshes that will be written with their
 * metrics, and 'mesh.export' with progress and cancel.
 *
 * The surfaces are plain typed arrays (held raw, never proxied); the vtk actors that draw them live in
 * viewer/surfaces.ts, created by the components, never here.
 */
import { untrack } from 'svelte';
import type { DirEntry } from '../../../main/common/api';
import { isCancelled, toDelineateError } from '../../../main/common/errors';
import type { MeshFormat, MeshSpace } from '../../../main/common/mesh';
import type { MeshBuildOptions, MeshBuildResult, MeshExportResult, SegmentSurface } from '../../../main/common/mesh-service';
import type { Progress } from '../../../main/common/progress';
import type { SegmentationState } from './segmentation.svelte.ts';
import type { ViewerState } from './viewer.svelte.ts';
import type { Workstation } from './workstation.svelte.ts';

/**
 * Options of the 3D view's surfaces: Slicer's default smoothing, half the triangles removed (the view must stay
 * light in software WebGL; exports build their own meshes with the dialog's options).
 */
export const VIEW_MESH_OPTIONS: Required<Pick<MeshBuildOptions, 'smoothing' | 'decimate' | 'space'>> = { smoothing: 0.5, decimate: 0.5, space: 'LPS' };

/** Wait after the last change of the labels before rebuilding the view's surfaces, ms. */
export const SURFACE_DEBOUNCE_MS = 800;

export type MeshPresetId = 'print' | 'planning' | 'preview';

/** An export preset: the options it sets and why (shown as the preset's tooltip). */
export interface MeshPreset {
  id: MeshPresetId;
  label: string;
  smoothing: number;
  decimate: number;
  format: MeshFormat;
  ascii: boolean;
  merge: boolean;
  space: MeshSpace;
  why: string;
}

export const MESH_PRESETS: readonly MeshPreset[] = [
  {
    id: 'print',
    label: '3D printing',
    smoothing: 0.5,
    decimate: 0,
    format: 'stl',
    ascii: false,
    merge: false,
    space: 'LPS',
    why:
      'Smoothing 0.5 (3D Slicer default: no voxel staircase, volume restored to the labelmap), no decimation (every ' +
      'detail kept), binary STL (what slicers read), one file per segment (each part printed in its own material or ' +
      'colour), LPS mm (true size; printers ignore the frame).',
  },
  {
    id: 'planning',
    label: 'Planning software',
    smoothing: 0.5,
    decimate: 0.5,
    format: 'stl',
    ascii: false,
    merge: false,
    space: 'LPS',
    why:
      'Smoothing 0.5, half the triangles removed (topology kept, error under half a voxel: lighter files that ' +
      'planning tools move smoothly), binary STL (or OBJ, which keeps normals), one file per segment. LPS mm is the ' +
      'DICOM/ITK frame the images use; choose RAS for tools that expect RAS (3D Slicer models, FreeSurfer).',
  },
  {
    id: 'preview',
    label: 'Fast preview',
    smoothing: 0.2,
    decimate: 0.8,
    format: 'ply',
    ascii: false,
    merge: true,
    space: 'LPS',
    why:
      'Light smoothing 0.2 and 80 % of the triangles removed: quick to build and small to send. One merged binary ' +
      'PLY that keeps each segment’s colour, for a look in a mesh viewer — not for measurement or printing.',
  },
];

/** The mesh state of a viewer (one per workstation window). */
class Registry {
  current = $state.raw<MeshState | null>(null);
}
const registry = new Registry();

/** The mesh state of this workstation, created on first use (by the segment panel's export button). */
export function meshStateFor(ws: Workstation, seg: SegmentationState): MeshState {
  const cur = registry.current;
  if (cur && cur.ws === ws && cur.seg === seg) return cur;
  cur?.dispose();
  const next = new MeshState(ws, seg);
  registry.current = next;
  return next;
}

/** The mesh state attached to `viewer` (reactive: null until the segment panel has created it). */
export function meshStateOf(viewer: ViewerState): MeshState | null {
  const cur = registry.current;
  return cur && cur.ws.viewer === viewer ? cur : null;
}

export class MeshState {
  /** The 3D view's "Surfaces" switch. */
  surfacesOn = $state(true);
  /** Surfaces of the view (LPS mm, {@link VIEW_MESH_OPTIONS}); empty when there is no segmentation shown. */
  surfaces = $state.raw<SegmentSurface[]>([]);
  /** Labels version the surfaces were built from (-1: none). */
  surfacesVersion = $state(-1);
  /** Volume id of the segmentation the surfaces were built from. */
  private surfacesOf: string | null = null;
  viewBuilding = $state(false);

  // ---- export dialog
  dialogOpen = $state(false);
  preset = $state<MeshPresetId | 'custom'>('print');
  /** Segment values to export. */
  selected = $state<number[]>([]);
  smoothing = $state(0.5);
  decimate = $state(0);
  format = $state<MeshFormat>('stl');
  ascii = $state(false);
  space = $state<MeshSpace>('LPS');
  merge = $state(false);
  outputDir = $state('');
  /** Folder browser of the web host (null: closed). */
  browse = $state<{ dir: string; entries: DirEntry[]; error: string | null } | null>(null);
  preview = $state.raw<MeshBuildResult | null>(null);
  previewKey = $state('');
  /** What the dialog is doing, with progress. */
  busy = $state<'preview' | 'export' | null>(null);
  progress = $state.raw<Progress | null>(null);
  exported = $state.raw<MeshExportResult | null>(null);
  dialogError = $state<string | null>(null);

  private viewTimer: ReturnType<typeof setTimeout> | undefined;
  private viewAbort: AbortController | null = null;
  private viewSeq = 0;
  private dialogAbort: AbortController | null = null;
  private readonly disposeEffects: () => void;

  constructor(
    readonly ws: Workstation,
    readonly seg: SegmentationState,
  ) {
    this.disposeEffects = $effect.root(() => {
      $effect(() => {
        // Rebuild the view's surfaces when the voxels, the series or the switch change.
        const shown = this.seg.shown;
        void this.seg.version;
        void this.seg.volumeId;
        const on = this.surfacesOn;
        untrack(() => this.scheduleView(shown, on));
      });
    });
  }

  /** Options the export dialog would build with now. */
  get exportOptions(): MeshBuildOptions & { values: number[] } {
    return { values: [...this.selected].sort((a, b) => a - b), smoothing: this.smoothing, decimate: this.decimate, space: this.space };
  }

  /** Identity of what a preview shows: the labels' version, the segment table and the options. */
  get currentKey(): string {
    return JSON.stringify([this.seg.volumeId, this.seg.version, this.seg.segments.map((s) => [s.value, s.name, s.color]), this.exportOptions]);
  }

  /** Whether the preview shows exactly what Export would write now. */
  get previewCurrent(): boolean {
    return this.preview !== null && this.previewKey === this.currentKey;
  }

  dispose(): void {
    this.disposeEffects();
    clearTimeout(this.viewTimer);
    this.viewAbort?.abort();
    this.dialogAbort?.abort();
  }

  // ---- 3D view surfaces ------------------------------------------------------------------------------------------

  /**
   * Labels changed (or the switch, or the series): no segmentation → drop the surfaces; switch off → stop building
   * (keep what was built); already built for this version → nothing; otherwise build, debounced.
   */
  private scheduleView(shown: boolean, on: boolean): void {
    clearTimeout(this.viewTimer);
    this.viewAbort?.abort();
    this.viewAbort = null;
    this.viewSeq++;
    this.viewBuilding = false;
    if (!shown) {
      this.surfaces = [];
      this.surfacesVersion = -1;
      this.surfacesOf = null;
      return;
    }
    if (!on || (this.surfacesVersion === this.seg.version && this.surfacesOf === this.seg.volumeId)) return;
    // A fresh segmentation (model result, opened file) is built at once; edits are debounced.
    const delay = this.surfacesVersion === -1 || this.surfacesOf !== this.seg.volumeId ? 0 : SURFACE_DEBOUNCE_MS;
    this.viewTimer = setTimeout(() => void this.buildView(), delay);
  }

  /** Build the view's surfaces now (the latest request wins; older answers are dropped). */
  async buildView(): Promise<void> {
    const client = this.ws.backend?.client;
    const data = this.seg.data;
    const volumeId = this.seg.volumeId;
    if (!client || !data || !volumeId || !this.seg.shown) return;
    const version = this.seg.version;
    const seq = ++this.viewSeq;
    const abort = new AbortController();
    this.viewAbort = abort;
    this.viewBuilding = true;
    try {
      const values = data.segments.map((s) => s.value);
      if (values.length === 0) {
        this.surfaces = [];
        this.surfacesVersion = version;
        this.surfacesOf = volumeId;
        return;
      }
      // A copy: the brush keeps editing the original while the request is on its way.
      const r = await client.call('mesh.build', { volumeId, ...data, labels: data.labels.slice(), values, ...VIEW_MESH_OPTIONS }, { signal: abort.signal });
      if (seq !== this.viewSeq) return;
      this.surfaces = r.surfaces;
      this.surfacesVersion = version;
      this.surfacesOf = volumeId;
    } catch (e) {
      if (!isCancelled(e) && seq === this.viewSeq) this.ws.report(e);
    } finally {
      if (seq === this.viewSeq) {
        this.viewBuilding = false;
        this.viewAbort = null;
      }
    }
  }

  // ---- export dialog ---------------------------------------------------------------------------------------------

  openDialog(): void {
    if (!this.seg.shown) return;
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, not state
    const present = new Set(this.seg.stats.filter((s) => s.voxelCount > 0).map((s) => s.value));
    const visible = this.seg.segments.filter((s) => s.visible).map((s) => s.value);
    // Default: the visible segments that have voxels (all visible ones while statistics are pending).
    this.selected = present.size > 0 ? visible.filter((v) => present.has(v)) : visible;
    if (this.selected.length === 0) this.selected = this.seg.segments.map((s) => s.value);
    this.exported = null;
    this.dialogError = null;
    this.progress = null;
    this.dialogOpen = true;
    void this.runPreview();
  }

  closeDialog(): void {
    this.cancel();
    this.dialogOpen = false;
    this.browse = null;
    this.preview = null;
    this.previewKey = '';
  }

  applyPreset(id: MeshPresetId): void {
    const p = MESH_PRESETS.find((x) => x.id === id);
    if (!p) return;
    this.preset = id;
    this.smoothing = p.smoothing;
    this.decimate = p.decimate;
    this.format = p.format;
    this.ascii = p.ascii;
    this.merge = p.merge;
    this.space = p.space;
  }

  /** An option changed by hand: the preset no longer describes the settings when they differ from it. */
  optionChanged(): void {
    const p = MESH_PRESETS.find((x) => x.id === this.preset);
    if (p && (p.smoothing !== this.smoothing || p.decimate !== this.decimate || p.format !== this.format || p.ascii !== this.ascii || p.merge !== this.merge || p.space !== this.space)) this.preset = 'custom';
  }

  toggleSegment(value: number, on: boolean): void {
    const rest = this.selected.filter((v) => v !== value);
    this.selected = on ? [...rest, value] : rest;
  }

  cancel(): void {
    this.dialogAbort?.abort();
  }

  /**
   * Build the meshes the export would write, for the dialog's preview and metrics table (the compute side keeps
   * this build, and 'mesh.export' with the same labels and options writes it as is).
   */
  async runPreview(): Promise<'built' | 'cancelled' | 'failed'> {
    const client = this.ws.backend?.client;
    const data = this.seg.data;
    const volumeId = this.seg.volumeId;
    if (!client || !data || !volumeId || this.busy) return 'failed';
    if (this.selected.length === 0) {
      this.dialogError = 'Choose at least one segment.';
      return 'failed';
    }
    const key = this.currentKey;
    const abort = new AbortController();
    this.dialogAbort = abort;
    this.busy = 'preview';
    this.dialogError = null;
    this.progress = { stage: 'mesh', done: 0, total: this.selected.length };
    try {
      const r = await client.call('mesh.build', { volumeId, ...data, labels: data.labels.slice(), ...this.exportOptions }, { signal: abort.signal, onProgress: (p) => (this.progress = p) });
      if (!this.dialogOpen) return 'cancelled';
      this.preview = r;
      this.previewKey = key;
      return 'built';
    } catch (e) {
      if (isCancelled(e)) return 'cancelled';
      this.dialogError = messageOf(e);
      return 'failed';
    } finally {
      this.busy = null;
      this.progress = null;
      this.dialogAbort = null;
    }
  }

  /**
   * Write the meshes and the sidecar into {@link outputDir}. When the preview is out of date it is built first, so
   * what is written is always what the preview shows.
   */
  async runExport(): Promise<void> {
    const client = this.ws.backend?.client;
    const data = this.seg.data;
    const volumeId = this.seg.volumeId;
    if (!client || !data || !volumeId || this.busy) return;
    const outputDir = this.outputDir.trim();
    if (!outputDir) {
      this.dialogError = 'Choose an output folder (an absolute path on the machine that runs the compute side).';
      return;
    }
    if (this.selected.length === 0) {
      this.dialogError = 'Choose at least one segment.';
      return;
    }
    this.exported = null;
    if (!this.previewCurrent) {
      const built = await this.runPreview();
      if (built === 'cancelled') this.dialogError = 'Export cancelled; nothing was written.';
      if (built !== 'built') return;
    }
    const abort = new AbortController();
    this.dialogAbort = abort;
    this.busy = 'export';
    this.dialogError = null;
    this.exported = null;
    this.progress = { stage: 'mesh', done: 0, total: this.selected.length };
    try {
      this.exported = await client.call(
        'mesh.export',
        { volumeId, ...data, labels: data.labels.slice(), ...this.exportOptions, outputDir, format: this.format, ascii: this.ascii, merge: this.merge },
        { signal: abort.signal, onProgress: (p) => (this.progress = p) },
      );
    } catch (e) {
      this.dialogError = isCancelled(e) ? 'Export cancelled; nothing was written.' : messageOf(e);
    } finally {
      this.busy = null;
      this.progress = null;
      this.dialogAbort = null;
    }
  }

  /** Choose the output folder: the native dialog in Electron, a folder browser over 'fs.list' in a browser. */
  async chooseFolder(): Promise<void> {
    const native = this.ws.backend?.native;
    if (native) {
      try {
        const path = await native.openDialog('folder');
        if (path) this.outputDir = path;
      } catch (e) {
        this.dialogError = messageOf(e);
      }
      return;
    }
    const start = this.outputDir.trim() || this.ws.appInfo?.dataRoot || '/';
    await this.browseTo(start);
  }

  /** List a folder in the browser (folders only). */
  async browseTo(dir: string): Promise<void> {
    const client = this.ws.backend?.client;
    if (!client) return;
    try {
      const entries = (await client.call('fs.list', { path: dir })).filter((e) => e.kind === 'dir');
      this.browse = { dir, entries, error: null };
    } catch (e) {
      this.browse = { dir, entries: [], error: messageOf(e) };
    }
  }

  /** Use the browsed folder as the output folder. */
  pickBrowsed(): void {
    if (this.browse) this.outputDir = this.browse.dir;
    this.browse = null;
  }
}

function messageOf(e: unknown): string {
  const err = toDelineateError(e);
  return `${err.code}: ${err.message}`;
}
