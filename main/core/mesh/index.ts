/**
 * Surface meshes of labelmap segments for surgical planning (issue 6): {@link meshSegments} builds closed,
 * manifold, smoothed, decimated meshes in LPS/RAS mm; {@link writeMeshFiles} writes STL/OBJ/PLY and the sidecar.
 */
export { meshSegments, passBandFor, SMOOTHING_ITERATIONS } from './pipeline';
export { labelmapFromVolume, parseSegmentTable, defaultSegment } from './labels';
export { writeMeshFiles, encodeStlBinary, encodeStlAscii, encodeObj, encodePly, imageStem, type MeshSidecar, type WriteMeshOptions } from './write';
export { meshMetrics, defectVertices, vertexNormals } from './metrics';
export { surfaceNets, type PaddedMask, type RawMesh } from './extract';
export { windowedSincSmooth, windowedSincCoefficients } from './smooth';
export { decimateMesh } from './decimate';
