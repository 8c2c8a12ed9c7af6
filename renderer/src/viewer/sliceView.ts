/**
 * One 2D view (axial, coronal or sagittal) drawn with vtk.js.
 *
 * Choice: the slice is resampled on the CPU onto a true patient plane ({@link ResliceSampler}, ./reslice —
 * trilinear, through the volume's full index→LPS matrix), then drawn as a 2D vtkImageData by vtkImageMapper
 * under a fixed parallel camera. Why:
 *  - oblique acquisitions (tilted brain MR) appear as true axial/coronal/sagittal planes with square pixels,
 *    like ITK-SNAP/Slicer, and axis-aligned data is shown voxel for voxel (no interpolation at voxel centres);
 *  - only a 2D texture per view goes to the GPU (the 3D texture lives once, in the 3D view), which matters for
 *    a 512×512×300 CT and for software rendering;
 *  - the image is in "view coordinates" (x = screen right, y = screen up, see ./geometry), so the camera,
 *    crosshair and orientation labels are simple and the radiological convention lives in one table;
 *  - vtkImageReslice would do the same resampling but measured 150–700 ms per 512² plane in vtk.js 37.
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
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import type vtkOpenGLRenderWindow from '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import type { Camera2D, SliceGeometry } from './geometry';
import type { ResliceSampler } from './reslice';
import type { WindowLevel } from './presets';

export class SliceView {
  private readonly renderWindow = vtkRenderWindow.newInstance();
  private readonly renderer = vtkRenderer.newInstance({ background: [0, 0, 0] });
  private readonly glWindow: vtkOpenGLRenderWindow;
  private readonly mapper = vtkImageMapper.newInstance();
  private readonly actor = vtkImageSlice.newInstance();
  private sampler: ResliceSampler | null = null;
  private image: vtkImageData | null = null;
  private scalars: vtkDataArray | null = null;
  private pixels: Float32Array | null = null;
  private background = 0;
  private nearest = false;
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
  setVolume(sampler: ResliceSampler | null, sg: SliceGeometry | null, background: number): void {
    this.releaseImage();
    this.sampler = sampler;
    this.geometry = sg;
    this.background = background;
    this.t = Number.NaN;
    this.renderer.removeAllViewProps();
    if (!sampler || !sg) return;
    // The slice as a 2D image in view coordinates: x along `right`, y along `up`, z = 0.
    this.pixels = new Float32Array(sg.columns * sg.rows).fill(background);
    this.scalars = vtkDataArray.newInstance({ name: 'Scalars', numberOfComponents: 1, values: this.pixels });
    this.image = vtkImageData.newInstance();
    this.image.setDimensions(sg.columns, sg.rows, 1);
    this.image.setSpacing([sg.pixelMm, sg.pixelMm, 1]);
    this.image.setOrigin([sg.uMin, sg.vMin, 0]);
    this.image.getPointData().setScalars(this.scalars);
    this.mapper.setInputData(this.image);
    this.renderer.addViewProp(this.actor);
  }

  /** Move the slice plane to position t (mm along the view normal). Resamples only when t changes. */
  setSlicePosition(t: number): void {
    if (!this.sampler || !this.geometry || !this.pixels || t === this.t) return;
    this.t = t;
    this.sampler.sample(this.geometry, t, this.background, this.pixels, this.nearest);
    this.scalars!.modified();
    this.image!.modified();
  }

  /** Smooth (trilinear resampling, linear texture filtering) or voxel-exact (nearest) display. */
  setInterpolation(mode: 'linear' | 'nearest'): void {
    const nearest = mode === 'nearest';
    if (nearest === this.nearest) return;
    this.nearest = nearest;
    if (nearest) this.actor.getProperty().setInterpolationTypeToNearest();
    else this.actor.getProperty().setInterpolationTypeToLinear();
    const t = this.t;
    this.t = Number.NaN;
    if (!Number.isNaN(t)) this.setSlicePosition(t);
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

  private releaseImage(): void {
    this.image?.delete();
    this.scalars?.delete();
    this.image = null;
    this.scalars = null;
    this.pixels = null;
  }

  delete(): void {
    this.releaseImage();
    this.actor.delete();
    this.mapper.delete();
    this.glWindow.setContainer(null as unknown as HTMLElement);
    this.glWindow.delete();
    this.renderer.delete();
    this.renderWindow.delete();
  }
}
