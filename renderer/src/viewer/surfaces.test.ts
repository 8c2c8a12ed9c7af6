/**
 * The surface layer's bookkeeping with real vtk.js objects (no GL context needed: actors in a vtkRenderer): vtk's
 * triangle connectivity, the bounds helper, keeping unchanged surfaces, deleting replaced and removed ones,
 * colour/visibility per segment and the layer's on/off switch.
 */
import { describe, expect, it } from 'vitest';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import type vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import { pointBounds, SurfaceLayer, vtkTriangleCells, type SurfaceInput, type SurfaceStyle } from './surfaces';

/** A closed tetrahedron (4 vertices, 4 outward CCW triangles) shifted by `dx` mm. */
function tetra(value: number, dx = 0): SurfaceInput {
  const positions = Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1].map((v, i) => (i % 3 === 0 ? v + dx : v)));
  return { value, positions, normals: new Float32Array(12), indices: Uint32Array.from([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3]) };
}

function actors(r: vtkRenderer): vtkActor[] {
  return r.getActors() as vtkActor[];
}

describe('surfaces', () => {
  it('writes vtk polys as [3, a, b, c] per triangle and bounds the points', () => {
    expect(Array.from(vtkTriangleCells(Uint32Array.from([0, 2, 1, 5, 4, 3])))).toEqual([3, 0, 2, 1, 3, 5, 4, 3]);
    expect(pointBounds([tetra(1), tetra(2, 5)])).toEqual([0, 6, 0, 1, 0, 1]);
    expect(pointBounds([])).toBeNull();
  });

  it('keeps unchanged surfaces, deletes replaced and removed ones, and places the points as given', () => {
    const r = vtkRenderer.newInstance();
    const layer = new SurfaceLayer(r);
    const a = tetra(1);
    const b = tetra(2, 5);
    layer.setSurfaces([a, b]);
    expect(actors(r)).toHaveLength(2);
    expect(layer.values().sort()).toEqual([1, 2]);
    expect(layer.visibleTriangles()).toBe(8);
    const [actorA, actorB] = actors(r);
    const bounds = actorB!.getMapper()!.getInputData().getBounds();
    expect(bounds).toEqual([5, 6, 0, 1, 0, 1]); // LPS mm as given: no transform on the actor
    // Same arrays for 1, new arrays for 2: 1 is kept, 2 is rebuilt.
    layer.setSurfaces([a, tetra(2, 7)]);
    expect(actors(r)).toHaveLength(2);
    expect(actors(r)).toContain(actorA);
    expect(actorB!.isDeleted()).toBe(true);
    layer.setSurfaces([]);
    expect(actors(r)).toHaveLength(0);
    expect(actorA!.isDeleted()).toBe(true);
    layer.delete();
    r.delete();
  });

  it('colours and hides per segment, and the switch hides all without forgetting each one', () => {
    const r = vtkRenderer.newInstance();
    const layer = new SurfaceLayer(r);
    layer.setSurfaces([tetra(1), tetra(2, 5)]);
    const styles = new Map<number, SurfaceStyle>([
      [1, { color: [255, 0, 51], visible: true }],
      [2, { color: [0, 0, 255], visible: false }],
    ]);
    layer.setStyles(styles);
    const [one, two] = actors(r);
    expect(one!.getProperty().getColor()).toEqual([1, 0, 0.2]);
    expect(one!.getVisibility()).toBe(true);
    expect(two!.getVisibility()).toBe(false);
    expect(layer.visibleTriangles()).toBe(4);
    layer.setEnabled(false);
    expect(layer.visibleTriangles()).toBe(0);
    layer.setEnabled(true);
    expect(one!.getVisibility()).toBe(true);
    expect(two!.getVisibility()).toBe(false);
    layer.clear();
    expect(actors(r)).toHaveLength(0);
    r.delete();
  });
});
