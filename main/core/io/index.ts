/**
 * Reading and writing volumes (DESIGN.md, "Data model"): single-file formats through itk-wasm, DICOM through a
 * header-only scanner and a decoder. Every volume is in LPS with i fastest; see main/common/volume.ts.
 */
export { readImageFile, readImageFileHeader, writeVolume, imageExtension, READABLE_IMAGE_EXTENSIONS, WRITABLE_IMAGE_EXTENSIONS } from './itk';
export { scanPath, readVolume, readSingleVolume, clearScanCache } from './scan';
