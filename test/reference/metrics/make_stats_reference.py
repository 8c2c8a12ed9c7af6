"""
Reference per-segment statistics for `delineate stats` (main/core/stats), computed independently with nibabel +
NumPy: voxel counts, volume (mL), intensity mean / population SD (np.std, ddof=0) / min / max in float64,
inclusive voxel bounding box, LPS bounding box of the box's corner voxel centres, and centroid in LPS mm.

Voxels and indices come from nibabel (index [i, j, k] as stored). Positions use the grid as ITK reads it (SimpleITK
origin/spacing/direction: LPS = origin + D·diag(spacing)·ijk), because ITK — and so Delineate's reader — takes the
qform of these dcm2niix files, whose sform differs from the qform by up to 1e-4 mm over the TCIA volume; the
nibabel sform figures are kept beside them for information ('centroidLpsMmNibabelSform').

Regenerate: /work/py/venv/bin/python test/reference/metrics/make_stats_reference.py [DATA_ROOT]
Writes test/fixtures/metrics/stats_reference.json.
"""
import itertools
import json
import os
import sys

import nibabel as nib
import numpy as np
import SimpleITK as sitk

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
DATA = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(PROJECT, '..', 'shared', 'data'))

PAIRS = [
    ('totalseg-ct-sm', 'totalseg-example/example_ct_sm.nii.gz', 'totalseg-example/example_seg.nii.gz'),
    ('totalseg-ct-full-fast', 'totalseg-example/example_ct.nii.gz', 'totalseg-example/example_seg_fast_force_split.nii.gz'),
    ('tcia-oblique-t1-tumour', 'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_T1post.nii.gz',
     'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_MaskTumor.nii.gz'),
]


def lps_affine_nibabel(img):
    a = img.affine.astype(np.float64).copy()
    a[:2, :] *= -1
    return a


def lps_affine_itk(path):
    r = sitk.ImageFileReader()
    r.SetFileName(path)
    r.ReadImageInformation()
    d = np.asarray(r.GetDirection(), dtype=np.float64).reshape(3, 3)
    a = np.eye(4)
    a[:3, :3] = d @ np.diag(np.asarray(r.GetSpacing(), dtype=np.float64))
    a[:3, 3] = r.GetOrigin()
    return a


def stats(name, image_rel, labels_rel):
    img = nib.load(os.path.join(DATA, image_rel))
    lab = nib.load(os.path.join(DATA, labels_rel))
    assert img.shape == lab.shape and np.allclose(img.affine, lab.affine, atol=1e-4)
    x = img.get_fdata(dtype=np.float64)
    l = np.asarray(lab.dataobj).astype(np.int64)
    aff = lps_affine_itk(os.path.join(DATA, labels_rel))
    aff_nib = lps_affine_nibabel(lab)
    zooms = [float(z) for z in lab.header.get_zooms()[:3]]
    voxel_ml = float(np.prod(zooms)) / 1000.0
    segs = []
    for v in sorted(int(u) for u in np.unique(l) if u != 0):
        m = l == v
        idx = np.argwhere(m).astype(np.float64)
        vals = x[m]
        lo = idx.min(0).astype(int)
        hi = idx.max(0).astype(int)
        corners = np.array([[c[0], c[1], c[2], 1.0] for c in itertools.product(*zip(lo, hi))])
        pts = corners @ aff.T
        centroid = np.append(idx.mean(0), 1.0) @ aff.T
        segs.append({
            'value': v,
            'voxelCount': int(m.sum()),
            'volumeMl': float(m.sum()) * voxel_ml,
            'intensity': {'mean': float(vals.mean()), 'sd': float(vals.std()), 'min': float(vals.min()), 'max': float(vals.max())},
            'bboxIjk': {'min': lo.tolist(), 'max': hi.tolist()},
            'bboxLpsMm': {'min': pts[:, :3].min(0).tolist(), 'max': pts[:, :3].max(0).tolist()},
            'centroidLpsMm': centroid[:3].tolist(),
            'centroidLpsMmNibabelSform': (np.append(idx.mean(0), 1.0) @ aff_nib.T)[:3].tolist(),
        })
    print(f'{name}: {len(segs)} segments', file=sys.stderr)
    return {'name': name, 'image': image_rel, 'labels': labels_rel, 'shape': list(l.shape), 'segments': segs}


def main():
    out = {'generator': 'test/reference/metrics/make_stats_reference.py', 'numpy': np.__version__, 'nibabel': nib.__version__,
           'pairs': [stats(*p) for p in PAIRS]}
    path = os.path.join(PROJECT, 'test', 'fixtures', 'metrics', 'stats_reference.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=1, allow_nan=False)
    print(f'wrote {path}', file=sys.stderr)


if __name__ == '__main__':
    main()
