/**
 * The slice-plane outlines of the 3D view: the plane's cut through the box of corner voxel centres (axis-aligned and
 * oblique grids), placed through the cursor in LPS mm with the views' normals, and the vtk actors (real vtk.js
 * objects in a vtkRenderer, no GL context): one closed polyline per view in its colour, the switch, and deletion.
 */
import { describe, expect, it } from 'vitest';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import type vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import type { Grid, Vec3 } from '../../../main/common/volume';
import { cornerPoints, dot, viewBasis } from './geometry';
import { PLANE_COLORS, planeOutline, SlicePlanes } from './planes';

/** 11 × 21 × 31 voxels of 1 × 2 × 3 mm at origin (10, 20, 30), identity direction. */
const straight: Grid = { size: [11, 21, 31], spacingMm: [1, 2, 3], originMm: [10, 20, 30], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

/** The same grid turned 30° about the S axis and 20° about L (an oblique acquisition). */
function oblique(): Grid {
  const a = (30 * Math.PI) / 180;
  const b = (20 * Math.PI) / 180;
  const rz = [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
  const rx = [1, 0, 0, 0, Math.cos(b), -Math.sin(b), 0, Math.sin(b), Math.cos(b)];
  const m = Array.from({ length: 9 }, (_, i): number => {
    const r = Math.floor(i / 3);
    const c = i % 3;
    return rz[3 * r]! * rx[c]! + rz[3 * r + 1]! * rx[3 + c]! + rz[3 * r + 2]! * rx[6 + c]!;
  });
  return { ...straight, direction: m as Grid['direction'] };
}

/** Whether p is inside (or on) the parallelepiped of a grid's corner voxel centres, to `tol` mm. */
function inBox(g: Grid, p: Vec3, tol = 1e-6): boolean {
  const c = cornerPoints(g);
  const o = c[0]!;
  const axes = [c[1]!, c[2]!, c[4]!].map((q) => [q[0] - o[0], q[1] - o[1], q[2] - o[2]] as Vec3);
  return axes.every((ax) => {
    const len = Math.hypot(...ax);
    const s = dot([p[0] - o[0], p[1] - o[1], p[2] - o[2]], ax) / len;
    return s >= -tol && s <= len + tol;
  });
}

describe('slice planes', () => {
  it('cuts an axis-aligned box in rectangles through the cursor', () => {
    // Corner voxel centres span x 10…20, y 20…60, z 30…120.
    const axial = planeOutline(straight, viewBasis('axial').normal, 75);
    expect(axial).toHaveLength(4);
    for (const p of axial) expect(p[2]).toBeCloseTo(75, 9);
    expect(new Set(axial.map((p) => `${p[0]},${p[1]}`))).toEqual(new Set(['10,20', '20,20', '10,60', '20,60']));
    // Sagittal normal is −L: t = −x.
    const sagittal = planeOutline(straight, viewBasis('sagittal').normal, -12);
    expect(sagittal).toHaveLength(4);
    for (const p of sagittal) expect(p[0]).toBeCloseTo(12, 9);
    // On a face of the box: still the rectangle; outside: nothing.
    expect(planeOutline(straight, viewBasis('coronal').normal, 20)).toHaveLength(4);
    expect(planeOutline(straight, viewBasis('coronal').normal, 19.9)).toEqual([]);
  });

  it('cuts an oblique box in a convex polygon on the plane and on the box, in order', () => {
    const g = oblique();
    const n = viewBasis('axial').normal;
    const centre = cornerPoints(g).reduce((s, p) => [s[0] + p[0] / 8, s[1] + p[1] / 8, s[2] + p[2] / 8] as Vec3, [0, 0, 0] as Vec3);
    for (const t of [centre[2], centre[2] + 17.3, centre[2] - 29]) {
      const pts = planeOutline(g, n, t);
      expect(pts.length).toBeGreaterThanOrEqual(3);
      expect(pts.length).toBeLessThanOrEqual(6);
      for (const p of pts) {
        expect(dot(n, p)).toBeCloseTo(t, 9);
        expect(inBox(g, p)).toBe(true);
      }
      // Ordered around the polygon: consecutive cross products all point the same way along the normal.
      const signs = pts.map((p, i) => {
        const q = pts[(i + 1) % pts.length]!;
        const r = pts[(i + 2) % pts.length]!;
        const u = [q[0] - p[0], q[1] - p[1], q[2] - p[2]];
        const v = [r[0] - q[0], r[1] - q[1], r[2] - q[2]];
        return Math.sign(u[0]! * v[1]! - u[1]! * v[0]!);
      });
      expect(new Set(signs).size).toBe(1);
    }
  });

  it('draws one closed outline per view in its colour, follows the cursor, switches off and deletes its actors', () => {
    const r = vtkRenderer.newInstance();
    const planes = new SlicePlanes(r);
    const actors = () => r.getActors() as vtkActor[];
    expect(actors()).toHaveLength(3);
    expect(planes.visibleCount()).toBe(0); // no grid yet
    planes.setGrid(straight);
    planes.setCursor([15, 40, 75]);
    expect(planes.visibleCount()).toBe(3);
    const colours = actors().map((a) => a.getProperty().getColor());
    for (const c of Object.values(PLANE_COLORS)) expect(colours).toContainEqual(c);
    const axialActor = actors().find((a) => a.getProperty().getColor().every((v: number, i: number) => v === PLANE_COLORS.axial[i]))!;
    const pd = axialActor.getMapper()!.getInputData();
    expect(Array.from(pd.getLines().getData())).toEqual([5, 0, 1, 2, 3, 0]);
    expect(pd.getBounds()).toEqual([10, 20, 20, 60, 75, 75]); // LPS mm as the volume rendering: no transform
    planes.setCursor([15, 40, 93]);
    expect(axialActor.getMapper()!.getInputData().getBounds()[4]).toBe(93);
    expect(planes.outline('coronal').every((p) => p[1] === 40)).toBe(true);
    planes.setEnabled(false);
    expect(planes.visibleCount()).toBe(0);
    planes.setEnabled(true);
    expect(planes.visibleCount()).toBe(3);
    planes.delete();
    expect(actors()).toHaveLength(0);
    expect(axialActor.isDeleted()).toBe(true);
    r.delete();
  });
});
