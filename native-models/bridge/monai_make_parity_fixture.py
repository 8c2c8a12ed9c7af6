#!/usr/bin/env python3
"""Regenerate test/fixtures/import/monai/: the tiny MONAI test bundle (monai_make_test_bundle.py) exported with
export_monai.py, a synthetic CT-like volume, and MONAI's own segmentation of it, for the CI test that runs
Delineate on the exported model and compares.

  /work/py/venv/bin/python native-models/bridge/monai_make_parity_fixture.py [--out test/fixtures/import/monai]

Writes:
  model/manifest.json, model/MODEL_CARD.md, model/model.onnx   the export of the bundle made with
                      --inferer-mode constant (what `import-model monai-bundle` makes)
  ct.nii.gz           int16 volume, 36 x 40 x 30 voxels at 1.5 x 1.5 x 2.0 mm, RAS affine (already at the bundle's
                      spacing and orientation, so Orientationd/Spacingd are identities and the comparison tests the
                      intensity mapping, the sliding window, blending, argmax and the largest-component step)
  monai_ref_seg.nii.gz  uint8 labels from MONAI itself: the bundle's own "preprocessing" and "inferer" objects
                      (ConfigParser), the torch network with the bundle weights, softmax, argmax,
                      KeepLargestConnectedComponent(applied_labels=[1])
  parity.json         figures: ONNX vs torch max diff, label counts
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, '..', '..'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(root, 'test', 'fixtures', 'import', 'monai'))
    a = ap.parse_args()
    import nibabel as nib
    import torch
    from monai.bundle import ConfigParser
    from monai.inferers import sliding_window_inference  # noqa: F401 (the bundle's inferer uses it)
    from monai.transforms import KeepLargestConnectedComponent

    tmp = tempfile.mkdtemp(prefix='delineate-monai-fixture-')
    try:
        bundle = os.path.join(tmp, 'bundle')
        # constant blending (MONAI's default): Delineate's manifest 'gaussian' is nnU-Net's map (impulse at patch // 2,
        # truncated at 4 sigma), not MONAI's (centred at (patch - 1) / 2, floored at 1e-3), so only the constant mode
        # can be compared exactly (with the gaussian bundle, 1.5 % of the voxels of this random-weight net differ)
        subprocess.run([sys.executable, os.path.join(here, 'monai_make_test_bundle.py'), bundle, '--inferer-mode',
                        'constant'], check=True)
        model_tmp = os.path.join(tmp, 'model')
        subprocess.run([sys.executable, os.path.join(here, 'export_monai.py'), bundle, '--out', model_tmp], check=True)
        os.makedirs(os.path.join(a.out, 'model'), exist_ok=True)
        for f in ('manifest.json', 'MODEL_CARD.md', 'model.onnx'):
            shutil.copyfile(os.path.join(model_tmp, f), os.path.join(a.out, 'model', f))

        # synthetic CT-like volume: smooth blobs (soft tissue, a bright organ, air) plus noise, int16 HU
        rng = np.random.default_rng(7)
        shape = (36, 40, 30)
        x, y, z = np.meshgrid(*[np.arange(s, dtype=np.float32) for s in shape], indexing='ij')
        vol = np.full(shape, -20.0, np.float32)
        for _ in range(6):
            c = [rng.uniform(4, s - 4) for s in shape]
            r = rng.uniform(4, 10)
            hu = rng.uniform(-150, 250)
            vol += hu * np.exp(-(((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2) / (2 * r * r)))
        vol += rng.normal(0, 15, shape)
        vol = np.round(vol).astype(np.int16)
        affine = np.diag([1.5, 1.5, 2.0, 1.0])
        ct = os.path.join(a.out, 'ct.nii.gz')
        nib.save(nib.Nifti1Image(vol, affine), ct)

        # MONAI's own inference with the bundle's objects
        parser = ConfigParser()
        parser.read_meta(os.path.join(bundle, 'configs', 'metadata.json'))
        parser.read_config(os.path.join(bundle, 'configs', 'inference.json'))
        parser['bundle_root'] = bundle
        net = parser.get_parsed_content('network_def')
        net.load_state_dict(torch.load(os.path.join(bundle, 'models', 'model.pt'), map_location='cpu', weights_only=True))
        net.eval()
        pre = parser.get_parsed_content('preprocessing')
        inferer = parser.get_parsed_content('inferer')
        d = pre({'image': ct})
        img = d['image']
        if tuple(img.shape[1:]) != shape:
            raise SystemExit(f'MONAI preprocessing changed the grid {shape} -> {tuple(img.shape[1:])}')
        with torch.no_grad():
            logits = inferer(img[None].float(), net)[0]
        labels = torch.argmax(torch.softmax(logits, 0), 0, keepdim=True)
        labels = KeepLargestConnectedComponent(applied_labels=[1])(labels)[0].numpy().astype(np.uint8)
        nib.save(nib.Nifti1Image(labels, affine), os.path.join(a.out, 'monai_ref_seg.nii.gz'))
        m = json.load(open(os.path.join(a.out, 'model', 'manifest.json')))
        counts = {int(v): int((labels == v).sum()) for v in np.unique(labels)}
        with open(os.path.join(a.out, 'parity.json'), 'w') as f:
            json.dump({'onnxVsTorchMaxAbsDiff': m['provenance']['onnxVsTorchMaxAbsDiff'], 'shape': list(shape),
                       'referenceLabelCounts': counts}, f, indent=2)
            f.write('\n')
        print('reference label counts', counts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
