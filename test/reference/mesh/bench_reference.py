#!/usr/bin/env python3
"""VTK reference for test/bench/mesh.bench.ts: labelmap -> per-label smoothed, decimated binary STL.

Input: a raw uint8 labelmap (i fastest) with its dimensions and spacing. Two pipelines, each timed from the
loaded array to the STL files on disk (Python start-up and the raw read are not counted):
  flying_edges   per label: vtkDiscreteFlyingEdges3D -> vtkWindowedSincPolyDataFilter (Slicer settings)
                 -> vtkDecimatePro (target reduction, preserve topology) -> vtkSTLWriter (binary)
  surface_nets   all labels in one pass: vtkSurfaceNets3D (own smoothing off) -> per label: vtkThreshold on the
                 boundary labels -> windowed sinc -> vtkDecimatePro -> vtkSTLWriter
Prints one JSON object: {"vtk": version, "threads": n, "flying_edges": {"seconds", "cpuSeconds", "triangles"}, "surface_nets": {...}}.
"""
import argparse
import json
import os
import time

import numpy as np
import vtk
from vtk.util import numpy_support as ns


def smooth_decimate_write(poly, smoothing, decimate, path):
    sm = vtk.vtkWindowedSincPolyDataFilter()
    sm.SetInputData(poly)
    sm.SetNumberOfIterations(20)
    sm.SetPassBand(10 ** (-4 * smoothing))
    sm.BoundarySmoothingOff()
    sm.FeatureEdgeSmoothingOff()
    sm.NonManifoldSmoothingOn()
    sm.NormalizeCoordinatesOn()
    sm.Update()
    out = sm.GetOutput()
    if decimate > 0:
        d = vtk.vtkDecimatePro()
        d.SetInputData(out)
        d.SetTargetReduction(decimate)
        d.PreserveTopologyOn()
        d.Update()
        out = d.GetOutput()
    w = vtk.vtkSTLWriter()
    w.SetFileTypeToBinary()
    w.SetInputData(out)
    w.SetFileName(path)
    w.Write()
    return out.GetNumberOfCells()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--dims", required=True, type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--spacing", required=True, type=lambda s: [float(x) for x in s.split(",")])
    ap.add_argument("--labels", required=True, type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--smoothing", type=float, default=0.5)
    ap.add_argument("--decimate", type=float, default=0.5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    nx, ny, nz = a.dims
    arr = np.fromfile(a.raw, dtype=np.uint8)
    assert arr.size == nx * ny * nz, "raw size does not match dims"
    img = vtk.vtkImageData()
    img.SetDimensions(nx, ny, nz)
    img.SetSpacing(*a.spacing)
    img.GetPointData().SetScalars(ns.numpy_to_vtk(arr, deep=False))
    result = {"vtk": vtk.vtkVersion.GetVTKVersion(), "threads": vtk.vtkSMPTools.GetEstimatedNumberOfThreads()}

    t = time.perf_counter()
    c = time.process_time()
    tris = 0
    for label in a.labels:
        fe = vtk.vtkDiscreteFlyingEdges3D()
        fe.SetInputData(img)
        fe.SetValue(0, label)
        fe.ComputeNormalsOff()
        fe.ComputeGradientsOff()
        fe.ComputeScalarsOff()
        fe.Update()
        tris += smooth_decimate_write(fe.GetOutput(), a.smoothing, a.decimate, os.path.join(a.out, f"fe_{label}.stl"))
    result["flying_edges"] = {"seconds": time.perf_counter() - t, "cpuSeconds": time.process_time() - c, "triangles": tris}

    t = time.perf_counter()
    c = time.process_time()
    sn = vtk.vtkSurfaceNets3D()
    sn.SetInputData(img)
    for i, label in enumerate(a.labels):
        sn.SetValue(i, label)
    sn.SmoothingOff()
    sn.SetOutputMeshTypeToTriangles()
    sn.SetOutputStyleToBoundary()
    sn.Update()
    out = sn.GetOutput()
    tris = 0
    for label in a.labels:
        th = vtk.vtkThreshold()
        th.SetInputData(out)
        th.SetInputArrayToProcess(0, 0, 0, vtk.vtkDataObject.FIELD_ASSOCIATION_CELLS, "BoundaryLabels")
        th.SetComponentModeToUseAny()
        th.SetLowerThreshold(label)
        th.SetUpperThreshold(label)
        th.Update()
        geo = vtk.vtkGeometryFilter()
        geo.SetInputData(th.GetOutput())
        geo.Update()
        tris += smooth_decimate_write(geo.GetOutput(), a.smoothing, a.decimate, os.path.join(a.out, f"sn_{label}.stl"))
    result["surface_nets"] = {"seconds": time.perf_counter() - t, "cpuSeconds": time.process_time() - c, "triangles": tris}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
