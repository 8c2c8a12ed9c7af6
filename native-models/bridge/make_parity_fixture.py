#!/usr/bin/env python3
"""Regenerate test/fixtures/nnunet-parity: nnU-Net's own nnUNetPredictor (CPU, tile step 0.5, Gaussian) run
with and without mirroring on the T1c volumes of the patient that fold 0 never saw (PGBM-001), with the fold-0
checkpoint that was exported to native-models/brain-tumour-t1c/fold_0.onnx.

  make_parity_fixture.py --model-folder $nnUNet_results/Dataset501_BrainTumourT1c/nnUNetTrainerDelineateCPU__nnUNetPlans2DCPU__2d \
      [--fold 0] [--checkpoint checkpoint_final.pth] [--data-root ../shared/data] \
      [--model-dir native-models/brain-tumour-t1c] [--out test/fixtures/nnunet-parity]

Writes per case and mirroring setting:
  <case>.mirror.labels.nii.gz / <case>.nomirror.labels.nii.gz   nnU-Net's label map (uint8, input geometry)
  <case>.nomirror.prob1.nii.gz   nnU-Net's foreground probability (softmax channel 1) on the input grid, quantised
                                 to uint8 (p = value / 255), only for the run without mirroring
and parity.json: settings, nnU-Net/torch versions, input paths relative to the data root, the sha256 of the ONNX
and checkpoint used, label voxel counts, the fraction of voxels whose two class probabilities are within 1e-4 of a
tie (where a correct re-implementation may legitimately differ), and Dice against the reference mask.
Must be rerun (and committed) whenever fold_0.onnx changes: parity.json's onnxSha256 must equal the manifest's.
"""
import argparse, hashlib, json, os, sys, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CASES = {0: ['tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_T1post.nii.gz',
             'tcia-brain-tumor-progression/nifti/PGBM-001_11-19-1991/PGBM-001_11-19-1991_T1post.nii.gz']}
# A study fold 0 WAS trained on, on the other scanner's grid (GE 512x512): parity is checked on a case with a large
# prediction too (the first session's 3D model predicted almost nothing on the held-out patient).
TRAINING_CASES = {0: ['tcia-brain-tumor-progression/nifti/PGBM-006_12-10-1996/PGBM-006_12-10-1996_T1post.nii.gz']}


def sha256(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model-folder', default=os.path.join(os.environ.get('nnUNet_results', '/work/nnunet_work/results'),
                    'Dataset501_BrainTumourT1c', 'nnUNetTrainerDelineateCPU__nnUNetPlans2DCPU__2d'))
    ap.add_argument('--fold', type=int, default=0)
    ap.add_argument('--checkpoint', default='checkpoint_final.pth')
    ap.add_argument('--data-root', default=os.path.join(REPO, '..', 'shared', 'data'))
    ap.add_argument('--model-dir', default=os.path.join(REPO, 'native-models', 'brain-tumour-t1c'))
    ap.add_argument('--out', default=os.path.join(REPO, 'test', 'fixtures', 'nnunet-parity'))
    ap.add_argument('--threads', type=int, default=int(os.environ.get('DELINEATE_TORCH_THREADS', '1')))
    a = ap.parse_args()

    import numpy as np
    import SimpleITK as sitk
    import torch
    from importlib.metadata import version
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO
    torch.set_num_threads(a.threads)

    man = json.load(open(os.path.join(a.model_dir, 'manifest.json')))
    fe = [f for f in man['folds'] if f['fold'] == a.fold]
    if not fe:
        sys.exit(f'fold {a.fold} not in {a.model_dir}/manifest.json')
    fe = fe[0]
    onnx_path = os.path.join(a.model_dir, fe['file'])
    onnx_sha = sha256(onnx_path)
    if onnx_sha != fe['sha256']:
        sys.exit(f'{onnx_path}: sha256 differs from the manifest')
    if fe['checkpoint'] != a.checkpoint:
        sys.exit(f"manifest fold {a.fold} was exported from {fe['checkpoint']}, not {a.checkpoint}: pass "
                 f"--checkpoint {fe['checkpoint']} (or re-export)")
    ckpt = os.path.join(a.model_folder, f'fold_{a.fold}', a.checkpoint)
    epochs = int(torch.load(ckpt, map_location='cpu', weights_only=False).get('current_epoch', 0))

    os.makedirs(a.out, exist_ok=True)
    data_root = os.path.abspath(a.data_root)
    io = SimpleITKIO()
    results = []
    for mirror in (True, False):
        pred = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=mirror,
                               perform_everything_on_device=False, device=torch.device('cpu'), allow_tqdm=False)
        pred.initialize_from_trained_model_folder(a.model_folder, (a.fold,), a.checkpoint)
        for rel in CASES[a.fold] + TRAINING_CASES.get(a.fold, []):
            src = os.path.join(data_root, rel)
            case = os.path.basename(rel).replace('_T1post.nii.gz', '')
            img, props = io.read_images([src])
            seg, prob = pred.predict_single_npy_array(img, props, None, None, True)
            tag = 'mirror' if mirror else 'nomirror'
            lab_path = os.path.join(a.out, f'{case}.{tag}.labels.nii.gz')
            io.write_seg(seg.astype(np.uint8), lab_path, props)
            entry = {'case': case, 'seenInTraining': rel in TRAINING_CASES.get(a.fold, []), 'input': rel, 'inputFromRepoRoot': os.path.join('../shared/data', rel),
                     'inputSha256': sha256(src),
                     'reference': os.path.join(os.path.dirname(rel), f'{case}_MaskTumor.nii.gz'),
                     'mirroring': mirror, 'labels': os.path.basename(lab_path), 'labelsSha256': sha256(lab_path),
                     'voxelsPerLabel': {str(int(v)): int((seg == v).sum()) for v in np.unique(seg)},
                     'tieFraction1e-4': float((np.abs(prob[1] - prob[0]) < 1e-4).mean()),
                     'nearTieFraction1e-2': float((np.abs(prob[1] - prob[0]) < 1e-2).mean())}
            if not mirror:
                pp = os.path.join(a.out, f'{case}.{tag}.prob1.nii.gz')
                # quantised to uint8 (value = round(255 p)) to keep the fixture small; for inspection, not parity
                im = sitk.GetImageFromArray(np.round(prob[1].astype(np.float64) * 255).astype(np.uint8))
                ref = sitk.ReadImage(src)
                im.CopyInformation(ref)
                sitk.WriteImage(im, pp, True)
                entry['probabilityForeground'] = os.path.basename(pp)
                entry['probabilityForegroundScale'] = 1 / 255
            gt = os.path.join(data_root, os.path.dirname(rel), f'{case}_MaskTumor.nii.gz')
            if os.path.isfile(gt):
                g = sitk.GetArrayFromImage(sitk.ReadImage(gt)) > 0
                s = seg > 0
                entry['diceVsReference'] = float(2 * (g & s).sum() / max(1, g.sum() + s.sum()))
            results.append(entry)
            print(json.dumps(entry))
    out = {
        'what': 'nnU-Net v2 nnUNetPredictor reference outputs for Delineate parity (fold-0 model on the held-out '
                'patient PGBM-001 and on one training study of PGBM-006 (GE 512x512 grid) with a '
                'substantial predicted tumour)',
        'regenerate': 'native-models/bridge/make_parity_fixture.py (see native-models/bridge/TRAINING.md)',
        'dataRoot': '../shared/data',
        'pathsRelativeTo': 'input and reference paths are relative to dataRoot (../shared/data from the repo root)',
        'model': {'dir': 'native-models/brain-tumour-t1c', 'fold': a.fold, 'onnx': fe['file'],
                  'onnxSha256': onnx_sha, 'checkpoint': a.checkpoint, 'checkpointEpochs': epochs,
                  'trainer': man['provenance']['trainer'], 'plans': man['provenance']['plans'],
                  'configuration': man['provenance']['configuration']},
        'settings': {'tileStepSize': 0.5, 'useGaussian': True, 'mirroring': [True, False],
                     'mirroringAxes': man['mirroringAxes'], 'device': 'cpu', 'folds': [a.fold],
                     'perform_everything_on_device': False},
        'versions': {'nnunetv2': version('nnunetv2'), 'torch': torch.__version__,
                     'SimpleITK': version('SimpleITK'), 'numpy': np.__version__},
        'generatedAt': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'cases': results,
        'note': 'Labels are nnU-Net\'s argmax after resampling logits/probabilities back to the cropped original '
                'grid. A correct re-implementation may differ only where the two class probabilities are nearly '
                'tied (tieFraction); compare with a stated tolerance on the fraction of differing voxels.',
    }
    with open(os.path.join(a.out, 'parity.json'), 'w') as f:
        json.dump(out, f, indent=2)
        f.write('\n')
    print('wrote', a.out)


if __name__ == '__main__':
    main()
