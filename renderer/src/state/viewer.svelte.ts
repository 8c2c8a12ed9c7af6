/**
 * State of the 2×2 viewer: the loaded volume, the linked cursor (crosshair) in LPS mm, window/level, the 2D
 * cameras and the 3D preset. Svelte 5 runes hold what the UI shows; vtk objects (image data, views) live in
 * plain private fields — never in reactive state — and are `.delete()`d when replaced or on {@link destroy}.
 *
 * Rendering is on demand and coalesced: every change marks the affected views dirty and one animation frame
 * renders them (a burst of wheel events costs one render per frame; the 3D view renders only when the volume,
 * its preset or its size change, or while the user rotates it).
 */
import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import type { LoadedVolume } from '../../../main/common/api';
import { lpsToIjk, transformPoint } from '../../../main/common/geometry';
import type { Vec3 } from '../../../main/common/volume';
import {
  ORIENTATIONS,
  type Camera2D,
  type EdgeLabels,
  type Orientation,
  type SliceGeometry,
  add,
  cornerPoints,
  dot,
  edgeLabels,
  fitCamera,
  gridCenter,
  lpsToView,
  positionLabel,
  scale,
  screenToView,
  sliceGeometry,
  sliceIndexOf,
  slicePosition,
  sub,
  viewBasis,
  viewToLps,
  viewToScreen,
} from '../viewer/geometry';
import { createImageData } from '../viewer/imageData';
import { ResliceSampler } from '../viewer/reslice';
import {
  WL_PRESETS,
  autoWindow,
  intensityStats,
  looksLikeCt,
  vrTransfer,
  type IntensityStats,
  type VrPresetId,
  type WindowLevel,
  type WlPresetId,
} from '../viewer/presets';
import { SliceView } from '../viewer/sliceView';
import { VolumeView } from '../viewer/volumeView';

export type { Orientation } from '../viewer/geometry';
export { ORIENTATIONS, WL_PRESETS };
export { VR_PRESETS } from '../viewer/presets';

/** What a 2D viewport shows besides the image: slice readout, crosshair, orientation labels. */
export interface SliceReadout {
  /** 1-based slice number and count along the view normal. */
  number: number;
  count: number;
  /** Position of the slice along its patient axis, e.g. "S 12.0 mm", "R 3.5 mm" (LPS coordinate, signed by letter). */
  position: string;
  /** Crosshair in CSS pixels from the viewport's top-left, or null before layout. */
  crosshair: { x: number; y: number } | null;
}

interface SliceSlot {
  view: SliceView;
  widthCss: number;
  heightCss: number;
}

export class ViewerState {
  /** The loaded volume (raw: voxel arrays are never proxied). */
  loaded = $state.raw<LoadedVolume | null>(null);
  geometry = $state.raw<Record<Orientation, SliceGeometry> | null>(null);
  stats = $state.raw<IntensityStats | null>(null);
  isCt = $state(false);
  /** Linked cursor, LPS mm. */
  cursor = $state.raw<Vec3>([0, 0, 0]);
  wl = $state.raw<WindowLevel>({ width: 400, center: 40 });
  wlPreset = $state<WlPresetId | 'custom'>('ct-soft');
  vrPreset = $state<VrPresetId>('ct-bone');
  /** 2D display: smooth (trilinear) or voxel-exact (nearest). */
  interpolation = $state<'linear' | 'nearest'>('linear');
  cameras = $state.raw<Record<Orientation, Camera2D | null>>({ axial: null, coronal: null, sagittal: null });
  /** Viewport CSS sizes (reactive: the crosshair positions depend on them). */
  sizes = $state.raw<Record<Orientation, { w: number; h: number }>>({
    axial: { w: 0, h: 0 },
    coronal: { w: 0, h: 0 },
    sagittal: { w: 0, h: 0 },
  });
  /** Whether the 3D view renders in software (coarse sampling, no shading). */
  software3d = $state(false);
  /** True while a render is scheduled and not yet drawn (the e2e tests wait on it). */
  renderPending = $state(false);

  /** Milliseconds from receiving the voxels to the first 2D slice / the first 3D frame drawn. */
  firstSliceMs = $state<number | null>(null);
  first3dMs = $state<number | null>(null);
  private shownAt = 0;

  readonly labels: Record<Orientation, EdgeLabels> = {
    axial: edgeLabels(viewBasis('axial')),
    coronal: edgeLabels(viewBasis('coronal')),
    sagittal: edgeLabels(viewBasis('sagittal')),
  };

  readonly readouts: Record<Orientation, SliceReadout | null> = $derived.by(() => {
    const out: Record<Orientation, SliceReadout | null> = { axial: null, coronal: null, sagittal: null };
    const g = this.geometry;
    if (!g) return out;
    for (const o of ORIENTATIONS) {
      const sg = g[o];
      const p = lpsToView(sg, this.cursor);
      const cam = this.cameras[o];
      const size = this.sizes[o];
      out[o] = {
        number: sliceIndexOf(sg, p.t) + 1,
        count: sg.count,
        position: positionLabel(sg.basis.normal, p.t),
        crosshair: cam && size.w > 0 ? viewToScreen(cam, size.w, size.h, p.u, p.v) : null,
      };
    }
    return out;
  });

  /** The voxel nearest to the cursor: its index (i, j, k) and stored value (HU for CT). */
  readonly cursorVoxel: { ijk: Vec3; value: number } | null = $derived.by(() => {
    const v = this.loaded?.volume;
    if (!v) return null;
    const p = transformPoint(lpsToIjk(v), this.cursor);
    const ijk = p.map(Math.round) as Vec3;
    if (ijk.some((x, a) => x < 0 || x >= v.size[a]!)) return null;
    return { ijk, value: v.data[ijk[0] + v.size[0] * (ijk[1] + v.size[1] * ijk[2])]! };
  });

  // vtk objects: plain fields, never reactive.
  private image: vtkImageData | null = null;
  private sampler: ResliceSampler | null = null;
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- holds vtk views, deliberately not reactive
  private readonly slots = new Map<Orientation, SliceSlot>();
  private volumeView: VolumeView | null = null;
  private volumeSize = { w: 0, h: 0 };
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- views that follow their viewport's size (not zoomed/panned)
  private readonly fitted = new Set<Orientation>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- render bookkeeping, deliberately not reactive
  private readonly dirty = new Set<Orientation | 'volume'>();
  private frame = 0;

  /** Show a newly loaded volume (replacing and deleting the previous one's vtk objects). */
  setVolume(loaded: LoadedVolume): void {
    this.shownAt = performance.now();
    this.firstSliceMs = null;
    this.first3dMs = null;
    const v = loaded.volume;
    const stats = intensityStats(v.data);
    const isCt = looksLikeCt(loaded.info.modality, stats);
    const geometry = {
      axial: sliceGeometry(v, 'axial'),
      coronal: sliceGeometry(v, 'coronal'),
      sagittal: sliceGeometry(v, 'sagittal'),
    };
    const oldImage = this.image;
    this.image = createImageData(v);
    this.sampler = new ResliceSampler(v);
    this.loaded = loaded;
    this.stats = stats;
    this.isCt = isCt;
    this.geometry = geometry;
    this.cameras = { axial: null, coronal: null, sagittal: null };
    for (const [o, slot] of this.slots) {
      slot.view.setVolume(this.sampler, geometry[o], stats.min);
      this.fit(o);
    }
    this.setCursor(gridCenter(v));
    this.applyWlPreset(isCt ? 'ct-soft' : 'auto');
    this.vrPreset = isCt ? 'ct-bone' : 'mr';
    this.attachVolumeToView();
    oldImage?.delete();
  }

  /** Move the linked cursor; it is snapped onto the nearest slice of each view so slices are never blended. */
  setCursor(p: Vec3): void {
    const g = this.geometry;
    if (!g) return;
    let q = p;
    for (const o of ORIENTATIONS) {
      const sg = g[o];
      const t = dot(q, sg.basis.normal);
      const snapped = slicePosition(sg, sliceIndexOf(sg, t));
      q = add(q, scale(sg.basis.normal, snapped - t));
    }
    // Keep the cursor inside the volume's bounding box in-plane too.
    const corners = cornerPoints(this.loaded!.volume);
    const lo = [0, 1, 2].map((a) => Math.min(...corners.map((c) => c[a]!)));
    const hi = [0, 1, 2].map((a) => Math.max(...corners.map((c) => c[a]!)));
    q = [0, 1, 2].map((a) => Math.min(hi[a]!, Math.max(lo[a]!, q[a]!))) as Vec3;
    this.cursor = q;
    for (const [o, slot] of this.slots) slot.view.setSlicePosition(dot(q, g[o].basis.normal));
    this.schedule(...ORIENTATIONS);
  }

  /** Step the slice of one view by `delta` slices (mouse wheel, arrow keys). */
  scrollSlice(o: Orientation, delta: number): void {
    const sg = this.geometry?.[o];
    if (!sg) return;
    const t = dot(this.cursor, sg.basis.normal);
    const next = slicePosition(sg, sliceIndexOf(sg, t) + delta);
    this.setCursor(add(this.cursor, scale(sg.basis.normal, next - t)));
  }

  /** Set the cursor from a click at CSS pixel (x, y) in a view (keeps that view's slice). */
  pointAt(o: Orientation, x: number, y: number): void {
    const sg = this.geometry?.[o];
    const cam = this.cameras[o];
    const size = this.sizes[o];
    if (!sg || !cam) return;
    const { u, v } = screenToView(cam, size.w, size.h, x, y);
    this.setCursor(viewToLps(sg, u, v, dot(this.cursor, sg.basis.normal)));
  }

  setWindowLevel(wl: WindowLevel, preset: WlPresetId | 'custom' = 'custom'): void {
    const minWidth = this.stats ? Math.max(1e-3, (this.stats.max - this.stats.min) / 1e4) : 1;
    this.wl = { width: Math.max(minWidth, wl.width), center: wl.center };
    this.wlPreset = preset;
    for (const slot of this.slots.values()) slot.view.setWindowLevel(this.wl);
    this.schedule(...ORIENTATIONS);
  }

  applyWlPreset(id: WlPresetId): void {
    const p = WL_PRESETS.find((x) => x.id === id);
    if (!p) return;
    const wl = p.wl ?? (this.stats ? autoWindow(this.stats) : { width: 400, center: 40 });
    this.setWindowLevel(wl, id);
  }

  /** Window/level drag: right = wider window, down = higher level (darker image). */
  dragWindowLevel(dxPx: number, dyPx: number): void {
    const s = this.stats;
    const perPx = s ? Math.max((s.p995 - s.p005) / 500, 1e-3) : 1;
    this.setWindowLevel({ width: this.wl.width + dxPx * perPx, center: this.wl.center + dyPx * perPx });
  }

  /** Zoom a view by `factor` (> 1 = closer) about its centre. */
  zoom(o: Orientation, factor: number): void {
    const cam = this.cameras[o];
    if (!cam) return;
    this.fitted.delete(o);
    this.setCamera(o, { ...cam, halfHeightMm: Math.min(1e5, Math.max(1, cam.halfHeightMm / factor)) });
  }

  /** Pan a view so the image follows the mouse by (dx, dy) CSS pixels. */
  pan(o: Orientation, dxPx: number, dyPx: number): void {
    const cam = this.cameras[o];
    const size = this.sizes[o];
    if (!cam || size.h <= 0) return;
    const mmPerPx = (2 * cam.halfHeightMm) / size.h;
    this.fitted.delete(o);
    this.setCamera(o, { ...cam, centerU: cam.centerU - dxPx * mmPerPx, centerV: cam.centerV + dyPx * mmPerPx });
  }

  /** Fit one 2D view to its viewport (double-click). */
  fitView(o: Orientation): void {
    this.fit(o);
  }

  /** Fit every 2D view and re-centre the cursor. */
  resetViews(): void {
    for (const o of ORIENTATIONS) this.fit(o);
    if (this.loaded) this.setCursor(gridCenter(this.loaded.volume));
    if (this.volumeView && this.loaded) {
      this.volumeView.resetCamera();
      this.schedule('volume');
    }
  }

  setInterpolation(mode: 'linear' | 'nearest'): void {
    this.interpolation = mode;
    for (const slot of this.slots.values()) slot.view.setInterpolation(mode);
    this.schedule(...ORIENTATIONS);
  }

  setVrPreset(id: VrPresetId): void {
    this.vrPreset = id;
    if (this.volumeView && this.stats) {
      this.volumeView.setTransfer(vrTransfer(id, this.stats));
      this.schedule('volume');
    }
  }

  /** Bind a 2D view to its container (called by the viewport component on mount). */
  attachSlice(o: Orientation, container: HTMLElement): void {
    this.detachSlice(o);
    const view = new SliceView(container);
    view.setInterpolation(this.interpolation);
    this.slots.set(o, { view, widthCss: 0, heightCss: 0 });
    if (this.sampler && this.geometry) {
      view.setVolume(this.sampler, this.geometry[o], this.stats?.min ?? 0);
      view.setSlicePosition(dot(this.cursor, this.geometry[o].basis.normal));
      view.setWindowLevel(this.wl);
    }
  }

  detachSlice(o: Orientation): void {
    const slot = this.slots.get(o);
    if (!slot) return;
    this.slots.delete(o);
    slot.view.delete();
  }

  resizeSlice(o: Orientation, widthCss: number, heightCss: number): void {
    const slot = this.slots.get(o);
    if (!slot || widthCss <= 0 || heightCss <= 0) return;
    const old = this.sizes[o];
    slot.widthCss = widthCss;
    slot.heightCss = heightCss;
    slot.view.resize(widthCss, heightCss);
    this.sizes = { ...this.sizes, [o]: { w: widthCss, h: heightCss } };
    const cam = this.cameras[o];
    if (!cam || this.fitted.has(o)) this.fit(o);
    else if (old.h > 0) {
      // Zoomed or panned by the user: keep the same mm per pixel when the viewport grows or shrinks.
      this.setCamera(o, { ...cam, halfHeightMm: (cam.halfHeightMm * heightCss) / old.h });
    } else this.setCamera(o, cam);
    this.schedule(o);
  }

  attachVolume(container: HTMLElement): void {
    this.detachVolume();
    this.volumeView = new VolumeView(container, 'coarse');
    this.software3d = this.volumeView.isSoftware();
    this.volumeView.setQuality(this.software3d ? 'coarse' : 'fine');
    this.attachVolumeToView();
  }

  detachVolume(): void {
    this.volumeView?.delete();
    this.volumeView = null;
  }

  resizeVolume(widthCss: number, heightCss: number): void {
    if (!this.volumeView || widthCss <= 0 || heightCss <= 0) return;
    this.volumeSize = { w: widthCss, h: heightCss };
    this.volumeView.resize(widthCss, heightCss);
    this.schedule('volume');
  }

  /** Delete every vtk object (viewer teardown). */
  destroy(): void {
    cancelAnimationFrame(this.frame);
    for (const o of ORIENTATIONS) this.detachSlice(o);
    this.detachVolume();
    this.image?.delete();
    this.image = null;
    this.sampler = null;
  }

  private attachVolumeToView(): void {
    const vv = this.volumeView;
    const loaded = this.loaded;
    if (!vv || !loaded || !this.image || !this.stats) return;
    const v = loaded.volume;
    const corners = cornerPoints(v);
    const diag = Math.hypot(...sub(corners[7]!, corners[0]!));
    vv.setVolume(this.image, diag, Math.min(...v.spacingMm), gridCenter(v));
    vv.setTransfer(vrTransfer(this.vrPreset, this.stats));
    if (this.volumeSize.w > 0) this.schedule('volume');
  }

  private fit(o: Orientation): void {
    const sg = this.geometry?.[o];
    const size = this.sizes[o];
    if (!sg || size.w <= 0) return;
    this.setCamera(o, fitCamera(sg, size.w, size.h));
    this.fitted.add(o);
  }

  private setCamera(o: Orientation, cam: Camera2D): void {
    this.cameras = { ...this.cameras, [o]: cam };
    this.slots.get(o)?.view.setCamera(cam);
    this.schedule(o);
  }

  private schedule(...targets: (Orientation | 'volume')[]): void {
    for (const t of targets) this.dirty.add(t);
    if (this.renderPending) return;
    this.renderPending = true;
    this.frame = requestAnimationFrame(() => {
      let targets = [...this.dirty];
      this.dirty.clear();
      // The 3D frame can take most of a second in software: draw the 2D views first and let the browser show
      // them, then draw the 3D view in the next frame.
      const deferVolume = targets.includes('volume') && targets.some((t) => t !== 'volume');
      if (deferVolume) targets = targets.filter((t) => t !== 'volume');
      try {
        for (const t of targets) {
          if (t === 'volume') {
            if (this.volumeView && this.loaded && this.volumeSize.w > 0) {
              this.volumeView.render();
              if (this.first3dMs === null) this.first3dMs = performance.now() - this.shownAt;
            }
          } else {
            const slot = this.slots.get(t);
            if (slot && slot.widthCss > 0) {
              slot.view.render();
              if (this.firstSliceMs === null && this.loaded) this.firstSliceMs = performance.now() - this.shownAt;
            }
          }
        }
      } finally {
        // A failed draw (lost WebGL context) must not block later renders.
        this.renderPending = false;
        if (deferVolume) this.schedule('volume');
      }
    });
  }
}
