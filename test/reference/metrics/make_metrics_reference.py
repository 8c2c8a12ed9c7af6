"""
Reference numbers for Delineate's segmentation metrics (main/core/metrics), computed with independent
implementations:

* Dice / IoU / TP / FP / FN: nnU-Net v2 (nnunetv2.evaluation.evaluate_predictions.compute_tp_fp_fn_tn and its
  Dice/IoU formulas, NaN when reference and prediction are both empty).
* HD95, HD (max), ASSD, NSD: MONAI 1.6.1 (compute_hausdorff_distance(percentile=95), compute_hausdorff_distance(),
  compute_average_surface_distance(symmetric=True), compute_surface_dice(use_subvoxels=False)), all with the
  physical voxel spacing.
* For information only (different definitions, not compared in tests): DeepMind surface-distance (surfel-area
  weighted) and MedPy (hd95 over the pooled distances, assd = mean of the two directed means).

Regenerate (needs /work/py/venv with monai==1.6.1, medpy==0.5.2, surface-distance==0.1, nnunetv2, nibabel):
    /work/py/venv/bin/python test/reference/metrics/make_metrics_reference.py [DATA_ROOT]
Writes test/fixtures/metrics/metrics_reference.json and test/fixtures/metrics/PGBM-001_04-02-1992_MaskTumor_perturbed.nii.gz.
"""
import json
import os
import sys
import time
import warnings

import nibabel as nib
import numpy as np
import torch
from scipy import ndimage

from monai.metrics import (compute_average_surface_distance, compute_hausdorff_distance, compute_surface_dice)
from nnunetv2.evaluation.evaluate_predictions import compute_tp_fp_fn_tn
import monai
import medpy.metric.binary as medpy_binary
import surface_distance as deepmind_sd

warnings.filterwarnings('ignore')

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
DATA = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(PROJECT, '..', 'shared', 'data'))
FIXTURES = os.path.join(PROJECT, 'test', 'fixtures', 'metrics')
TOLERANCES_MM = [1.0, 3.0, 5.0]


def num(x):
    """JSON-safe number: NaN and infinities as strings (the same convention as Delineate's reports)."""
    x = float(x)
    if np.isnan(x):
        return 'NaN'
    if np.isinf(x):
        return 'Infinity' if x > 0 else '-Infinity'
    return x


def monai_metrics(pred: np.ndarray, ref: np.ndarray, spacing):
    p = torch.from_numpy(pred.astype(np.float32))[None, None]
    r = torch.from_numpy(ref.astype(np.float32))[None, None]
    sp = [float(s) for s in spacing]
    out = {
        'hd95Mm': num(compute_hausdorff_distance(p, r, include_background=True, percentile=95, spacing=sp)[0, 0]),
        'hdMm': num(compute_hausdorff_distance(p, r, include_background=True, spacing=sp)[0, 0]),
        'assdMm': num(compute_average_surface_distance(p, r, include_background=True, symmetric=True, spacing=sp)[0, 0]),
        'nsd': {},
    }
    for tol in TOLERANCES_MM:
        out['nsd'][str(tol)] = num(compute_surface_dice(p, r, class_thresholds=[tol], include_background=True, spacing=sp)[0, 0])
    return out


def info_metrics(pred: np.ndarray, ref: np.ndarray, spacing):
    """DeepMind and MedPy figures, for the report only (their definitions differ from MONAI's)."""
    out = {}
    if pred.any() and ref.any():
        sd = deepmind_sd.compute_surface_distances(ref, pred, tuple(float(s) for s in spacing))
        a, b = deepmind_sd.compute_average_surface_distance(sd)
        out['deepmind'] = {
            'hd95Mm': num(deepmind_sd.compute_robust_hausdorff(sd, 95)),
            'assdMeanOfDirectedMm': num((a + b) / 2),
            'nsd': {str(t): num(deepmind_sd.compute_surface_dice_at_tolerance(sd, t)) for t in TOLERANCES_MM},
        }
        out['medpy'] = {
            'hd95Mm': num(medpy_binary.hd95(pred, ref, voxelspacing=spacing)),
            'assdMm': num(medpy_binary.assd(pred, ref, voxelspacing=spacing)),
        }
    return out


def label_rows(pred_lab: np.ndarray, ref_lab: np.ndarray, spacing, labels, with_info=True):
    voxel_ml = float(np.prod(np.asarray(spacing, dtype=np.float64))) / 1000.0
    rows = []
    for lab in labels:
        p = pred_lab == lab
        r = ref_lab == lab
        tp, fp, fn, tn = compute_tp_fp_fn_tn(r, p)
        if tp + fp + fn == 0:
            dice = iou = float('nan')
        else:
            dice = 2 * tp / (2 * tp + fp + fn)
            iou = tp / (tp + fp + fn)
        row = {
            'label': int(lab), 'tp': int(tp), 'fp': int(fp), 'fn': int(fn),
            'predVoxels': int(tp + fp), 'refVoxels': int(tp + fn),
            'dice': num(dice), 'iou': num(iou),
            'predVolumeMl': (tp + fp) * voxel_ml, 'refVolumeMl': (tp + fn) * voxel_ml,
        }
        row.update(monai_metrics(p, r, spacing))
        if with_info:
            row['info'] = info_metrics(p, r, spacing)
        rows.append(row)
    return rows


def load(path):
    img = nib.load(path)
    return np.asarray(img.dataobj), tuple(float(z) for z in img.header.get_zooms()[:3]), img


def real_pair(name, pred_rel, ref_rel, labels=None, pred_array=None):
    t0 = time.time()
    ref, spacing, _ = load(os.path.join(DATA, ref_rel))
    if pred_array is None:
        pred, spacing_p, _ = load(os.path.join(DATA, pred_rel))
        assert spacing_p == spacing and pred.shape == ref.shape
    else:
        pred = pred_array
    if labels is None:
        labels = sorted(int(v) for v in set(np.unique(pred)) | set(np.unique(ref)) if v != 0)
    rows = label_rows(pred, ref, spacing, labels)
    print(f'{name}: {len(labels)} labels in {time.time() - t0:.1f} s', file=sys.stderr)
    return {'name': name, 'pred': pred_rel, 'ref': ref_rel, 'shape': list(ref.shape), 'spacingMm': list(spacing), 'labels': rows}


def flat_runs(mask: np.ndarray):
    """Foreground voxels as runs [start, length, start, length, ...] of flat indices with i fastest (Fortran
    order of the [i, j, k] array)."""
    idx = np.flatnonzero(mask.ravel(order='F'))
    runs = []
    for i in idx:
        if runs and runs[-2] + runs[-1] == i:
            runs[-1] += 1
        else:
            runs += [int(i), 1]
    return runs


def synthetic_cases():
    rng = np.random.default_rng(20261129)
    cases = []

    def add(name, shape, spacing, pred, ref):
        pred = pred.astype(bool)
        ref = ref.astype(bool)
        rows = label_rows(pred.astype(np.uint8), ref.astype(np.uint8), spacing, [1], with_info=False)
        cases.append({'name': name, 'shape': list(shape), 'spacingMm': list(spacing),
                      'predRuns': flat_runs(pred), 'refRuns': flat_runs(ref), 'metrics': rows[0]})

    shape = (12, 10, 8)
    z = np.zeros(shape, bool)
    box = z.copy(); box[3:8, 2:7, 2:6] = True
    add('both-empty', shape, (1.0, 1.0, 1.0), z, z)
    add('empty-pred', shape, (1.0, 1.0, 1.0), z, box)
    add('empty-ref', shape, (1.0, 1.0, 1.0), box, z)
    one_a = z.copy(); one_a[2, 3, 4] = True
    one_b = z.copy(); one_b[9, 7, 1] = True
    add('single-voxel-same', shape, (0.7, 1.3, 2.0), one_a, one_a)
    add('single-voxel-apart', shape, (0.7, 1.3, 2.0), one_a, one_b)
    add('single-voxel-vs-box', shape, (0.7, 1.3, 2.0), one_a, box)
    shifted = np.roll(box, (1, -1, 1), axis=(0, 1, 2))
    add('box-shifted-anisotropic', shape, (0.5, 1.0, 2.5), shifted, box)
    border = z.copy(); border[0:5, 0:10, 5:8] = True  # touches three faces of the grid
    add('touching-border', shape, (1.0, 2.0, 3.0), border, box)
    # Random blobs: smoothed noise thresholded, on an anisotropic grid; many distances and ties.
    shape2 = (40, 36, 24)
    for n, spacing in enumerate([(0.8, 0.8, 3.0), (1.5, 0.6, 1.1)]):
        a = ndimage.gaussian_filter(rng.standard_normal(shape2), 2.5) > 0.05
        b = ndimage.gaussian_filter(rng.standard_normal(shape2), 2.5) > 0.05
        b = a ^ (ndimage.binary_dilation(a) & (b & ~a)) if n == 0 else (a & ~b) | (ndimage.binary_erosion(b) & ~a)
        add(f'random-blobs-{n}', shape2, spacing, b, a)
    return cases


def percentile_cases():
    """np.percentile (linear) on a few arrays, including ties and n = 1, 2."""
    rng = np.random.default_rng(7)
    arrays = [[3.0], [1.0, 2.0], [0.0, 0.0, 1.0, 1.0, 1.0, 4.5], list(rng.exponential(2.0, 37)), list(np.round(rng.exponential(2.0, 101), 1))]
    return [{'values': [float(v) for v in a], 'q': q, 'expected': float(np.percentile(np.asarray(a), q))}
            for a in arrays for q in (0, 5, 50, 95, 99.5, 100)]


def perturb_mask(mask: np.ndarray) -> np.ndarray:
    """A plausible 'prediction' of a tumour mask: dilated in-plane by one voxel, shifted one slice and two
    columns, with the smallest connected components removed. Deterministic."""
    m = mask > 0
    st = np.zeros((3, 3, 3), bool); st[:, :, 1] = ndimage.generate_binary_structure(2, 1)
    d = ndimage.binary_dilation(m, structure=st)
    d = np.roll(d, (2, 0, 1), axis=(0, 1, 2))
    lab, n = ndimage.label(d)
    sizes = ndimage.sum(d, lab, range(1, n + 1))
    keep = np.isin(lab, 1 + np.flatnonzero(sizes >= 20))
    return keep.astype(np.uint8)


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    out = {
        'generator': 'test/reference/metrics/make_metrics_reference.py',
        'versions': {'monai': monai.__version__, 'torch': torch.__version__, 'numpy': np.__version__},
        'tolerancesMm': TOLERANCES_MM,
        'conventions': 'dice/iou NaN when both empty (nnU-Net); MONAI: hd95/hd/assd NaN both empty, Infinity one empty; nsd NaN both empty, 0 one empty',
        'real': [],
        'synthetic': synthetic_cases(),
        'percentiles': percentile_cases(),
    }
    out['real'].append(real_pair('totalseg-normal-vs-fast', 'totalseg-example/example_seg_fast.nii.gz', 'totalseg-example/example_seg.nii.gz'))
    # Anisotropic, oblique real grid: the TCIA expert tumour mask vs a perturbed copy (committed fixture).
    tum_rel = 'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_MaskTumor.nii.gz'
    tum, _, tum_img = load(os.path.join(DATA, tum_rel))
    pert = perturb_mask(tum)
    pert_path = os.path.join(FIXTURES, 'PGBM-001_04-02-1992_MaskTumor_perturbed.nii.gz')
    pimg = nib.Nifti1Image(pert, tum_img.affine, tum_img.header)
    pimg.set_data_dtype(np.uint8)
    pimg.header['scl_slope'] = 1.0
    pimg.header['scl_inter'] = 0.0
    nib.save(pimg, pert_path)
    out['real'].append(real_pair('tcia-tumour-vs-perturbed', 'FIXTURE:PGBM-001_04-02-1992_MaskTumor_perturbed.nii.gz', tum_rel, [1], pred_array=pert))
    # A large anisotropic pair: InVesalius bone vs soft-tissue threshold masks of one head CT (0.96 x 0.96 x 1.5 mm).
    out['real'].append(real_pair('cranium-bone-vs-softtissue', 'invesalius-cranium-ct/cranium_mask0_bone_226_3071HU.nii.gz',
                                 'invesalius-cranium-ct/cranium_mask1_softtissue_-142_2986HU.nii.gz', [1]))
    path = os.path.join(FIXTURES, 'metrics_reference.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=1, allow_nan=False)
    print(f'wrote {path}', file=sys.stderr)


if __name__ == '__main__':
    main()
