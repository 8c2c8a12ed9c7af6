/**
 * One 2D view (axial, coronal or sagittal) drawn with vtk.js.
 *
 * Choice: the slice is resampled on the CPU with **vtkImageReslice** onto a true patient plane, then drawn as a
 * 2D image (vtkImageMapper) under a fixed parallel camera. Why:
 *  - vtkImageReslice maps output points through the input's full index→world matrix (origin, spacing AND
 *    direction), so oblique acquisitions (tilted brain MR) appear as true axial/coronal/sagittal planes,
 *    with linear interpolation and square pixels — like ITK-SNAP/Slicer;
 *  - only a 2D texture per view goes to the GPU (the 3D texture lives once, in the 3D view), which matters for
 *    a 512×512×300 CT and for software rendering;
 *  - the output grid is in "view coordinates" (x = screen right, y = screen up, see ./geometry), so the camera,
 *    crosshair and orientation labels are simple and the radiological convention lives in one table.
 *
 * This class owns its vtk objects and deletes them in {@link SliceView.delete}. It knows nothing of Svelte.
 */
import '@kitware/vtk.js/Rendering/Profiles/Geometry';
import '@kitware/vtk.js/Rendering/Profiles/Volume';
// Registers the 'WebGL' view constructor used by newAPISpecificView (the profiles register only the props).
import '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import vtkRenderWindow from '@kitware/vtk.js/Rendering/Core/RenderWindow';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import vtkImageMapper from '@kitware/vtk.js/Rendering/Core/ImageMapper';
import vtkImageSlice from '@kitware/vtk.js/Rendering/Core/ImageSlice';
import type vtkImageReslice from '@kitware/vtk.js/Imaging/Core/ImageReslice';
import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import type vtkOpenGLRenderWindow from '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import type { Camera2D, SliceGeometry } from './geometry';
import { createReslicer, resliceAxes, type Mat4Arg } from './reslice';
import type { WindowLevel } from './presets';

export class SliceView {
  private readonly renderWindow = vtkRenderWindow.newInstance();
  private readonly renderer = vtkRenderer.newInstance({ background: [0, 0, 0] });
  private readonly glWindow: vtkOpenGLRenderWindow;
  private readonly mapper = vtkImageMapper.newInstance();
  private readonly actor = vtkImageSlice.newInstance();
  private reslice: vtkImageReslice | null = null;
  private geometry: SliceGeometry | null = null;
  private t = Number.NaN;
  private widthPx = 1;
  private heightPx = 1;

  constructor(container: HTMLElement) {
    this.renderWindow.addRenderer(this.renderer);
    this.glWindow = this.renderWindow.newAPISpecificView('WebGL') as vtkOpenGLRenderWindow;
    this.renderWindow.addView(this.glWindow);
    this.glWindow.setContainer(container);
    this.actor.setMapper(this.mapper);
    this.actor.getProperty().setInterpolationTypeToLinear();
    const camera = this.renderer.getActiveCamera();
    camera.setParallelProjection(true);
  }

  /** Show a volume (or nothing). `background` fills points outside the volume (use the volume minimum). */
  setVolume(image: vtkImageData | null, sg: SliceGeometry | null, background: number): void {
    this.reslice?.delete();
    this.reslice = null;
    this.geometry = sg;
    this.t = Number.NaN;
    this.renderer.removeAllViewProps();
    if (!image || !sg) return;
    this.reslice = createReslicer(image, sg, background);
    this.mapper.setInputConnection(this.reslice.getOutputPort());
    this.renderer.addViewProp(this.actor);
  }

  /** Move the slice plane to position t (mm along the view normal). Resamples only when t changes. */
  setSlicePosition(t: number): void {
    if (!this.reslice || !this.geometry || t === this.t) return;
    this.t = t;
    this.reslice.setResliceAxes(resliceAxes(this.geometry, t) as unknown as Mat4Arg);
  }

  setWindowLevel(wl: WindowLevel): void {
    const p = this.actor.getProperty();
    p.setColorWindow(wl.width);
    p.setColorLevel(wl.center);
  }

  setCamera(cam: Camera2D): void {
    const camera = this.renderer.getActiveCamera();
    camera.setFocalPoint(cam.centerU, cam.centerV, 0);
    camera.setPosition(cam.centerU, cam.centerV, 1000);
    camera.setViewUp(0, 1, 0);
    camera.setParallelScale(cam.halfHeightMm);
    camera.setClippingRange(1, 2000);
  }

  /** Match the drawing buffer to the container's CSS size (× devicePixelRatio). */
  resize(widthCss: number, heightCss: number): void {
    const dpr = window.devicePixelRatio || 1;
    this.widthPx = Math.max(1, Math.floor(widthCss * dpr));
    this.heightPx = Math.max(1, Math.floor(heightCss * dpr));
    this.glWindow.setSize(this.widthPx, this.heightPx);
  }

  render(): void {
    this.renderWindow.render();
  }

  delete(): void {
    this.reslice?.delete();
    this.reslice = null;
    this.actor.delete();
    this.mapper.delete();
    this.glWindow.setContainer(null as unknown as HTMLElement);
    this.glWindow.delete();
    this.renderer.delete();
    this.renderWindow.delete();
  }
}
