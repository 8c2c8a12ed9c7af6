/**
 * The 3D view: GPU ray-cast volume rendering (vtkVolume + vtkVolumeMapper) with piecewise opacity and colour
 * transfer functions, a trackball camera (left drag rotate, right drag / wheel zoom, middle or shift drag pan).
 *
 * The vtkImageData carries origin, spacing and direction, so the rendering sits in LPS like the 2D views.
 * The sample distance is coarse by default: software WebGL (SwiftShader in headless Chromium) needs ≈0.25 s per
 * unshaded frame at ~1/200 of the diagonal; with a hardware GPU {@link VolumeView.setQuality} 'fine' is cheap.
 * Renders happen only on demand (no render loop); the interactor renders only while the user drags.
 *
 * Segment surfaces ({@link VolumeView.surfaces}, ./surfaces) are actors in the same renderer: their vertices are
 * LPS mm, the world space of the volume rendering, so they sit exactly on the segments. The outlines of the three
 * slice planes through the linked cursor ({@link VolumeView.planes}, ./planes) are line actors in the same world.
 * The component that owns the container finds its view with {@link VolumeView.of}.
 */
import '@kitware/vtk.js/Rendering/Profiles/Geometry';
import '@kitware/vtk.js/Rendering/Profiles/Volume';
// Registers the 'WebGL' view constructor used by newAPISpecificView (the profiles register only the props).
import '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import vtkRenderWindow from '@kitware/vtk.js/Rendering/Core/RenderWindow';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import vtkVolume from '@kitware/vtk.js/Rendering/Core/Volume';
import vtkVolumeMapper from '@kitware/vtk.js/Rendering/Core/VolumeMapper';
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction';
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction';
import vtkRenderWindowInteractor from '@kitware/vtk.js/Rendering/Core/RenderWindowInteractor';
import vtkInteractorStyleTrackballCamera from '@kitware/vtk.js/Interaction/Style/InteractorStyleTrackballCamera';
import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import type vtkOpenGLRenderWindow from '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import type { Vec3 } from '../../../main/common/volume';
import type { VrTransfer } from './presets';
import { SlicePlanes } from './planes';
import { SurfaceLayer } from './surfaces';

export type RenderQuality = 'coarse' | 'fine';

/** Ray sample distance (mm) for a volume diagonal and the finest spacing. */
export function sampleDistanceMm(diagonalMm: number, minSpacingMm: number, quality: RenderQuality): number {
  return quality === 'coarse' ? Math.max(minSpacingMm, diagonalMm / 200) : Math.max(minSpacingMm / 2, diagonalMm / 1000);
}

/** The view living in each container (so the viewport component can reach the view its state created). */
const viewsByContainer = new WeakMap<HTMLElement, VolumeView>();

export class VolumeView {
  private readonly renderWindow = vtkRenderWindow.newInstance();
  private readonly renderer = vtkRenderer.newInstance({ background: [0.02, 0.02, 0.03] });
  private readonly glWindow: vtkOpenGLRenderWindow;
  private readonly interactor = vtkRenderWindowInteractor.newInstance();
  private readonly style = vtkInteractorStyleTrackballCamera.newInstance();
  private readonly mapper = vtkVolumeMapper.newInstance();
  private readonly actor = vtkVolume.newInstance();
  private readonly color = vtkColorTransferFunction.newInstance();
  private readonly opacity = vtkPiecewiseFunction.newInstance();
  private quality: RenderQuality;
  private diagonalMm = 1;
  private minSpacingMm = 1;
  private shadeWanted = false;
  private center: Vec3 = [0, 0, 0];
  private readonly container: HTMLElement;
  /** Segment surfaces (LPS mm) drawn with the volume; deleted with the view. */
  readonly surfaces: SurfaceLayer;
  /** Outlines of the 2D views' slice planes (LPS mm); deleted with the view. */
  readonly planes: SlicePlanes;

  /** The live view whose canvas is in `container`, if any. */
  static of(container: HTMLElement): VolumeView | undefined {
    return viewsByContainer.get(container);
  }

  constructor(container: HTMLElement, quality: RenderQuality) {
    this.quality = quality;
    this.container = container;
    viewsByContainer.set(container, this);
    this.surfaces = new SurfaceLayer(this.renderer);
    this.planes = new SlicePlanes(this.renderer);
    this.renderWindow.addRenderer(this.renderer);
    this.glWindow = this.renderWindow.newAPISpecificView('WebGL') as vtkOpenGLRenderWindow;
    this.renderWindow.addView(this.glWindow);
    this.glWindow.setContainer(container);
    this.interactor.setView(this.glWindow);
    this.interactor.initialize();
    this.interactor.bindEvents(container);
    this.interactor.setInteractorStyle(this.style);
    this.actor.setMapper(this.mapper);
    const p = this.actor.getProperty();
    p.setRGBTransferFunction(0, this.color);
    p.setScalarOpacity(0, this.opacity);
    p.setInterpolationTypeToLinear();
    p.setAmbient(0.25);
    p.setDiffuse(0.75);
    p.setSpecular(0.2);
    p.setSpecularPower(10);
    this.mapper.setMaximumSamplesPerRay(2000);
  }

  /** Whether this context renders in software (SwiftShader/llvmpipe): then keep sampling coarse, no shading. */
  isSoftware(): boolean {
    const info = this.glWindow.getGLInformations() as Record<string, { value?: unknown } | undefined>;
    const text = `${String(info.UNMASKED_RENDERER?.value ?? '')} ${String(info.RENDERER?.value ?? '')}`.toLowerCase();
    return /swiftshader|llvmpipe|software|lavapipe/.test(text);
  }

  /** Show a volume (or nothing); the camera looks from the front (anterior), superior up, like Slicer's default. */
  setVolume(image: vtkImageData | null, diagonalMm: number, minSpacingMm: number, center: Vec3): void {
    this.renderer.removeAllVolumes();
    if (!image) return;
    this.diagonalMm = diagonalMm;
    this.minSpacingMm = minSpacingMm;
    this.mapper.setInputData(image);
    this.applySampling();
    this.renderer.addVolume(this.actor);
    this.center = center;
    this.resetCamera();
  }

  /** Anterior view (patient's right on screen left), superior up, the whole volume in view. */
  resetCamera(): void {
    const c = this.center;
    const camera = this.renderer.getActiveCamera();
    camera.setFocalPoint(c[0], c[1], c[2]);
    camera.setPosition(c[0], c[1] - 4 * this.diagonalMm, c[2]);
    camera.setViewUp(0, 0, 1);
    this.renderer.resetCamera();
    camera.zoom(1.3);
  }

  /** Show or hide the volume rendering (e.g. to see segment surfaces inside the head). */
  setVolumeVisible(on: boolean): void {
    this.actor.setVisibility(on);
  }

  setTransfer(tf: VrTransfer): void {
    this.opacity.removeAllPoints();
    for (const [x, y] of tf.opacity) this.opacity.addPoint(x, y);
    this.color.removeAllPoints();
    for (const [x, r, g, b] of tf.color) this.color.addRGBPoint(x, r, g, b);
    this.shadeWanted = tf.shade;
    this.applySampling();
  }

  setQuality(q: RenderQuality): void {
    this.quality = q;
    this.applySampling();
  }

  private applySampling(): void {
    this.mapper.setSampleDistance(sampleDistanceMm(this.diagonalMm, this.minSpacingMm, this.quality));
    // Gradient shading costs several seconds per frame in software; only shade at fine quality.
    this.actor.getProperty().setShade(this.shadeWanted && this.quality === 'fine');
  }

  resize(widthCss: number, heightCss: number): void {
    const dpr = window.devicePixelRatio || 1;
    this.glWindow.setSize(Math.max(1, Math.floor(widthCss * dpr)), Math.max(1, Math.floor(heightCss * dpr)));
  }

  render(): void {
    this.renderWindow.render();
  }

  delete(): void {
    if (viewsByContainer.get(this.container) === this) viewsByContainer.delete(this.container);
    this.surfaces.delete();
    this.planes.delete();
    this.interactor.unbindEvents();
    this.interactor.delete();
    this.style.delete();
    this.actor.delete();
    this.mapper.delete();
    this.color.delete();
    this.opacity.delete();
    this.glWindow.setContainer(null as unknown as HTMLElement);
    this.glWindow.delete();
    this.renderer.delete();
    this.renderWindow.delete();
  }
}
