#!/usr/bin/env python3
"""Read Delineate's segmentation exports with other tools' readers and print what they see, as JSON.

    npx tsx test/reference/seg/exports.ts /tmp/segx
    /work/py/venv/bin/python test/reference/seg/check_exports.py /tmp/segx > test/fixtures/seg/exports-check.json

- seg.dcm: pydicom (dataset fields) and highdicom (segread, segment descriptions, get_volume geometry): per
  segment the label, codes, algorithm, CIELab colour and highdicom's sRGB of it, voxel count and LPS centroid (mm).
- seg.seg.nrrd: slicerio (segment names, colours, label values, layers) and pynrrd (geometry, voxels).
- tumour.nii.gz: nibabel (affine, voxels; centroid converted RAS -> LPS) and the sidecar JSON.

Versions used are printed in the output ("versions"). Requires highdicom, pydicom, pynrrd, slicerio, nibabel, numpy.
"""
import hashlib
import json
import sys
from pathlib import Path

import highdicom as hd
import nibabel as nib
import nrrd
import numpy as np
import pydicom
import slicerio


def centroid_lps(mask_indices, affine):
    """Mean LPS position of voxel indices (N x 3, in the affine's index order) under a 4x4 affine."""
    if len(mask_indices) == 0:
        return None
    pts = np.c_[mask_indices, np.ones(len(mask_indices))] @ np.asarray(affine).T
    return [round(float(x), 4) for x in pts[:, :3].mean(axis=0)]


def code(seq):
    if not seq:
        return None
    c = seq[0]
    return {"scheme": c.CodingSchemeDesignator, "value": c.get("CodeValue") or c.get("LongCodeValue"), "meaning": c.CodeMeaning}


def check_dicom(path: Path):
    raw = path.read_bytes()
    ds = pydicom.dcmread(path)
    seg = hd.seg.segread(path)
    vol = seg.get_volume(combine_segments=False)
    out = {
        "sha256": hashlib.sha256(raw).hexdigest(),
        "sop_class_uid": str(ds.SOPClassUID),
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "modality": ds.Modality,
        "segmentation_type": ds.SegmentationType,
        "number_of_frames": int(ds.NumberOfFrames),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "referenced_series": [str(s.SeriesInstanceUID) for s in ds.ReferencedSeriesSequence],
        "referenced_instances": len(ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence),
        "frame_of_reference_uid": str(ds.FrameOfReferenceUID),
        "study_instance_uid": str(ds.StudyInstanceUID),
        "segments_overlap": ds.get("SegmentsOverlap"),
        "segments": [],
    }
    for i, number in enumerate(seg.get_segment_numbers()):
        d = seg.get_segment_description(number)
        lab = list(d.RecommendedDisplayCIELabValue)
        rgb = hd.color.CIELabColor.from_dicom_value(tuple(lab)).to_rgb()
        mask = vol.array[..., i] > 0
        idx = np.argwhere(mask)
        out["segments"].append({
            "number": int(number),
            "label": d.segment_label,
            "algorithm_type": d.algorithm_type.value,
            "algorithm_name": d.get("SegmentAlgorithmName"),
            "category": code(d.SegmentedPropertyCategoryCodeSequence),
            "type": code(d.SegmentedPropertyTypeCodeSequence),
            "cielab": [int(x) for x in lab],
            "highdicom_rgb": [int(x) for x in rgb],
            "voxel_count": int(mask.sum()),
            "centroid_lps_mm": centroid_lps(idx, vol.affine),
        })
    return out


def check_slicer(path: Path):
    s = slicerio.read_segmentation(str(path))
    voxels, header = nrrd.read(str(path))
    # pynrrd: axes in file order (list axis first for 4-D); index (i, j, k) -> LPS via space directions/origin.
    dirs = np.array([row for row in header["space directions"] if not np.any(np.isnan(np.asarray(row, dtype=float)))], dtype=float)
    origin = np.asarray(header["space origin"], dtype=float)
    affine = np.eye(4)
    affine[:3, :3] = dirs.T
    affine[:3, 3] = origin
    segments = []
    for seg in s["segments"]:
        layer = seg.get("layer", 0)
        vol = voxels[layer] if voxels.ndim == 4 else voxels
        idx = np.argwhere(vol == seg["labelValue"])
        segments.append({
            "name": seg["name"],
            "label_value": int(seg["labelValue"]),
            "layer": int(layer),
            "color": [round(float(c), 4) for c in seg["color"]],
            "terminology": seg.get("terminology"),
            "voxel_count": int(len(idx)),
            "centroid_lps_mm": centroid_lps(idx, affine),
        })
    return {
        "space": header["space"],
        "sizes": [int(x) for x in header["sizes"]],
        "dimension": int(header["dimension"]),
        "space_origin": [round(float(x), 4) for x in origin],
        "segments": segments,
    }


def check_nifti(path: Path):
    img = nib.load(str(path))
    data = np.asarray(img.dataobj)
    ras_to_lps = np.diag([-1.0, -1.0, 1.0, 1.0])
    affine_lps = ras_to_lps @ img.affine
    side = json.loads((path.parent / "tumour.segments.json").read_text())
    counts = {}
    centroids = {}
    for v in sorted(int(x) for x in np.unique(data) if x != 0):
        idx = np.argwhere(data == v)
        counts[str(v)] = int(len(idx))
        centroids[str(v)] = centroid_lps(idx, affine_lps)
    return {
        "shape": [int(x) for x in data.shape],
        "dtype": str(data.dtype),
        "voxel_counts": counts,
        "centroid_lps_mm": centroids,
        "sidecar_names": {str(s["value"]): s["name"] for s in side["segments"]},
    }


def main():
    folder = Path(sys.argv[1])
    print(json.dumps({
        "versions": {"highdicom": hd.__version__, "pydicom": pydicom.__version__, "pynrrd": nrrd.__version__ if hasattr(nrrd, "__version__") else None,
                     "nibabel": nib.__version__, "numpy": np.__version__},
        "dicom_seg": check_dicom(folder / "seg.dcm"),
        "slicer_seg": check_slicer(folder / "seg.seg.nrrd"),
        "nifti": check_nifti(folder / "tumour.nii.gz"),
    }, indent=2))


if __name__ == "__main__":
    main()
