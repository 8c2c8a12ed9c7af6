#!/usr/bin/env python3
"""Make a small but real MONAI bundle for testing export_monai.py: a tiny 3-D monai.networks.nets.UNet with
seeded random weights, laid out like a MONAI model-zoo bundle (configs/metadata.json, configs/inference.json in
the style of spleen_ct_segmentation, models/model.pt as a state dict; optionally models/model.ts TorchScript).

  monai_make_test_bundle.py <bundle_dir> [--torchscript] [--seed 0] [--inferer-mode gaussian|constant]

The inference.json uses LoadImaged, EnsureChannelFirstd, Orientationd(RAS), Spacingd(1.5 mm, bilinear),
ScaleIntensityRanged(-57..164 -> 0..1, clip), EnsureTyped; SlidingWindowInferer(roi 32³, overlap 0.25, gaussian or --inferer-mode);
Activationsd(softmax), Invertd, AsDiscreted(argmax), KeepLargestConnectedComponentd([1]), SaveImaged.
"""
import argparse
import json
import os

import torch
from monai.networks.nets import UNet

NETWORK_DEF = {
    '_target_': 'UNet',
    'spatial_dims': 3,
    'in_channels': 1,
    'out_channels': 2,
    'channels': [4, 8, 16],
    'strides': [2, 2],
    'num_res_units': 1,
    'norm': 'batch',
}

METADATA = {
    'schema': 'https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20220324.json',
    'version': '0.1.0',
    'changelog': {'0.1.0': 'tiny random-weight test bundle for Delineate'},
    'monai_version': '1.6.1',
    'pytorch_version': '2.15.0',
    'numpy_version': '2.4.6',
    'optional_packages_version': {'nibabel': '5.4.2'},
    'name': 'Tiny spleen-style test bundle',
    'task': 'Test bundle for Delineate import-model monai-bundle (random weights; segments nothing meaningful)',
    'description': 'A tiny MONAI UNet with seeded random weights, laid out like spleen_ct_segmentation.',
    'authors': 'Delineate tests',
    'copyright': 'Public domain (generated test data)',
    'license': 'CC0-1.0',
    'network_data_format': {
        'inputs': {'image': {'type': 'image', 'format': 'hounsfield', 'modality': 'CT', 'num_channels': 1,
                             'spatial_shape': [32, 32, 32], 'dtype': 'float32', 'value_range': [0, 1],
                             'is_patch_data': True, 'channel_def': {'0': 'image'}}},
        'outputs': {'pred': {'type': 'image', 'format': 'segmentation', 'num_channels': 2,
                             'spatial_shape': [32, 32, 32], 'dtype': 'float32', 'value_range': [0, 1],
                             'is_patch_data': True, 'channel_def': {'0': 'background', '1': 'spleen'}}},
    },
}

INFERENCE = {
    'imports': ['$import glob', '$import os'],
    'bundle_root': '.',
    'output_dir': '$@bundle_root + \'/eval\'',
    'dataset_dir': '/workspace/data/Task09_Spleen',
    'datalist': "$list(sorted(glob.glob(@dataset_dir + '/imagesTs/*.nii.gz')))",
    'device': "$torch.device('cpu')",
    'network_def': NETWORK_DEF,
    'network': '$@network_def.to(@device)',
    'preprocessing': {
        '_target_': 'Compose',
        'transforms': [
            {'_target_': 'LoadImaged', 'keys': 'image'},
            {'_target_': 'EnsureChannelFirstd', 'keys': 'image'},
            {'_target_': 'Orientationd', 'keys': 'image', 'axcodes': 'RAS'},
            {'_target_': 'Spacingd', 'keys': 'image', 'pixdim': [1.5, 1.5, 2.0], 'mode': 'bilinear'},
            {'_target_': 'ScaleIntensityRanged', 'keys': 'image', 'a_min': -57, 'a_max': 164, 'b_min': 0,
             'b_max': 1, 'clip': True},
            {'_target_': 'EnsureTyped', 'keys': 'image'},
        ],
    },
    'dataset': {'_target_': 'Dataset', 'data': "$[{'image': i} for i in @datalist]",
                'transform': '@preprocessing'},
    'dataloader': {'_target_': 'DataLoader', 'dataset': '@dataset', 'batch_size': 1, 'shuffle': False,
                   'num_workers': 0},
    'inferer': {'_target_': 'SlidingWindowInferer', 'roi_size': [32, 32, 32], 'sw_batch_size': 4,
                'overlap': 0.25, 'mode': 'gaussian'},
    'postprocessing': {
        '_target_': 'Compose',
        'transforms': [
            {'_target_': 'Activationsd', 'keys': 'pred', 'softmax': True},
            {'_target_': 'Invertd', 'keys': 'pred', 'transform': '@preprocessing', 'orig_keys': 'image',
             'meta_key_postfix': 'meta_dict', 'nearest_interp': False, 'to_tensor': True},
            {'_target_': 'AsDiscreted', 'keys': 'pred', 'argmax': True},
            {'_target_': 'KeepLargestConnectedComponentd', 'keys': 'pred', 'applied_labels': [1]},
            {'_target_': 'SaveImaged', 'keys': 'pred', 'output_dir': '@output_dir', 'separate_folder': False},
        ],
    },
    'handlers': [{'_target_': 'CheckpointLoader', 'load_path': "$@bundle_root + '/models/model.pt'",
                  'load_dict': {'model': '@network'}}],
    'evaluator': {'_target_': 'SupervisedEvaluator', 'device': '@device', 'val_data_loader': '@dataloader',
                  'network': '@network', 'inferer': '@inferer', 'postprocessing': '@postprocessing',
                  'val_handlers': '@handlers', 'amp': False},
    'initialize': ["$monai.utils.set_determinism(seed=123)"],
    'run': ['$@evaluator.run()'],
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('bundle')
    ap.add_argument('--torchscript', action='store_true', help='write models/model.ts instead of model.pt')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--inferer-mode', default='gaussian', choices=['gaussian', 'constant'],
                    help='SlidingWindowInferer blending mode written to inference.json')
    a = ap.parse_args()
    INFERENCE['inferer']['mode'] = a.inferer_mode
    torch.manual_seed(a.seed)
    kw = {k: v for k, v in NETWORK_DEF.items() if k != '_target_'}
    net = UNet(**kw).eval()
    # non-trivial BatchNorm statistics, so the export is checked on more than identity normalisation
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    os.makedirs(os.path.join(a.bundle, 'configs'), exist_ok=True)
    os.makedirs(os.path.join(a.bundle, 'models'), exist_ok=True)
    with open(os.path.join(a.bundle, 'configs', 'metadata.json'), 'w') as f:
        json.dump(METADATA, f, indent=4)
    with open(os.path.join(a.bundle, 'configs', 'inference.json'), 'w') as f:
        json.dump(INFERENCE, f, indent=4)
    if a.torchscript:
        torch.jit.script(net).save(os.path.join(a.bundle, 'models', 'model.ts'))
    else:
        torch.save(net.state_dict(), os.path.join(a.bundle, 'models', 'model.pt'))
    print(f'wrote bundle {a.bundle}')


if __name__ == '__main__':
    main()
