/**
 * Segmentation state of the workstation (issue 5): the labelmap of the shown volume, its segment table
 * (name, colour, visibility, lock), per-segment statistics, the brush tools with undo/redo by deltas, and
 * opening/saving segmentation files. Models and runs are in ./models.svelte.ts.
 *
 * The labels live here, in the renderer, as one uint8/uint16 array on the grid of the shown volume (LPS, i fastest):
 * brush strokes edit them in place through main/common/edit (pure, no DOM) and keep the change as an
 * {@link EditDelta} for undo; the compute side only sees them when saving, computing statistics or autosaving.
 *
 * Autosave: unsaved work (edits, a model result) is sent to the compute side's autosave ('autosave.write', one file
 * per series under the user-data folder) 30 s after the last edit and at once every 20 edits
 * ({@link AutosaveScheduler}); an explicit save removes it. Showing a series that has an autosave offers to recover
 * it ({@link SegmentationState.recovery}). The model's uncertainty map (uint8 normalised entropy, 1 byte per voxel,
 * never the float32 probabilities) is kept with the labels of a model result and drawn on demand.
 */
import type { SegmentationData, SegmentationEditOp, SegmentationFormatName, SegmentStatisticsRow } from '../../../main/common/api';
import { AutosaveScheduler } from '../../../main/common/autosave';
import { type IntensityRange, paintDisc, paintSphere } from '../../../main/common/edit/brush';
import { keepLargestIsland, removeSmallIslands } from '../../../main/common/edit/islands';
import { deleteSegment, mergeSegments } from '../../../main/common/edit/segments';
import { applyDelta, composeDeltas, type EditDelta, revertDelta } from '../../../main/common/edit/delta';
import { DelineateError } from '../../../main/common/errors';
import type { LayeredSegment } from '../../../main/common/segmentation';
import type { Grid, Vec3 } from '../../../main/common/volume';
import { closestIndexAxis, dot, type Orientation, screenToView, viewToLps } from '../viewer/geometry';
import type { Workstation } from './workstation.svelte.ts';

/** A row of the segment table. */
export interface SegmentRow extends LayeredSegment {
  visible: boolean;
  locked: boolean;
}

/** Editing tools: paint, erase, or paint only voxels whose intensity is in the threshold range. */
export type Tool = 'none' | 'brush' | 'erase' | 'threshold';

/** One undo step: the voxels it changed and, for a merge, the segment rows it removed from the table. */
interface HistoryEntry {
  delta: EditDelta;
  removedRows?: SegmentRow[];
}

/** A recoverable autosave of the series on screen (see 'autosave.find'). */
export interface RecoveryOffer {
  volumeId: string;
  savedAtMs: number;
  origin: string;
  segmentCount: number;
  labelledVoxels: number;
  /** Set when the autosave is damaged: it can only be discarded. */
  problem?: string;
}

/** Extra fields of a model run's result that {@link SegmentationState.set} looks at. */
interface ModelResultExtras {
  networkRuns?: number;
  uncertainty?: Uint8Array;
  notes?: string[];
}

/** Undo entries kept (each a delta of one stroke or one whole-map change). */
export const MAX_UNDO = 100;

/** Format → file name ending. */
export const FORMAT_EXTENSION: Record<SegmentationFormatName, string> = { labelmap: '.nii.gz', 'slicer-seg': '.seg.nrrd', 'dicom-seg': '.dcm' };

const PALETTE: [number, number, number][] = [
  [230, 80, 80],
  [80, 200, 120],
  [90, 140, 240],
  [240, 200, 60],
  [200, 90, 220],
  [60, 210, 220],
];

export class SegmentationState {
  /** Volume id whose grid the labels are on (null: no segmentation). */
  volumeId = $state<string | null>(null);
  segments = $state<SegmentRow[]>([]);
  /** Bumped on every change of the voxels (views redraw on it). */
  version = $state(0);
  stats = $state.raw<SegmentStatisticsRow[]>([]);
  statsPending = $state(false);
  /** Where the segmentation came from ("brain-tumour-t1c", a file path). */
  origin = $state('');
  warnings = $state.raw<string[]>([]);
  dirty = $state(false);

  tool = $state<Tool>('none');
  brushMm = $state(5);
  /** Brush shape: a disc in the view plane (2D) or a ball (3D). */
  brushShape = $state<'disc' | 'sphere'>('disc');
  /** Islands smaller than this (voxels) are removed by {@link removeSmallIslands}. */
  minIslandVoxels = $state(50);
  activeValue = $state(1);
  opacity = $state(0.45);
  outline = $state(true);
  canUndo = $state(false);
  canRedo = $state(false);
  /** Last file written or read, per kind (shown, and read by the e2e test). */
  lastSaved = $state.raw<string[]>([]);
  busy = $state(false);
  /** Threshold brush range (image intensity, stored units; HU for CT). Defaults to the window/level's range. */
  thresholdLo = $state(0);
  thresholdHi = $state(0);
  /** Whether the user typed the range (otherwise it follows the window/level when the tool is picked). */
  thresholdCustom = $state(false);
  /** Segment values ticked for merging. */
  mergeSelection = $state<number[]>([]);
  /** An autosave of the series on screen, waiting for "Recover" or "Discard". */
  recovery = $state.raw<RecoveryOffer | null>(null);
  /** When the current segmentation was last autosaved (null: not since it was set or saved). */
  autosavedAtMs = $state<number | null>(null);
  /** The model's uncertainty (normalised entropy, 0–255 per voxel) for the current labels, if the run gave one. */
  uncertainty = $state.raw<Uint8Array | null>(null);
  showUncertainty = $state(false);

  /** The voxels (raw: never proxied; assignment is tracked, in-place edits bump {@link version}). */
  private labelsRaw = $state.raw<Uint8Array | Uint16Array | null>(null);
  private grid = $state.raw<Grid | null>(null);
  private undoStack: HistoryEntry[] = [];
  private redoStack: HistoryEntry[] = [];
  private stroke: EditDelta | null = null;
  private statsTimer: ReturnType<typeof setTimeout> | undefined;
  private statsSeq = 0;
  private recoverySeq = 0;
  private readonly autosaver = new AutosaveScheduler(
    () => this.flushAutosave(),
    (e) => this.ws.report(e),
  );

  constructor(private readonly ws: Workstation) {}

  get labels(): Uint8Array | Uint16Array | null {
    return this.labelsRaw;
  }

  /** Whether the segmentation belongs to the volume on screen (otherwise it is not drawn nor edited). */
  get shown(): boolean {
    return this.labelsRaw !== null && this.volumeId !== null && this.volumeId === this.ws.shownId && this.ws.viewer.loaded !== null;
  }

  get gridOf(): Grid | null {
    return this.grid;
  }

  get data(): SegmentationData | null {
    if (!this.labelsRaw) return null;
    return {
      dataType: this.labelsRaw instanceof Uint8Array ? 'uint8' : 'uint16',
      labels: this.labelsRaw,
      segments: this.segments.map(({ visible: _v, locked: _l, ...s }) => ({ ...$state.snapshot(s) }) as LayeredSegment),
    };
  }

  /**
   * Take a segmentation for the shown volume (model result, opened file, recovered autosave). Clears undo history.
   * A model result (it has `networkRuns`) counts as unsaved work (autosaved), and its uncertainty map is kept.
   * Unsaved work of the segmentation it replaces is autosaved first.
   */
  set(volumeId: string, data: SegmentationData & ModelResultExtras, origin: string, warnings: string[] = []): void {
    const v = this.ws.viewer.loaded?.volume;
    if (!v || this.ws.shownId !== volumeId) throw new DelineateError('USAGE', 'The segmentation is for a series that is no longer shown');
    const n = v.size[0] * v.size[1] * v.size[2];
    if (data.labels.length !== n) throw new DelineateError('GEOMETRY', `${origin}: ${data.labels.length} voxels for a ${v.size.join('×')} image`);
    if (this.dirty) void this.autosaver.flushNow(); // takes its copy of the old labels now
    this.autosaver.cancel();
    this.autosavedAtMs = null;
    const modelResult = typeof data.networkRuns === 'number';
    this.uncertainty = modelResult && data.uncertainty instanceof Uint8Array && data.uncertainty.length === n ? data.uncertainty : null;
    this.showUncertainty = false;
    this.mergeSelection = [];
    this.labelsRaw = data.labels;
    this.grid = { size: [...v.size], spacingMm: [...v.spacingMm], originMm: [...v.originMm], direction: [...v.direction] };
    this.volumeId = volumeId;
    this.segments = data.segments.map((s) => ({ ...s, visible: true, locked: false }));
    this.activeValue = this.segments[0]?.value ?? 1;
    this.origin = origin;
    this.warnings = modelResult && data.notes ? [...warnings, ...data.notes] : warnings;
    this.undoStack = [];
    this.redoStack = [];
    this.stroke = null;
    this.syncUndo();
    this.dirty = modelResult;
    if (modelResult) this.autosaver.noteEdit();
    this.version++;
    void this.refreshStats();
  }

  /** An empty segmentation on the shown volume with one segment (to paint from scratch). */
  createEmpty(): void {
    const v = this.ws.viewer.loaded?.volume;
    const id = this.ws.shownId;
    if (!v || !id) return;
    this.set(id, { dataType: 'uint8', labels: new Uint8Array(v.size[0] * v.size[1] * v.size[2]), segments: [{ value: 1, name: 'Segment 1', color: PALETTE[0]!, layer: 0 }] }, 'new');
  }

  addSegment(): void {
    const value = Math.max(0, ...this.segments.map((s) => s.value)) + 1;
    if (value > (this.labelsRaw instanceof Uint16Array ? 65535 : 255)) return;
    this.segments = [...this.segments, { value, name: `Segment ${value}`, color: PALETTE[(value - 1) % PALETTE.length]!, layer: 0, visible: true, locked: false }];
    this.activeValue = value;
    this.markEdited();
  }

  setVisible(value: number, visible: boolean): void {
    this.segments = this.segments.map((s) => (s.value === value ? { ...s, visible } : s));
  }
  setLocked(value: number, locked: boolean): void {
    this.segments = this.segments.map((s) => (s.value === value ? { ...s, locked } : s));
  }
  rename(value: number, name: string): void {
    this.segments = this.segments.map((s) => (s.value === value ? { ...s, name } : s));
    this.markEdited();
  }
  recolor(value: number, hex: string): void {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    if (!m) return;
    const color: [number, number, number] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
    this.segments = this.segments.map((s) => (s.value === value ? { ...s, color } : s));
    this.markEdited();
  }

  /** A change of the segmentation that is not saved yet: mark it and let the autosave know. */
  private markEdited(): void {
    this.dirty = true;
    this.autosaver.noteEdit();
  }

  setTool(tool: Tool): void {
    if (tool !== 'none' && !this.labelsRaw && this.ws.viewer.loaded) this.createEmpty();
    this.tool = this.tool === tool ? 'none' : tool;
    if (this.tool === 'threshold' && !this.thresholdCustom) this.thresholdFromWindow();
  }

  /** Threshold range := the current window/level's range [center − width/2, center + width/2]. */
  thresholdFromWindow(): void {
    const { width, center } = this.ws.viewer.wl;
    this.thresholdLo = Math.round((center - width / 2) * 100) / 100;
    this.thresholdHi = Math.round((center + width / 2) * 100) / 100;
    this.thresholdCustom = false;
  }

  /** Set the threshold range (typed by the user); lo and hi are swapped when given the wrong way round. */
  setThreshold(lo: number, hi: number): void {
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return;
    this.thresholdLo = Math.min(lo, hi);
    this.thresholdHi = Math.max(lo, hi);
    this.thresholdCustom = true;
  }

  /** The image intensities the threshold brush tests (the shown volume, on the labels' grid). */
  private thresholdRange(): IntensityRange | undefined {
    if (this.tool !== 'threshold') return undefined;
    const image = this.ws.viewer.loaded?.volume.data;
    if (!image || !this.labelsRaw || image.length !== this.labelsRaw.length) return undefined;
    return { image, min: this.thresholdLo, max: this.thresholdHi };
  }

  /** Screen point (CSS px in view `o`) → LPS on the shown slice of that view. */
  private pointLps(o: Orientation, x: number, y: number): Vec3 | null {
    const viewer = this.ws.viewer;
    const sg = viewer.geometry?.[o];
    const cam = viewer.cameras[o];
    const size = viewer.sizes[o];
    if (!sg || !cam || size.h <= 0) return null;
    const { u, v } = screenToView(cam, size.w, size.h, x, y);
    return viewToLps(sg, u, v, dot(viewer.cursor, sg.basis.normal));
  }

  /**
   * One dab of the brush, eraser or threshold brush at CSS (x, y) of view `o` (a 2D disc of `brushMm` radius in
   * the index plane closest to the view, or a ball; the threshold brush paints only voxels whose image intensity
   * is in [thresholdLo, thresholdHi]; locked segments are never written). `first` starts a stroke (one undo step).
   */
  paintAt(o: Orientation, x: number, y: number, first: boolean): void {
    if (!this.shown || this.tool === 'none' || !this.grid || !this.labelsRaw) return;
    const p = this.pointLps(o, x, y);
    const sg = this.ws.viewer.geometry?.[o];
    if (!p || !sg) return;
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local argument of one edit, not state
    const locked = new Set(this.segments.filter((s) => s.locked).map((s) => s.value));
    const value = this.tool === 'erase' ? 0 : this.activeValue;
    if (value !== 0 && locked.has(value)) {
      if (first) this.ws.report(new DelineateError('INPUT', `Segment ${value} is locked; unlock it to paint`));
      return;
    }
    if (first) this.endStroke();
    const intensity = this.thresholdRange();
    const brush = { centersMm: [p], radiusMm: this.brushMm, value, locked, ...(intensity ? { intensity } : {}) };
    const delta =
      this.brushShape === 'sphere'
        ? paintSphere(this.labelsRaw, this.grid, brush)
        : paintDisc(this.labelsRaw, this.grid, { ...brush, axis: closestIndexAxis(this.grid, sg.basis.normal) as 0 | 1 | 2 });
    if (delta.voxelCount === 0) return;
    applyDelta(this.labelsRaw, delta);
    this.stroke = this.stroke ? composeDeltas(this.stroke, delta) : delta;
    this.version++;
  }

  private lockedValues(): Set<number> {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local argument of one edit, not state
    return new Set(this.segments.filter((s) => s.locked).map((s) => s.value));
  }

  /**
   * A whole-segment operation on the active segment, as one undo step: keep its largest island, remove its islands
   * under {@link minIslandVoxels}, or delete its voxels (26-connectivity; locked segments are refused/untouched).
   */
  segmentOperation(op: 'keep-largest' | 'remove-small' | 'delete'): void {
    if (!this.shown || !this.labelsRaw || !this.grid) return;
    this.endStroke();
    const opts = { locked: this.lockedValues() };
    const v = this.activeValue;
    try {
      const delta =
        op === 'keep-largest'
          ? keepLargestIsland(this.labelsRaw, this.grid, v, 26, opts)
          : op === 'remove-small'
            ? removeSmallIslands(this.labelsRaw, this.grid, v, Math.max(1, Math.round(this.minIslandVoxels)), 26, opts)
            : deleteSegment(this.labelsRaw, v, opts);
      if (delta.voxelCount === 0) return;
      applyDelta(this.labelsRaw, delta);
      this.stroke = delta;
      this.endStroke();
      this.version++;
    } catch (e) {
      this.ws.report(e);
    }
  }

  /**
   * A compute-side edit of the active segment (fill between slices along the index axis closest to the axial view
   * normal, median smoothing, closing with `brushMm`), as one undo step. The labels are not editable meanwhile.
   */
  async computeEdit(op: SegmentationEditOp): Promise<void> {
    const client = this.ws.backend?.client;
    const data = this.data;
    const grid = this.grid;
    if (!client || !data || !grid || !this.volumeId || !this.shown || this.busy) return;
    this.endStroke();
    const sg = this.ws.viewer.geometry?.axial;
    const axis = (sg ? closestIndexAxis(grid, sg.basis.normal) : 2) as 0 | 1 | 2;
    const labels = this.labelsRaw!;
    this.busy = true;
    const tool = this.tool;
    this.tool = 'none';
    try {
      const delta = await client.call('segmentation.edit', {
        volumeId: this.volumeId,
        op,
        value: this.activeValue,
        axis,
        radiusMm: Math.min(50, Math.max(0.5, this.brushMm)),
        locked: [...this.lockedValues()],
        ...data,
        labels: data.labels.slice(),
      });
      if (this.labelsRaw !== labels || delta.voxelCount === 0) return;
      applyDelta(labels, delta);
      this.stroke = delta;
      this.endStroke();
      this.version++;
    } catch (e) {
      this.ws.report(e);
    } finally {
      this.busy = false;
      this.tool = tool;
    }
  }

  /** Finish the current stroke: it becomes one undo step. */
  endStroke(): void {
    if (!this.stroke) return;
    this.pushHistory({ delta: this.stroke });
    this.stroke = null;
  }

  private pushHistory(entry: HistoryEntry): void {
    this.undoStack.push(entry);
    if (this.undoStack.length > MAX_UNDO) this.undoStack.shift();
    this.redoStack = [];
    this.markEdited();
    this.syncUndo();
    this.statsPending = true;
    this.scheduleStats();
  }

  /**
   * Merge the segments `values` (two or more) into one: the active segment when it is among them, else the first.
   * The others' voxels take its value and their rows leave the table; one undo step (undo brings the rows back).
   * Refused (banner) when any of them is locked.
   */
  mergeSegments(values: readonly number[] = this.mergeSelection): void {
    if (!this.shown || !this.labelsRaw) return;
    const chosen = values.filter((v, i) => values.indexOf(v) === i).filter((v) => this.segments.some((s) => s.value === v));
    if (chosen.length < 2) return;
    this.endStroke();
    const target = chosen.includes(this.activeValue) ? this.activeValue : chosen[0]!;
    const sources = chosen.filter((v) => v !== target);
    try {
      const delta = mergeSegments(this.labelsRaw, sources, target, { locked: this.lockedValues() });
      applyDelta(this.labelsRaw, delta);
      const removedRows = this.segments.filter((s) => sources.includes(s.value));
      this.segments = this.segments.filter((s) => !sources.includes(s.value));
      this.activeValue = target;
      this.mergeSelection = [];
      this.pushHistory({ delta, removedRows });
      this.version++;
    } catch (e) {
      this.ws.report(e);
    }
  }

  toggleMergeSelection(value: number, selected: boolean): void {
    const rest = this.mergeSelection.filter((v) => v !== value);
    this.mergeSelection = selected ? [...rest, value] : rest;
  }

  undo(): void {
    this.endStroke();
    const e = this.undoStack.pop();
    if (!e || !this.labelsRaw) return;
    revertDelta(this.labelsRaw, e.delta);
    if (e.removedRows) {
      const back = e.removedRows.filter((r) => !this.segments.some((s) => s.value === r.value));
      this.segments = [...this.segments, ...back].sort((a, b) => a.value - b.value);
    }
    this.redoStack.push(e);
    this.afterHistory();
  }

  redo(): void {
    this.endStroke();
    const e = this.redoStack.pop();
    if (!e || !this.labelsRaw) return;
    applyDelta(this.labelsRaw, e.delta);
    if (e.removedRows) {
      const gone = e.removedRows.map((r) => r.value);
      this.segments = this.segments.filter((s) => !gone.includes(s.value));
    }
    this.undoStack.push(e);
    this.afterHistory();
  }

  private afterHistory(): void {
    this.markEdited();
    this.statsPending = true;
    this.syncUndo();
    this.version++;
    this.scheduleStats();
  }

  private syncUndo(): void {
    this.canUndo = this.undoStack.length > 0 || this.stroke !== null;
    this.canRedo = this.redoStack.length > 0;
  }

  private scheduleStats(): void {
    clearTimeout(this.statsTimer);
    this.statsTimer = setTimeout(() => void this.refreshStats(), 300);
  }

  /** Recompute per-segment statistics on the compute side. */
  async refreshStats(): Promise<void> {
    const client = this.ws.backend?.client;
    const data = this.data;
    const volumeId = this.volumeId;
    if (!client || !data || !volumeId) return;
    const seq = ++this.statsSeq;
    this.statsPending = true;
    try {
      // Send a copy: the buffer is transferred and the brush keeps editing the original.
      const stats = await client.call('stats.compute', { volumeId, ...data, labels: data.labels.slice() });
      if (seq === this.statsSeq) this.stats = stats; // answers of older requests are dropped
    } catch (e) {
      this.ws.report(e);
    } finally {
      if (seq === this.statsSeq) this.statsPending = false;
    }
  }

  /** Volume (mL) of a segment from the last statistics. */
  volumeMl(value: number): number | undefined {
    return this.stats.find((s) => s.value === value)?.volumeMl;
  }

  /** Save as `format` at `base` + the format's extension (or `base` itself when it already ends so). */
  async save(format: SegmentationFormatName, base: string): Promise<void> {
    const client = this.ws.backend?.client;
    const data = this.data;
    if (!client || !data || !this.volumeId) return;
    const ext = FORMAT_EXTENSION[format];
    const trimmed = base.trim();
    const path = trimmed.toLowerCase().endsWith(ext) ? trimmed : `${trimmed.replace(/(\.seg\.nrrd|\.nii\.gz|\.nii|\.nrrd|\.dcm)$/i, '')}${ext}`;
    this.busy = true;
    try {
      const r = await client.call('segmentation.save', { volumeId: this.volumeId, path, format, ...data, labels: data.labels.slice() });
      this.lastSaved = r.paths;
      this.dirty = false;
      // The compute side removed the series' autosave with the save.
      this.autosaver.cancel();
      this.autosavedAtMs = null;
    } catch (e) {
      this.ws.report(e);
    } finally {
      this.busy = false;
    }
  }

  /** Open a segmentation file onto the shown volume. On failure nothing changes (the banner says why). */
  async open(path: string): Promise<void> {
    const client = this.ws.backend?.client;
    const volumeId = this.ws.shownId;
    if (!client || !volumeId) return;
    this.busy = true;
    try {
      const r = await client.call('segmentation.open', { volumeId, path: path.trim() });
      this.set(volumeId, r, path.trim(), r.warnings);
      this.lastSaved = [];
    } catch (e) {
      this.ws.report(e);
    } finally {
      this.busy = false;
    }
  }

  // ---- autosave and recovery ----

  /** Send the unsaved segmentation to the compute side's autosave (the labels are copied before the first await). */
  private flushAutosave(): Promise<void> {
    const client = this.ws.backend?.client;
    const data = this.data;
    const volumeId = this.volumeId;
    if (!client || !data || !volumeId || !this.dirty) return Promise.resolve();
    // An older autosave of this series awaits the user's decision: never overwrite it.
    if (this.recovery?.volumeId === volumeId) return Promise.resolve();
    const labels = data.labels.slice();
    const labelsRef = this.labelsRaw;
    return client.call('autosave.write', { volumeId, origin: this.origin, ...data, labels }).then((r) => {
      if (this.labelsRaw === labelsRef) this.autosavedAtMs = r.savedAtMs;
    });
  }

  /** Autosave now (pending edits only); resolves when written. */
  autosaveNow(): Promise<void> {
    return this.autosaver.flushNow();
  }

  /**
   * A series was shown: look for an autosave of it (newer than its last explicit save, which removes it) and offer
   * it, unless this window already holds that series' segmentation (then the autosave is its own).
   */
  async checkRecovery(volumeId: string | null): Promise<void> {
    const seq = ++this.recoverySeq;
    const client = this.ws.backend?.client;
    if (!volumeId || !client) {
      this.recovery = null;
      return;
    }
    if (this.recovery && this.recovery.volumeId !== volumeId) this.recovery = null;
    if (this.volumeId === volumeId && this.labelsRaw) return;
    try {
      const found = await client.call('autosave.find', { volumeId });
      if (seq !== this.recoverySeq || this.ws.shownId !== volumeId) return;
      this.recovery = found ? { volumeId, ...found } : null;
    } catch (e) {
      this.ws.report(e);
    }
  }

  /** "Recover": take the autosaved segmentation (unsaved: its autosave stays until an explicit save). */
  async recover(): Promise<void> {
    const offer = this.recovery;
    const client = this.ws.backend?.client;
    if (!offer || !client || offer.problem || this.ws.shownId !== offer.volumeId || this.busy) return;
    this.busy = true;
    try {
      const r = await client.call('autosave.recover', { volumeId: offer.volumeId });
      if (this.ws.shownId !== offer.volumeId) return;
      this.recovery = null;
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- formatting a time once, not state
      const when = new Date(r.savedAtMs).toLocaleString();
      this.set(offer.volumeId, { dataType: r.dataType, labels: r.labels, segments: r.segments }, `${r.origin || 'segmentation'} (recovered from the autosave of ${when})`);
      this.dirty = true;
      this.autosavedAtMs = r.savedAtMs;
    } catch (e) {
      this.ws.report(e);
    } finally {
      this.busy = false;
    }
  }

  /** "Discard": remove the autosave of the offered series. */
  async discardRecovery(): Promise<void> {
    const offer = this.recovery;
    const client = this.ws.backend?.client;
    if (!offer || !client) return;
    try {
      await client.call('autosave.discard', { volumeId: offer.volumeId });
      if (this.recovery === offer) this.recovery = null;
      // Edits made meanwhile on this series were held back from the autosave: send them now.
      if (this.dirty && this.volumeId === offer.volumeId) this.autosaver.noteEdit();
    } catch (e) {
      this.ws.report(e);
    }
  }
}
