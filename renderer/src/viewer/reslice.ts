/**
 * CPU resampling of a volume onto a patient plane (vtkImageReslice), shared by the 2D views. No rendering
 * imports: this module also runs in Node (unit tests).
 */
import macro from '@kitware/vtk.js/macros';
import vtkImageReslice from '@kitware/vtk.js/Imaging/Core/ImageReslice';
import { InterpolationMode } from '@kitware/vtk.js/Imaging/Core/AbstractImageInterpolator/Constants';
import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import type { SliceGeometry } from './geometry';

type ConvertFn = (outPtr: Float32Array, inPtr: ArrayLike<number>, numscalars: number, n: number) => number;

/**
 * vtkImageReslice whose conversion to the (Float32) output does not round. vtk.js 37 rounds every
 * interpolated value to an integer even for a float output (C++ VTK does not), which would posterise float
 * volumes (normalised MR, probability maps). vtk.js instances are frozen, so the override is made while
 * extending, before the freeze.
 */
const newFloatReslice: () => vtkImageReslice = macro.newInstance((publicAPI: object, model: object, initialValues: object) => {
  vtkImageReslice.extend(publicAPI, model, initialValues as Parameters<typeof vtkImageReslice.extend>[2]);
  (publicAPI as { convert: ConvertFn }).convert = (outPtr, inPtr, numscalars, n) => {
    const count = n * numscalars;
    for (let i = 0; i < count; ++i) outPtr[i] = inPtr[i]!;
    return count;
  };
}, 'vtkImageReslice') as () => vtkImageReslice;

export type Mat4Arg = Parameters<vtkImageReslice['setResliceAxes']>[0];

/**
 * The reslice axes for position t: a column-major 4×4 (gl-matrix layout) whose columns are right, up, normal
 * and the LPS point of view coordinate (0, 0) on the slice plane. Output point (u, v, 0) ↦ LPS.
 */
export function resliceAxes(sg: SliceGeometry, t: number): Float64Array {
  const { right, up, normal } = sg.basis;
  const o = [sg.centerLps[0] + t * normal[0], sg.centerLps[1] + t * normal[1], sg.centerLps[2] + t * normal[2]];
  return Float64Array.from([
    right[0], right[1], right[2], 0,
    up[0], up[1], up[2], 0,
    normal[0], normal[1], normal[2], 0,
    o[0]!, o[1]!, o[2]!, 1,
  ]);
}

/**
 * A resampler for one view: vtkImageReslice configured for a {@link SliceGeometry}. Usable without WebGL
 * (the unit tests run it in Node). Output scalars are Float32 (linear interpolation keeps fractions);
 * points outside the volume get `background`.
 */
export function createReslicer(image: vtkImageData, sg: SliceGeometry, background: number): vtkImageReslice {
  const reslice = newFloatReslice();
  reslice.setInputData(image);
  reslice.setOutputDimensionality(2);
  reslice.setOutputScalarType('Float32Array');
  reslice.setInterpolationMode(InterpolationMode.LINEAR);
  reslice.setBackgroundColor([background, background, background, background]);
  reslice.setOutputOrigin([sg.uMin, sg.vMin, 0]);
  reslice.setOutputSpacing([sg.pixelMm, sg.pixelMm, 1]);
  reslice.setOutputExtent([0, sg.columns - 1, 0, sg.rows - 1, 0, 0]);
  reslice.setResliceAxes(resliceAxes(sg, sg.tMin) as unknown as Mat4Arg);
  return reslice;
}

