#!/usr/bin/env python3
"""Independent references for Delineate's labelmap -> mesh pipeline (issue 6), with VTK (pip vtk) and SimpleITK.

Regenerate the committed fixture (needs /work/py/venv with vtk and SimpleITK, and the project's node_modules):

    /work/py/venv/bin/python test/reference/mesh/cranium_reference.py \
        --labels ../shared/data/invesalius-cranium-ct/cranium_mask0_bone_226_3071HU.nii.gz \
        --out test/reference/mesh/cranium-bone.reference.json

What it does:
  1. Reads the labelmap with SimpleITK (ITK geometry: LPS, origin = centre of voxel 0, direction columns = axes).
  2. Pads the mask by one voxel (as Delineate does, so that parts touching the volume border close) and builds
     two reference surfaces of label 1 the way 3D Slicer does (extraction in voxel index space, then
     vtkWindowedSincPolyDataFilter with Slicer's settings: 20 iterations, pass band 10^(-4*0.5), boundary smoothing
     off, feature-edge smoothing off, non-manifold smoothing on, normalised coordinates; then the full
     index->LPS matrix):
       flying_edges  vtkDiscreteFlyingEdges3D + windowed sinc        (Slicer < 5.6)
       surface_nets  vtkSurfaceNets3D (its own smoothing off) + windowed sinc
  3. Runs Delineate's CLI (`npx tsx main/cli/index.ts mesh ... --format stl`, defaults) and reads its STL.
  4. Records for every surface: volume (mL), area (mm^2), area-weighted centroid, bounds, triangle count, boundary
     and non-manifold edge counts; the voxel volume/centroid; symmetric surface distances between Delineate's mesh
     and each reference (vertex -> nearest point on the other surface: mean, 95th percentile, max);
     and a fixed random sample of reference vertices (surface_nets) that the CI test (no Python) uses to measure
     the distance from the reference surface to a freshly computed Delineate mesh.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import SimpleITK as sitk
import vtk
from vtk.util import numpy_support as ns

SMOOTHING = 0.5
PASS_BAND = 10 ** (-4 * SMOOTHING)
ITERATIONS = 20


def index_to_lps(img):
    d = np.array(img.GetDirection()).reshape(3, 3)
    s = np.array(img.GetSpacing())
    o = np.array(img.GetOrigin())
    m = np.eye(4)
    m[:3, :3] = d @ np.diag(s)
    m[:3, 3] = o
    return m


def vtk_image(arr_zyx):
    """Label array (z, y, x) -> vtkImageData in index space (origin 0, spacing 1)."""
    img = vtk.vtkImageData()
    nz, ny, nx = arr_zyx.shape
    img.SetDimensions(nx, ny, nz)
    img.SetOrigin(0, 0, 0)
    img.SetSpacing(1, 1, 1)
    a = ns.numpy_to_vtk(np.ascontiguousarray(arr_zyx).ravel(order="C").astype(np.uint8), deep=True)
    a.SetName("labels")
    img.GetPointData().SetScalars(a)
    return img


def smooth_and_place(poly, m):
    tri = vtk.vtkTriangleFilter()
    tri.SetInputData(poly)
    tri.Update()
    sm = vtk.vtkWindowedSincPolyDataFilter()
    sm.SetInputData(tri.GetOutput())
    sm.SetNumberOfIterations(ITERATIONS)
    sm.SetPassBand(PASS_BAND)
    sm.BoundarySmoothingOff()
    sm.FeatureEdgeSmoothingOff()
    sm.NonManifoldSmoothingOn()
    sm.NormalizeCoordinatesOn()
    sm.SetWindowFunctionToNuttall()  # VTK >= 9.2 default (Slicer 5.x); explicit so the fixture does not drift
    sm.Update()
    t = vtk.vtkTransform()
    t.SetMatrix(m.ravel().tolist())
    tf = vtk.vtkTransformFilter()
    tf.SetTransform(t)
    tf.SetInputData(sm.GetOutput())
    tf.Update()
    out = tf.GetPolyDataOutput()
    if np.linalg.det(m[:3, :3]) < 0:
        rev = vtk.vtkReverseSense()
        rev.SetInputData(out)
        rev.Update()
        out = rev.GetOutput()
    return out


def flying_edges(img, m):
    fe = vtk.vtkDiscreteFlyingEdges3D()
    fe.SetInputData(img)
    fe.SetValue(0, 1)
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.Update()
    return smooth_and_place(fe.GetOutput(), m)


def surface_nets(img, m):
    sn = vtk.vtkSurfaceNets3D()
    sn.SetInputData(img)
    sn.SetValue(0, 1)
    sn.SmoothingOff()
    sn.SetOutputMeshTypeToTriangles()
    sn.Update()
    return smooth_and_place(sn.GetOutput(), m)


def figures(poly):
    tri = vtk.vtkTriangleFilter()
    tri.SetInputData(poly)
    tri.Update()
    p = tri.GetOutput()
    pts = ns.vtk_to_numpy(p.GetPoints().GetData()).astype(np.float64)
    cells = ns.vtk_to_numpy(p.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    a, b, c = pts[cells[:, 0]], pts[cells[:, 1]], pts[cells[:, 2]]
    cr = np.cross(b - a, c - a)
    area_t = 0.5 * np.linalg.norm(cr, axis=1)
    vol = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
    centroid = ((a + b + c) / 3 * area_t[:, None]).sum(0) / area_t.sum()
    fe = vtk.vtkFeatureEdges()
    fe.SetInputData(p)
    fe.BoundaryEdgesOn()
    fe.NonManifoldEdgesOn()
    fe.FeatureEdgesOff()
    fe.ManifoldEdgesOff()
    fe.Update()
    used = np.unique(cells)
    solid_centroid = (np.einsum("ij,ij->i", a, np.cross(b, c))[:, None] * (a + b + c)).sum(0) / (4 * 6 * vol)
    return {
        "volumeMl": vol / 1000.0,
        "solidCentroidMm": solid_centroid.tolist(),
        "areaMm2": float(area_t.sum()),
        "centroidMm": centroid.tolist(),
        "boundsMm": pts[used].min(0).tolist() + pts[used].max(0).tolist(),
        "triangleCount": int(len(cells)),
        "openOrNonManifoldEdges": int(fe.GetOutput().GetNumberOfCells()),
    }


def distances(src, dst):
    """Distance from every vertex of src to the nearest point of surface dst (mm)."""
    loc = vtk.vtkStaticCellLocator()
    loc.SetDataSet(dst)
    loc.BuildLocator()
    pts = ns.vtk_to_numpy(src.GetPoints().GetData()).astype(np.float64)
    out = np.empty(len(pts))
    cp = [0.0, 0.0, 0.0]
    cid = vtk.reference(0)
    sid = vtk.reference(0)
    d2 = vtk.reference(0.0)
    for i, x in enumerate(pts):
        loc.FindClosestPoint(x.tolist(), cp, cid, sid, d2)
        out[i] = d2.get() ** 0.5
    return out


def dist_stats(d):
    return {"meanMm": float(d.mean()), "p95Mm": float(np.percentile(d, 95)), "maxMm": float(d.max())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--samples", type=int, default=4000)
    args = ap.parse_args()
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

    img = sitk.ReadImage(args.labels)
    arr = sitk.GetArrayFromImage(img)  # z, y, x
    mask = (arr == 1).astype(np.uint8)
    m = index_to_lps(img)
    voxel_mm3 = abs(np.linalg.det(m[:3, :3]))
    kji = np.argwhere(mask > 0)
    ijk_mean = kji[:, ::-1].mean(0)
    voxel_centroid = (m[:3, :3] @ ijk_mean + m[:3, 3]).tolist()

    # Pad by one voxel (as Delineate does) so that the bone touching the bottom slice gives closed references too.
    padded = np.pad(mask, 1)
    shift = np.eye(4)
    shift[:3, 3] = -1
    vimg = vtk_image(padded)
    m = m @ shift
    refs = {"flying_edges": flying_edges(vimg, m), "surface_nets": surface_nets(vimg, m)}

    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["npx", "tsx", "main/cli/index.ts", "mesh", os.path.abspath(args.labels), "--output", tmp, "--labels", "1", "--json"]
        res = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True)
        summary = json.loads(res.stdout)
        r = vtk.vtkSTLReader()
        r.SetFileName(summary["files"][0])
        r.Update()
        ours = r.GetOutput()

    out = {
        "generatedBy": "test/reference/mesh/cranium_reference.py",
        "vtkVersion": vtk.vtkVersion.GetVTKVersion(),
        "labels": os.path.relpath(os.path.abspath(args.labels), os.path.join(root, "..", "shared", "data")),
        "label": 1,
        "settings": {"smoothing": SMOOTHING, "passBand": PASS_BAND, "iterations": ITERATIONS, "space": "LPS"},
        "voxels": {"count": int(mask.sum()), "volumeMl": float(mask.sum() * voxel_mm3 / 1000.0), "centroidMm": voxel_centroid},
        "references": {},
        "delineateAtGeneration": figures(ours),
    }
    for name, poly in refs.items():
        fig = figures(poly)
        d_ours_to_ref = distances(ours, poly)
        d_ref_to_ours = distances(poly, ours)
        fig["distanceDelineateToReference"] = dist_stats(d_ours_to_ref)
        fig["distanceReferenceToDelineate"] = dist_stats(d_ref_to_ours)
        fig["hausdorffMm"] = float(max(d_ours_to_ref.max(), d_ref_to_ours.max()))
        out["references"][name] = fig
        print(name, json.dumps(fig), file=sys.stderr)
    print("delineate", json.dumps(out["delineateAtGeneration"]), file=sys.stderr)

    sn_pts = ns.vtk_to_numpy(refs["surface_nets"].GetPoints().GetData()).astype(np.float64)
    rng = np.random.default_rng(6)
    pick = rng.choice(len(sn_pts), size=min(args.samples, len(sn_pts)), replace=False)
    out["surfaceNetsSampleMm"] = np.round(sn_pts[np.sort(pick)], 3).ravel().tolist()
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
