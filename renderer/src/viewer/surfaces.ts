/**
 * Segment surfaces as vtk.js actors (vtkPolyData → vtkMapper → vtkActor), one per segment, in a renderer of the
 * caller's: the 3D view's (where they share the LPS world space of the volume rendering: mesh vertices are patient
 * LPS mm and the vtkImageData carries origin, spacing and direction) or the export dialog's own small preview
 * window ({@link SurfacePreview}). The vertex arrays are used as given (no copy); vtk objects are deleted whenever
 * the surfaces are replaced and on {@link SurfaceLayer.delete}.
 */
import '@kitware/vtk.js/Rendering/Profiles/Geometry';
// Registers the 'WebGL' view constructor used by newAPISpecificView.
import '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkRenderWindow from '@kitware/vtk.js/Rendering/Core/RenderWindow';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import vtkRenderWindowInteractor from '@kitware/vtk.js/Rendering/Core/RenderWindowInteractor';
import vtkInteractorStyleTrackballCamera from '@kitware/vtk.js/Interaction/Style/InteractorStyleTrackballCamera';
import type vtkOpenGLRenderWindow from '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';

/** One segment's triangle mesh to show. Coordinates in mm in the renderer's world space; triangles CCW from outside. */
export interface SurfaceInput {
  value: number;
  /** xyz triples. */
  positions: Float32Array;
  /** Unit vertex normals, xyz triples (same length as positions). */
  normals: Float32Array;
  /** Three vertex indices per triangle. */
  indices: Uint32Array;
}

/** How a segment's surface is drawn: its colour (sRGB 0–255) and whether it is shown. */
export interface SurfaceStyle {
  color: readonly [number, number, number] | readonly number[];
  visible: boolean;
}

interface Entry {
  input: SurfaceInput;
  polyData: vtkPolyData;
  mapper: vtkMapper;
  actor: vtkActor;
  /** The segment's own visibility (the layer's switch may hide it anyway). */
  wanted: boolean;
}

/** vtk's polys connectivity: `[3, a, b, c, 3, …]`. */
export function vtkTriangleCells(indices: Uint32Array): Uint32Array {
  const nt = indices.length / 3;
  const cells = new Uint32Array(4 * nt);
  for (let t = 0; t < nt; t++) {
    cells[4 * t] = 3;
    cells[4 * t + 1] = indices[3 * t]!;
    cells[4 * t + 2] = indices[3 * t + 1]!;
    cells[4 * t + 3] = indices[3 * t + 2]!;
  }
  return cells;
}

/** Bounds [xmin, xmax, ymin, ymax, zmin, zmax] of a set of xyz triples (null when empty). */
export function pointBounds(list: readonly { positions: Float32Array }[]): [number, number, number, number, number, number] | null {
  const b: [number, number, number, number, number, number] = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
  for (const { positions: p } of list)
    for (let i = 0; i < p.length; i += 3)
      for (let a = 0; a < 3; a++) {
        const v = p[i + a]!;
        if (v < b[2 * a]!) b[2 * a] = v;
        if (v > b[2 * a + 1]!) b[2 * a + 1] = v;
      }
  return b[0] <= b[1] ? b : null;
}

/** The surfaces of a set of segments in one vtkRenderer. */
export class SurfaceLayer {
  private readonly entries = new Map<number, Entry>();
  private on = true;

  constructor(private readonly renderer: vtkRenderer) {}

  /** Segment values currently held (shown or not). */
  values(): number[] {
    return [...this.entries.keys()];
  }

  /** Number of triangles of the surfaces currently visible. */
  visibleTriangles(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.actor.getVisibility()) n += e.input.indices.length / 3;
    return n;
  }

  /**
   * Show exactly these surfaces: entries whose arrays are the same objects as before are kept, others are
   * (re)built, and those no longer listed are removed and deleted.
   */
  setSurfaces(list: readonly SurfaceInput[]): void {
    const wanted = new Map(list.map((s) => [s.value, s]));
    for (const [value, e] of this.entries) {
      const next = wanted.get(value);
      if (next && next.positions === e.input.positions && next.indices === e.input.indices) continue;
      this.remove(value);
    }
    for (const s of list) if (!this.entries.has(s.value)) this.add(s);
  }

  /** Colour and visibility per segment value (values without a style keep theirs). */
  setStyles(styles: ReadonlyMap<number, SurfaceStyle>): void {
    for (const [value, e] of this.entries) {
      const st = styles.get(value);
      if (!st) continue;
      e.actor.getProperty().setColor(st.color[0]! / 255, st.color[1]! / 255, st.color[2]! / 255);
      e.wanted = st.visible;
      e.actor.setVisibility(this.on && st.visible);
    }
  }

  /** All surfaces on or off (the 3D view's "Surfaces" switch), keeping each segment's own visibility. */
  setEnabled(on: boolean): void {
    this.on = on;
    for (const e of this.entries.values()) e.actor.setVisibility(on && e.wanted);
  }

  /** Remove and delete every surface. */
  clear(): void {
    for (const value of [...this.entries.keys()]) this.remove(value);
  }

  delete(): void {
    this.clear();
  }

  private add(s: SurfaceInput): void {
    const polyData = vtkPolyData.newInstance();
    polyData.getPoints().setData(s.positions, 3);
    polyData.getPolys().setData(vtkTriangleCells(s.indices));
    polyData.getPointData().setNormals(vtkDataArray.newInstance({ name: 'Normals', numberOfComponents: 3, values: s.normals }));
    const mapper = vtkMapper.newInstance({ scalarVisibility: false });
    mapper.setInputData(polyData);
    const actor = vtkActor.newInstance();
    actor.setMapper(mapper);
    const p = actor.getProperty();
    p.setAmbient(0.15);
    p.setDiffuse(0.8);
    p.setSpecular(0.25);
    p.setSpecularPower(20);
    actor.setVisibility(this.on);
    this.renderer.addActor(actor);
    this.entries.set(s.value, { input: s, polyData, mapper, actor, wanted: true });
  }

  private remove(value: number): void {
    const e = this.entries.get(value);
    if (!e) return;
    this.entries.delete(value);
    this.renderer.removeActor(e.actor);
    e.actor.delete();
    e.mapper.delete();
    e.polyData.delete();
  }
}

/**
 * A small stand-alone render window with surfaces only (the export dialog's preview of exactly the meshes that
 * will be written): trackball camera, camera reset to the surfaces' bounds looking from `viewFrom`.
 */
export class SurfacePreview {
  private readonly renderWindow = vtkRenderWindow.newInstance();
  private readonly renderer = vtkRenderer.newInstance({ background: [0.08, 0.09, 0.11] });
  private readonly glWindow: vtkOpenGLRenderWindow;
  private readonly interactor = vtkRenderWindowInteractor.newInstance();
  private readonly style = vtkInteractorStyleTrackballCamera.newInstance();
  readonly layer: SurfaceLayer;

  constructor(container: HTMLElement) {
    this.renderWindow.addRenderer(this.renderer);
    this.glWindow = this.renderWindow.newAPISpecificView('WebGL') as vtkOpenGLRenderWindow;
    this.renderWindow.addView(this.glWindow);
    this.glWindow.setContainer(container);
    this.interactor.setView(this.glWindow);
    this.interactor.initialize();
    this.interactor.bindEvents(container);
    this.interactor.setInteractorStyle(this.style);
    this.layer = new SurfaceLayer(this.renderer);
  }

  /**
   * Look at the surfaces from the patient's front: `anterior` is the direction of the patient's front in the
   * meshes' space ([0, -1, 0] in LPS, [0, 1, 0] in RAS); superior (+z in both) is up.
   */
  resetCamera(anterior: readonly [number, number, number]): void {
    const camera = this.renderer.getActiveCamera();
    camera.setFocalPoint(0, 0, 0);
    camera.setPosition(anterior[0], anterior[1], anterior[2]);
    camera.setViewUp(0, 0, 1);
    this.renderer.resetCamera();
    camera.zoom(1.35);
  }

  resize(widthCss: number, heightCss: number): void {
    const dpr = window.devicePixelRatio || 1;
    this.glWindow.setSize(Math.max(1, Math.floor(widthCss * dpr)), Math.max(1, Math.floor(heightCss * dpr)));
  }

  render(): void {
    this.renderWindow.render();
  }

  delete(): void {
    this.layer.delete();
    this.interactor.unbindEvents();
    this.interactor.delete();
    this.style.delete();
    this.glWindow.setContainer(null as unknown as HTMLElement);
    this.glWindow.delete();
    this.renderer.delete();
    this.renderWindow.delete();
  }
}
