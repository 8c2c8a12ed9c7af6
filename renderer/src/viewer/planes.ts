/**
 * Where the 2D slices are, in the 3D view: the outline of each of the three slice planes (axial, coronal, sagittal)
 * through the linked cursor, clipped to the volume's box, as vtk.js line actors in the 3D view's renderer. World
 * space is LPS mm like the volume rendering (the vtkImageData carries origin, spacing and direction) and the segment
 * surfaces, so the outlines sit on the slices the 2D views show: each plane has the normal of its view
 * (./geometry `viewBasis`) and passes through the cursor, which the viewer snaps onto voxel-centre slices.
 *
 * The box is the one spanned by the corner voxel centres (./geometry `cornerPoints`) — the extent of the volume
 * rendering and of the 2D slices. For an oblique grid the outline is the plane's cut through that parallelepiped
 * (3 to 6 corners). Colours are the 2D views' title colours (SliceViewport.svelte: axial red, coronal green,
 * sagittal yellow). vtk objects live here, never in Svelte state, and are deleted by {@link SlicePlanes.delete}.
 */
import '@kitware/vtk.js/Rendering/Profiles/Geometry';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import type vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import type { Grid, Vec3 } from '../../../main/common/volume';
import { ORIENTATIONS, type Orientation, add, cornerPoints, dot, scale, sub, viewBasis } from './geometry';

/** Outline colours (sRGB 0–1), as the 2D views' titles: axial #e8555a, coronal #5ac46a, sagittal #e8d25a. */
export const PLANE_COLORS: Record<Orientation, [number, number, number]> = {
  axial: [0xe8 / 255, 0x55 / 255, 0x5a / 255],
  coronal: [0x5a / 255, 0xc4 / 255, 0x6a / 255],
  sagittal: [0xe8 / 255, 0xd2 / 255, 0x5a / 255],
};

/** Outline width, CSS px (vtk.js draws wide lines itself; WebGL alone allows only 1). */
export const PLANE_LINE_WIDTH = 2;

/** Points closer than this (mm) are one corner of the outline. */
const SAME_POINT_MM = 1e-6;

/**
 * The outline of the plane {x : dot(normal, x) = t} (LPS mm) cut through the box of a grid's corner voxel centres:
 * its corners in order around the plane (counter-clockwise seen against `normal`), or [] when the plane misses the
 * box. `normal` must be a unit vector.
 */
export function planeOutline(grid: Grid, normal: Vec3, t: number): Vec3[] {
  const corners = cornerPoints(grid);
  const pts: Vec3[] = [];
  const addPoint = (p: Vec3): void => {
    if (!pts.some((q) => Math.hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2]) < SAME_POINT_MM)) pts.push(p);
  };
  // The 12 edges join corners that differ in one index bit (cornerPoints: bit 0 = i, 1 = j, 2 = k).
  for (let c = 0; c < 8; c++)
    for (const bit of [1, 2, 4]) {
      if (c & bit) continue;
      const p0 = corners[c]!;
      const p1 = corners[c | bit]!;
      const d0 = dot(normal, p0) - t;
      const d1 = dot(normal, p1) - t;
      if (d0 === 0) addPoint(p0);
      if (d1 === 0) addPoint(p1);
      if ((d0 < 0 && d1 > 0) || (d0 > 0 && d1 < 0)) addPoint(add(p0, scale(sub(p1, p0), d0 / (d0 - d1))));
    }
  if (pts.length < 3) return [];
  // Order by angle about the centroid, in an in-plane basis (e1, e2) with e1 × e2 = normal.
  const centre = scale(pts.reduce((s, p) => add(s, p), [0, 0, 0] as Vec3), 1 / pts.length);
  const helper: Vec3 = Math.abs(normal[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
  const e1Raw = sub(helper, scale(normal, dot(helper, normal)));
  const e1 = scale(e1Raw, 1 / Math.hypot(...e1Raw));
  const e2: Vec3 = [normal[1] * e1[2] - normal[2] * e1[1], normal[2] * e1[0] - normal[0] * e1[2], normal[0] * e1[1] - normal[1] * e1[0]];
  const angle = (p: Vec3): number => Math.atan2(dot(sub(p, centre), e2), dot(sub(p, centre), e1));
  return pts.sort((a, b) => angle(a) - angle(b));
}

interface PlaneEntry {
  polyData: vtkPolyData;
  mapper: vtkMapper;
  actor: vtkActor;
  outline: Vec3[];
}

/** The three slice-plane outlines in one vtkRenderer (added on construction, removed and deleted by {@link delete}). */
export class SlicePlanes {
  private readonly entries: Record<Orientation, PlaneEntry>;
  private grid: Grid | null = null;
  private cursor: Vec3 = [0, 0, 0];
  private on = true;

  constructor(private readonly renderer: vtkRenderer) {
    const make = (o: Orientation): PlaneEntry => {
      const polyData = vtkPolyData.newInstance();
      const mapper = vtkMapper.newInstance();
      mapper.setInputData(polyData);
      const actor = vtkActor.newInstance();
      actor.setMapper(mapper);
      const p = actor.getProperty();
      p.setColor(...PLANE_COLORS[o]);
      p.setLineWidth(PLANE_LINE_WIDTH);
      p.setLighting(false);
      p.setAmbient(1);
      p.setDiffuse(0);
      actor.setPickable(false);
      actor.setVisibility(false);
      renderer.addActor(actor);
      return { polyData, mapper, actor, outline: [] };
    };
    this.entries = { axial: make('axial'), coronal: make('coronal'), sagittal: make('sagittal') };
  }

  /** The grid whose box clips the planes (null: nothing drawn). */
  setGrid(grid: Grid | null): void {
    this.grid = grid;
    this.update();
  }

  /** The linked cursor (LPS mm): every plane passes through it. */
  setCursor(p: Vec3): void {
    this.cursor = p;
    this.update();
  }

  /** The "Planes" switch. */
  setEnabled(on: boolean): void {
    this.on = on;
    this.update();
  }

  /** The outline drawn for a view (LPS mm, in order), [] when none. */
  outline(o: Orientation): Vec3[] {
    return this.entries[o].outline;
  }

  /** How many outlines are shown now. */
  visibleCount(): number {
    return ORIENTATIONS.filter((o) => this.entries[o].actor.getVisibility()).length;
  }

  private update(): void {
    for (const o of ORIENTATIONS) {
      const e = this.entries[o];
      const normal = viewBasis(o).normal;
      e.outline = this.grid ? planeOutline(this.grid, normal, dot(this.cursor, normal)) : [];
      const n = e.outline.length;
      const points = new Float32Array(3 * n);
      e.outline.forEach((p, i) => points.set(p, 3 * i));
      // One closed polyline: [n + 1, 0, 1, …, n − 1, 0].
      const lines = new Uint32Array(n ? n + 2 : 0);
      if (n) {
        lines[0] = n + 1;
        for (let i = 0; i < n; i++) lines[i + 1] = i;
        lines[n + 1] = 0;
      }
      e.polyData.getPoints().setData(points, 3);
      e.polyData.getLines().setData(lines);
      e.polyData.modified();
      e.actor.setVisibility(this.on && n > 0);
    }
  }

  /** Remove the actors from the renderer and delete every vtk object. */
  delete(): void {
    for (const o of ORIENTATIONS) {
      const e = this.entries[o];
      this.renderer.removeActor(e.actor);
      e.actor.delete();
      e.mapper.delete();
      e.polyData.delete();
    }
  }
}
