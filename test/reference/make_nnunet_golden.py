"""Golden outputs of nnU-Net v2's own predictor for the engine's end-to-end tests (test/integration/inference/nnunet.test.ts).

For each case a SMALL PlainConvUNet (dynamic_network_architectures, random weights with a fixed seed) is built from a
hand-written nnU-Net plans dict, exported to ONNX for Delineate, and run through nnU-Net's real pipeline on a real
volume from ../shared/data: DefaultPreprocessor.run_case_npy (transpose, crop, normalise, resample),
nnUNetPredictor.predict_logits_from_preprocessed_data (padding, sliding window, Gaussian, mirroring, folds) and
convert_predicted_logits_to_segmentation_with_correct_shape (resample back, argmax, un-crop, un-transpose).

Written to test/fixtures/engine/<case>/:
  manifest.json        Delineate manifest equivalent to the plans
  fold_<k>.onnx        the network(s), opset 17
  ref_labels.nii.gz    nnU-Net's label map (geometry of the input)
  ref_logits.f16.gz    nnU-Net's float16 logits on the network grid, every `stride`-th voxel per axis, C-order [C, t0, t1, t2]
  ref.json             shapes, stride, timings

Run:  /work/py/venv/bin/python test/reference/make_nnunet_golden.py [case ...]
Env:  DELINEATE_DATA_ROOT (default ../shared/data next to the project).
"""
import gzip
import hashlib
import json
import os
import sys
import time
import warnings

import numpy as np
import SimpleITK as sitk
import torch
from dynamic_network_architectures.architectures.unet import PlainConvUNet
from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO
from nnunetv2.inference.data_iterators import PreprocessAdapterFromNpy
from nnunetv2.inference.export_prediction import convert_predicted_logits_to_segmentation_with_correct_shape
from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

warnings.filterwarnings('ignore')
HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.abspath(os.path.join(HERE, '..', '..'))
DATA = os.environ.get('DELINEATE_DATA_ROOT', os.path.join(PROJECT, '..', 'shared', 'data'))
FIX = os.path.join(PROJECT, 'test', 'fixtures', 'engine')

CASES = {
    # 2 channels (T1 post-contrast + registered FLAIR), anisotropic 6.5 mm slices -> separate-z resampling both ways,
    # z-score with and without the non-zero mask, 3 classes, 2 folds averaged, mirroring over all 3 axes.
    'tcia-mr-2ch': dict(
        images=['tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_T1post.nii.gz',
                'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_FLAIRreg.nii.gz'],
        channels=[('T1c', 'MR', 'ZScoreNormalization', False), ('FLAIR', 'MR', 'ZScoreNormalization', True)],
        intensity={}, transpose=[0, 1, 2], spacing=[6.5, 1.375, 1.375], patch=[16, 64, 64], dim=3,
        features=[8, 16, 32, 32], kernels=[[1, 3, 3], [1, 3, 3], [3, 3, 3], [3, 3, 3]],
        strides=[[1, 1, 1], [1, 2, 2], [1, 2, 2], [2, 2, 2]], classes=3, folds=2, mirror=[0, 1, 2], stride=2),
    # CT with CT normalisation (clip + dataset statistics), a non-identity transpose_forward, isotropic upsampling
    # (order 3 in, order 1 back, no separate z), 2 classes, 1 fold.
    'totalseg-ct': dict(
        images=['totalseg-example/example_ct_sm.nii.gz'],
        channels=[('CT', 'CT', 'CTNormalization', False)],
        intensity={'0': {'mean': 52.3, 'std': 187.6, 'percentile_00_5': -982.0, 'percentile_99_5': 1075.0,
                         'max': 3071.0, 'min': -1024.0, 'median': 40.0}},
        transpose=[1, 2, 0], spacing=[2.5, 2.5, 2.0], patch=[48, 48, 32], dim=3,
        features=[8, 16, 32], kernels=[[3, 3, 3], [3, 3, 3], [3, 3, 3]], strides=[[1, 1, 1], [2, 2, 2], [2, 2, 2]],
        classes=2, folds=1, mirror=[0, 1, 2], stride=2),
    # 2D model on the MR's slices, in-plane resampling to 1 mm, mirroring over both in-plane axes.
    'tcia-mr-2d': dict(
        images=['tcia-brain-tumor-progression/nifti/PGBM-003_03-29-1995/PGBM-003_03-29-1995_T1post.nii.gz'],
        channels=[('T1c', 'MR', 'ZScoreNormalization', False)], intensity={}, transpose=[0, 1, 2],
        spacing=[1.0, 1.0], patch=[96, 96], dim=2, features=[8, 16, 32], kernels=[[3, 3], [3, 3], [3, 3]],
        strides=[[1, 1], [2, 2], [2, 2]], classes=3, folds=1, mirror=[0, 1], stride=2),
}


def plans_for(name, c):
    arch = {
        'network_class_name': 'dynamic_network_architectures.architectures.unet.PlainConvUNet',
        'arch_kwargs': {
            'n_stages': len(c['features']), 'features_per_stage': c['features'],
            'conv_op': 'torch.nn.modules.conv.Conv3d' if c['dim'] == 3 else 'torch.nn.modules.conv.Conv2d',
            'kernel_sizes': c['kernels'], 'strides': c['strides'], 'n_conv_per_stage': [2] * len(c['features']),
            'n_conv_per_stage_decoder': [2] * (len(c['features']) - 1), 'conv_bias': True,
            'norm_op': 'torch.nn.modules.instancenorm.InstanceNorm3d' if c['dim'] == 3 else 'torch.nn.modules.instancenorm.InstanceNorm2d',
            'norm_op_kwargs': {'eps': 1e-05, 'affine': True}, 'dropout_op': None, 'dropout_op_kwargs': None,
            'nonlin': 'torch.nn.LeakyReLU', 'nonlin_kwargs': {'inplace': True}},
        '_kw_requires_import': ['conv_op', 'norm_op', 'dropout_op', 'nonlin']}
    conf = {
        'data_identifier': 'golden', 'preprocessor_name': 'DefaultPreprocessor', 'batch_size': 2,
        'patch_size': c['patch'], 'median_image_size_in_voxels': [64] * c['dim'], 'spacing': c['spacing'],
        'normalization_schemes': [ch[2] for ch in c['channels']], 'use_mask_for_norm': [ch[3] for ch in c['channels']],
        'resampling_fn_data': 'resample_data_or_seg_to_shape', 'resampling_fn_seg': 'resample_data_or_seg_to_shape',
        'resampling_fn_data_kwargs': {'is_seg': False, 'order': 3, 'order_z': 0, 'force_separate_z': None},
        'resampling_fn_seg_kwargs': {'is_seg': True, 'order': 1, 'order_z': 0, 'force_separate_z': None},
        'resampling_fn_probabilities': 'resample_data_or_seg_to_shape',
        'resampling_fn_probabilities_kwargs': {'is_seg': False, 'order': 1, 'order_z': 0, 'force_separate_z': None},
        'architecture': arch, 'batch_dice': False}
    t = c['transpose']
    return {
        'dataset_name': f'Dataset999_{name}', 'plans_name': 'nnUNetPlans', 'original_median_spacing_after_transp': [1, 1, 1],
        'original_median_shape_after_transp': [64, 64, 64], 'image_reader_writer': 'SimpleITKIO',
        'transpose_forward': t, 'transpose_backward': [t.index(i) for i in range(3)], 'experiment_planner_used': 'golden',
        'label_manager': 'LabelManager',
        # nnU-Net wants statistics for every channel; only CTNormalization reads them.
        'foreground_intensity_properties_per_channel': {str(i): c['intensity'].get(str(i), {'mean': 0.0, 'std': 1.0, 'percentile_00_5': 0.0, 'percentile_99_5': 1.0, 'max': 1.0, 'min': 0.0, 'median': 0.0}) for i in range(len(c['channels']))},
        'configurations': {'3d_fullres' if c['dim'] == 3 else '2d': conf}}


def build_net(c, seed):
    torch.manual_seed(seed)
    conv = torch.nn.Conv3d if c['dim'] == 3 else torch.nn.Conv2d
    norm = torch.nn.InstanceNorm3d if c['dim'] == 3 else torch.nn.InstanceNorm2d
    net = PlainConvUNet(len(c['channels']), len(c['features']), c['features'], conv, c['kernels'], c['strides'],
                        [2] * len(c['features']), c['classes'], [2] * (len(c['features']) - 1), conv_bias=True,
                        norm_op=norm, norm_op_kwargs={'eps': 1e-5, 'affine': True}, nonlin=torch.nn.LeakyReLU,
                        nonlin_kwargs={'inplace': True}, deep_supervision=False)
    # Random but not degenerate: perturb the norm affine parameters so the classes are spread out.
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, norm):
                m.weight.normal_(1.0, 0.3)
                m.bias.normal_(0.0, 0.3)
    return net.eval()


def export_onnx(net, c, path):
    dummy = torch.zeros((1, len(c['channels']), *c['patch']))
    torch.onnx.export(net, dummy, path, input_names=['input'], output_names=['output'], opset_version=17, dynamo=False)


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def manifest_for(name, c, fold_files):
    t = c['transpose']
    norm = []
    for ch in c['channels']:
        if ch[2] == 'CTNormalization':
            p = c['intensity']['0']
            norm.append({'scheme': 'ct', 'mean': p['mean'], 'std': p['std'], 'lowerBound': p['percentile_00_5'], 'upperBound': p['percentile_99_5']})
        else:
            norm.append({'scheme': 'zscore', 'useMask': ch[3]})
    colors = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25]]
    return {
        'schemaVersion': 1, 'id': f'golden-{name}', 'name': f'Golden test network ({name})', 'version': '1',
        'description': 'Random-weight PlainConvUNet for engine tests; see test/reference/make_nnunet_golden.py',
        'framework': 'nnunetv2', 'dimensionality': '3d' if c['dim'] == 3 else '2d',
        'channels': [{'name': ch[0], 'modality': ch[1], 'normalization': n} for ch, n in zip(c['channels'], norm)],
        'tensorAxesFromIjk': [[2, 1, 0][t[d]] for d in range(3)], 'targetSpacingMm': c['spacing'], 'cropToNonzero': True,
        'resampling': {'dataOrder': 3, 'dataOrderZ': 0, 'probabilitiesOrder': 1, 'probabilitiesOrderZ': 0, 'segOrder': 1,
                       'forceSeparateZ': None, 'anisotropyThreshold': 3},
        'patchSize': c['patch'], 'tileStepSize': 0.5, 'tiling': 'nnunet',
        'blending': {'mode': 'gaussian', 'sigmaScale': 0.125, 'maxValue': 10}, 'mirroringAxes': c['mirror'],
        'output': {'kind': 'softmax', 'labels': [{'value': i, 'name': 'background' if i == 0 else f'class {i}', 'color': colors[i]} for i in range(c['classes'])]},
        'postprocessing': [],
        'folds': [{'fold': k, 'file': os.path.basename(f), 'sha256': sha256(f)} for k, f in enumerate(fold_files)],
        'onnx': {'inputName': 'input', 'outputName': 'output', 'opset': 17},
        'provenance': {'generator': 'test/reference/make_nnunet_golden.py', 'nnunetv2': '2.8.1', 'weights': 'random, seeded'}}


def run_case(name, c):
    out = os.path.join(FIX, name)
    os.makedirs(out, exist_ok=True)
    plans = plans_for(name, c)
    pm = PlansManager(plans)
    cm = pm.get_configuration('3d_fullres' if c['dim'] == 3 else '2d')
    labels = {'background': 0, **{f'class {i}': i for i in range(1, c['classes'])}}
    dataset_json = {'channel_names': {str(i): ch[0] for i, ch in enumerate(c['channels'])}, 'labels': labels,
                    'numTraining': 0, 'file_ending': '.nii.gz'}
    nets = [build_net(c, 1000 + k) for k in range(c['folds'])]
    fold_files = []
    for k, net in enumerate(nets):
        f = os.path.join(out, f'fold_{k}.onnx')
        export_onnx(net, c, f)
        fold_files.append(f)
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest_for(name, c, fold_files), f, indent=1)

    torch.set_num_threads(os.cpu_count())
    predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=True, perform_everything_on_device=False,
                                device=torch.device('cpu'), verbose=False, verbose_preprocessing=False, allow_tqdm=False)
    predictor.manual_initialization(nets[0], pm, cm, [n.state_dict() for n in nets], dataset_json, 'nnUNetTrainer', tuple(c['mirror']))
    files = [os.path.join(DATA, p) for p in c['images']]
    t0 = time.perf_counter()
    img, props = SimpleITKIO().read_images(files)
    ppa = PreprocessAdapterFromNpy([img], [None], [props], [None], pm, dataset_json, cm, num_threads_in_multithreaded=1, verbose=False)
    dct = next(ppa)
    t1 = time.perf_counter()
    logits = predictor.predict_logits_from_preprocessed_data(dct['data']).cpu()
    t2 = time.perf_counter()
    seg = convert_predicted_logits_to_segmentation_with_correct_shape(logits, pm, cm, pm.get_label_manager(dataset_json), dct['data_properties'])
    t3 = time.perf_counter()

    ref = sitk.ReadImage(files[0])
    simg = sitk.GetImageFromArray(seg.astype(np.uint8))
    simg.CopyInformation(ref)
    sitk.WriteImage(simg, os.path.join(out, 'ref_labels.nii.gz'))
    s = c['stride']
    lg = logits.numpy().astype(np.float16)
    sub = np.ascontiguousarray(lg[(slice(None),) + (slice(None, None, s),) * 3])
    with gzip.open(os.path.join(out, 'ref_logits.f16.gz'), 'wb', compresslevel=9) as f:
        f.write(sub.tobytes())
    meta = {'networkShape': list(lg.shape[1:]), 'stride': s, 'subShape': list(sub.shape),
            'bbox': [[int(a), int(b)] for a, b in dct['data_properties']['bbox_used_for_cropping']],
            'shapeAfterCropping': [int(v) for v in dct['data_properties']['shape_after_cropping_and_before_resampling']],
            'labelCounts': {int(k): int(v) for k, v in zip(*np.unique(seg, return_counts=True))},
            'seconds': {'preprocess': t1 - t0, 'slidingWindow': t2 - t1, 'export': t3 - t2}, 'torchThreads': torch.get_num_threads()}
    with open(os.path.join(out, 'ref.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    print(name, json.dumps(meta))


if __name__ == '__main__':
    for name in (sys.argv[1:] or CASES):
        run_case(name, CASES[name])
