/**
 * Volume → vtkImageData with its full patient-space geometry (origin, spacing, direction), so that every
 * vtk filter and mapper places voxels in LPS millimetres.
 */
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import type { Mat3, Volume } from '../../../main/common/volume';

/**
 * Our direction is row-major with columns = index axes (DESIGN.md); vtk.js stores its 3×3 column-major
 * (`direction[0..2]` = the i axis). Both describe the same matrix: the vtk array is our array transposed.
 */
export function toVtkDirection(d: Mat3): number[] {
  return [d[0], d[3], d[6], d[1], d[4], d[7], d[2], d[5], d[8]];
}

/**
 * Wrap a volume's voxels (no copy) in a vtkImageData. The caller owns the result and must `.delete()` it.
 * `data[i + size[0]·(j + size[1]·k)]` is vtk's point order too (i fastest).
 */
export function createImageData(volume: Volume): vtkImageData {
  const image = vtkImageData.newInstance();
  image.setDimensions(volume.size[0], volume.size[1], volume.size[2]);
  image.setSpacing([...volume.spacingMm]);
  image.setOrigin([...volume.originMm]);
  const [a, b, c, d, e, f, g, h, i] = toVtkDirection(volume.direction) as Mat3;
  image.setDirection(a, b, c, d, e, f, g, h, i);
  const scalars = vtkDataArray.newInstance({ name: 'Scalars', numberOfComponents: 1, values: volume.data });
  image.getPointData().setScalars(scalars);
  return image;
}
