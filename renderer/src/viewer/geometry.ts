/**
 * Patient-space geometry of the 2D views (pure functions, no vtk, no DOM).
 *
 * World space is LPS millimetres (DESIGN.md, "Data model"): +x = patient Left, +y = Posterior, +z = Superior.
 * Each 2D view shows a true patient plane (axial, coronal, sagittal) whatever the volume's direction matrix:
 * the volume is resampled onto the plane (see ./sliceView), so oblique acquisitions still appear as true
 * axial/coronal/sagittal images, like ITK-SNAP and Slicer show them.
 *
 * A view has an orthonormal basis in LPS: `right` (screen +x), `up` (screen +y) and `normal` (out of the
 * screen towards the viewer is `-normal`; the camera looks along `normal`). Radiological convention:
 *  - axial: viewed from the feet (normal = +S), anterior up → patient left on screen right;
 *  - coronal: viewed from the front (normal = +P), superior up → patient left on screen right;
 *  - sagittal: viewed from the patient's left (normal = −L = towards R), superior up → anterior on screen left.
 *
 * "View coordinates" (u, v) are millimetres along `right` and `up` from the view's in-plane origin, which is the
 * volume centre projected onto the plane; they do not change when the slice moves along the normal.
 */
import type { Grid, Vec3 } from '../../../main/common/volume';

export type Orientation = 'axial' | 'coronal' | 'sagittal';
export const ORIENTATIONS: readonly Orientation[] = ['axial', 'coronal', 'sagittal'];

export interface ViewBasis {
  /** LPS unit vector shown towards screen right. */
  right: Vec3;
  /** LPS unit vector shown towards screen top. */
  up: Vec3;
  /** LPS unit vector the camera looks along (into the screen). right × up = −normal is towards the viewer. */
  normal: Vec3;
}

/** The fixed radiological bases (see module doc). */
export function viewBasis(o: Orientation): ViewBasis {
  switch (o) {
    case 'axial':
      return { right: [1, 0, 0], up: [0, -1, 0], normal: [0, 0, 1] };
    case 'coronal':
      return { right: [1, 0, 0], up: [0, 0, 1], normal: [0, 1, 0] };
    case 'sagittal':
      return { right: [0, 1, 0], up: [0, 0, 1], normal: [-1, 0, 0] };
  }
}

export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];

/**
 * The patient-direction letter of an LPS vector: its dominant component's sign. `[1,0,0]` (towards Left) → 'L',
 * `[0,-1,0]` → 'A', `[0,0,1]` → 'S'. Oblique vectors take the letter of their largest component.
 */
export function directionLetter(v: Vec3): string {
  const a = v.map(Math.abs);
  const axis = a[0]! >= a[1]! && a[0]! >= a[2]! ? 0 : a[1]! >= a[2]! ? 1 : 2;
  const positive = v[axis]! > 0;
  return [positive ? 'L' : 'R', positive ? 'P' : 'A', positive ? 'S' : 'I'][axis]!;
}

/** Orientation labels at the four edges of a view: the patient direction each screen edge points to. */
export interface EdgeLabels {
  left: string;
  right: string;
  top: string;
  bottom: string;
}

export function edgeLabels(b: ViewBasis): EdgeLabels {
  return {
    left: directionLetter(scale(b.right, -1)),
    right: directionLetter(b.right),
    top: directionLetter(b.up),
    bottom: directionLetter(scale(b.up, -1)),
  };
}

/** LPS position (mm) of continuous index (i, j, k): origin + direction · diag(spacing) · ijk. */
export function indexToLps(g: Grid, ijk: Vec3): Vec3 {
  const d = g.direction;
  const s = g.spacingMm;
  const x = ijk[0] * s[0];
  const y = ijk[1] * s[1];
  const z = ijk[2] * s[2];
  return [
    g.originMm[0] + d[0] * x + d[1] * y + d[2] * z,
    g.originMm[1] + d[3] * x + d[4] * y + d[5] * z,
    g.originMm[2] + d[6] * x + d[7] * y + d[8] * z,
  ];
}

/** The 8 corner voxel centres of a grid, in LPS mm. */
export function cornerPoints(g: Grid): Vec3[] {
  const out: Vec3[] = [];
  for (let c = 0; c < 8; c++)
    out.push(indexToLps(g, [c & 1 ? g.size[0] - 1 : 0, c & 2 ? g.size[1] - 1 : 0, c & 4 ? g.size[2] - 1 : 0]));
  return out;
}

/** LPS centre of the grid (midpoint of the corner voxel centres). */
export function gridCenter(g: Grid): Vec3 {
  return indexToLps(g, [(g.size[0] - 1) / 2, (g.size[1] - 1) / 2, (g.size[2] - 1) / 2]);
}

/**
 * Everything a 2D view needs to resample and navigate a volume along one patient plane.
 * All lengths in mm; (u, v) are view coordinates (see module doc); `t` is the position along `normal`.
 */
export interface SliceGeometry {
  orientation: Orientation;
  basis: ViewBasis;
  /** LPS point of view coordinate (0, 0) at t = dot(centre, normal). */
  centerLps: Vec3;
  /** In-plane pixel size of the resampled slice (square pixels), mm. */
  pixelMm: number;
  /** View-coordinate bounds of the volume's voxel centres projected on the plane. */
  uMin: number;
  vMin: number;
  /** Resampled slice size in pixels (columns along right, rows along up). */
  columns: number;
  rows: number;
  /** Slice positions along the normal: tMin + n·stepMm, n = 0 … count−1. */
  tMin: number;
  stepMm: number;
  count: number;
}

/** The index axis (0 = i, 1 = j, 2 = k) whose direction is closest to `v` (by |cos|). */
export function closestIndexAxis(g: Grid, v: Vec3): number {
  let best = 0;
  let bestCos = -1;
  for (let c = 0; c < 3; c++) {
    const col: Vec3 = [g.direction[c]!, g.direction[3 + c]!, g.direction[6 + c]!];
    const cos = Math.abs(dot(col, v));
    if (cos > bestCos + 1e-9) {
      bestCos = cos;
      best = c;
    }
  }
  return best;
}

/** Largest resampled slice side, in pixels (finer volumes are shown with larger pixels, never stretched). */
export const MAX_SLICE_PIXELS = 1024;

/**
 * Geometry of one view of a grid. In-plane pixel = the finer of the spacings of the index axes closest to
 * `right` and `up` (so axis-aligned data is shown at native resolution, pixel centres on voxel centres);
 * slice step = spacing of the index axis closest to the normal (one voxel slice per wheel notch).
 */
export function sliceGeometry(g: Grid, orientation: Orientation): SliceGeometry {
  const basis = viewBasis(orientation);
  const center = gridCenter(g);
  const corners = cornerPoints(g);
  let uMin = Infinity;
  let uMax = -Infinity;
  let vMin = Infinity;
  let vMax = -Infinity;
  let tMin = Infinity;
  let tMax = -Infinity;
  for (const p of corners) {
    const d = sub(p, center);
    const u = dot(d, basis.right);
    const v = dot(d, basis.up);
    const t = dot(p, basis.normal);
    uMin = Math.min(uMin, u);
    uMax = Math.max(uMax, u);
    vMin = Math.min(vMin, v);
    vMax = Math.max(vMax, v);
    tMin = Math.min(tMin, t);
    tMax = Math.max(tMax, t);
  }
  const sRight = g.spacingMm[closestIndexAxis(g, basis.right)]!;
  const sUp = g.spacingMm[closestIndexAxis(g, basis.up)]!;
  let pixelMm = Math.min(sRight, sUp);
  const extent = Math.max(uMax - uMin, vMax - vMin);
  if (extent / pixelMm + 1 > MAX_SLICE_PIXELS) pixelMm = extent / (MAX_SLICE_PIXELS - 1);
  const stepMm = g.spacingMm[closestIndexAxis(g, basis.normal)]!;
  const round = (x: number) => Math.round(x + 1e-6);
  return {
    orientation,
    basis,
    centerLps: sub(center, scale(basis.normal, dot(center, basis.normal))),
    pixelMm,
    uMin,
    vMin,
    columns: round((uMax - uMin) / pixelMm) + 1,
    rows: round((vMax - vMin) / pixelMm) + 1,
    tMin,
    stepMm,
    count: Math.max(1, round((tMax - tMin) / stepMm) + 1),
  };
}

/** Slice number (0-based, clamped) of a position t along the normal. */
export function sliceIndexOf(sg: SliceGeometry, t: number): number {
  return Math.min(sg.count - 1, Math.max(0, Math.round((t - sg.tMin) / sg.stepMm)));
}

/** Position t along the normal of slice number n (clamped). */
export function slicePosition(sg: SliceGeometry, n: number): number {
  return sg.tMin + Math.min(sg.count - 1, Math.max(0, n)) * sg.stepMm;
}

/** The LPS point with view coordinates (u, v) on the plane at position t. */
export function viewToLps(sg: SliceGeometry, u: number, v: number, t: number): Vec3 {
  return add(add(add(sg.centerLps, scale(sg.basis.right, u)), scale(sg.basis.up, v)), scale(sg.basis.normal, t));
}

/** View coordinates (u, v) and normal position t of an LPS point. */
export function lpsToView(sg: SliceGeometry, p: Vec3): { u: number; v: number; t: number } {
  const d = sub(p, sg.centerLps);
  return { u: dot(d, sg.basis.right), v: dot(d, sg.basis.up), t: dot(p, sg.basis.normal) };
}

/** 2D camera of a view: parallel projection centred on view coordinates (u, v), half-height in mm. */
export interface Camera2D {
  centerU: number;
  centerV: number;
  /** Half of the visible height, mm (vtk's parallelScale). */
  halfHeightMm: number;
}

/** The camera that fits the whole slice into a viewport of the given CSS size, with a small margin. */
export function fitCamera(sg: SliceGeometry, widthPx: number, heightPx: number): Camera2D {
  const w = (sg.columns - 1) * sg.pixelMm + sg.pixelMm;
  const h = (sg.rows - 1) * sg.pixelMm + sg.pixelMm;
  const aspect = widthPx > 0 && heightPx > 0 ? widthPx / heightPx : 1;
  return {
    centerU: sg.uMin + ((sg.columns - 1) * sg.pixelMm) / 2,
    centerV: sg.vMin + ((sg.rows - 1) * sg.pixelMm) / 2,
    halfHeightMm: Math.max(h / 2, w / 2 / aspect) * 1.04,
  };
}

/** CSS pixel position (x right, y down, origin top-left) of view coordinates (u, v). */
export function viewToScreen(cam: Camera2D, widthPx: number, heightPx: number, u: number, v: number): { x: number; y: number } {
  const pxPerMm = heightPx / 2 / cam.halfHeightMm;
  return { x: widthPx / 2 + (u - cam.centerU) * pxPerMm, y: heightPx / 2 - (v - cam.centerV) * pxPerMm };
}

/** Inverse of {@link viewToScreen}. */
export function screenToView(cam: Camera2D, widthPx: number, heightPx: number, x: number, y: number): { u: number; v: number } {
  const mmPerPx = (2 * cam.halfHeightMm) / heightPx;
  return { u: cam.centerU + (x - widthPx / 2) * mmPerPx, v: cam.centerV - (y - heightPx / 2) * mmPerPx };
}

/**
 * Human-readable slice position along a view normal: the LPS coordinate on that axis with its direction
 * letter, e.g. t = 12 along +S → "S 12.0 mm"; t = 5 along −L (sagittal) means x = −5 → "R 5.0 mm".
 */
export function positionLabel(normal: Vec3, t: number): string {
  const coord = scale(normal, t);
  const axis = Math.abs(normal[0]) > 0.5 ? 0 : Math.abs(normal[1]) > 0.5 ? 1 : 2;
  const x = coord[axis]!;
  const letter = [x >= 0 ? 'L' : 'R', x >= 0 ? 'P' : 'A', x >= 0 ? 'S' : 'I'][axis]!;
  return `${letter} ${Math.abs(x).toFixed(1)} mm`;
}
