"""PyTorch side of test/bench/inference.bench.ts: nnU-Net v2's own predictor (preprocessing, sliding window with
Gaussian blending and mirroring, export) on a real volume with a PlainConvUNet, timed; the same network is exported
to ONNX with a Delineate manifest so that the bench runs Delineate on exactly the same network and settings.

Usage: bench_nnunet.py <out_dir> [--features 16,32,64,96,96] [--patch 24,128,128] [--no-tta] [--warmup]
Prints one JSON line: seconds per stage and peak RSS (VmHWM from /proc/self/status) of this process.
"""
import argparse, json, os, sys, time
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_nnunet_golden as g  # noqa: E402
from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO  # noqa: E402
from nnunetv2.inference.data_iterators import PreprocessAdapterFromNpy  # noqa: E402
from nnunetv2.inference.export_prediction import convert_predicted_logits_to_segmentation_with_correct_shape  # noqa: E402
from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor  # noqa: E402
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager  # noqa: E402


def vmhwm():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    return 0


ap = argparse.ArgumentParser()
ap.add_argument('out')
ap.add_argument('--features', default='16,32,64,96,96')
ap.add_argument('--patch', default='24,128,128')
ap.add_argument('--no-tta', action='store_true')
ap.add_argument('--warmup', action='store_true', help='run the whole case once untimed first (steady state)')
ap.add_argument('--image', default='tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_T1post.nii.gz')
a = ap.parse_args()
feats = [int(x) for x in a.features.split(',')]
n = len(feats)
kernels = [[1, 3, 3], [1, 3, 3]] + [[3, 3, 3]] * (n - 2)
strides = [[1, 1, 1], [1, 2, 2], [1, 2, 2]] + [[2, 2, 2]] * (n - 3)
case = dict(images=[a.image], channels=[('T1c', 'MR', 'ZScoreNormalization', False)], intensity={}, transpose=[0, 1, 2],
            spacing=[6.5, 1.375, 1.375], patch=[int(x) for x in a.patch.split(',')], dim=3, features=feats,
            kernels=kernels[:n], strides=strides[:n], classes=2, folds=1, mirror=[0, 1, 2], stride=1)
os.makedirs(a.out, exist_ok=True)
net = g.build_net(case, 4242)
onnx_path = os.path.join(a.out, 'fold_0.onnx')
g.export_onnx(net, case, onnx_path)
with open(os.path.join(a.out, 'manifest.json'), 'w') as f:
    json.dump(g.manifest_for('bench', case, [onnx_path]), f, indent=1)

pm = PlansManager(g.plans_for('bench', case))
cm = pm.get_configuration('3d_fullres')
dataset_json = {'channel_names': {'0': 'T1c'}, 'labels': {'background': 0, 'class 1': 1}, 'numTraining': 0, 'file_ending': '.nii.gz'}
torch.set_num_threads(os.cpu_count())
predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=not a.no_tta, perform_everything_on_device=False,
                            device=torch.device('cpu'), verbose=False, verbose_preprocessing=False, allow_tqdm=False)
predictor.manual_initialization(net, pm, cm, [net.state_dict()], dataset_json, 'nnUNetTrainer', (0, 1, 2))
# The trained weights as nnU-Net stores them (checkpoint_final.pth): a first run loads them from disk, as
# nnU-Net's initialize_from_trained_model_folder does (torch.load + load_state_dict), and as Delineate's first run
# reads, verifies and loads its ONNX file. Reported separately ('modelLoad'); 'total' leaves it out.
ckpt_path = os.path.join(a.out, 'checkpoint_final.pth')
torch.save({'network_weights': net.state_dict(), 'trainer_name': 'nnUNetTrainer', 'init_args': {'configuration': '3d_fullres'},
            'inference_allowed_mirroring_axes': (0, 1, 2)}, ckpt_path)
rss_before = vmhwm()


def load_weights():
    t = time.perf_counter()
    ckpt = torch.load(ckpt_path, map_location=torch.device('cpu'), weights_only=False)
    predictor.network.load_state_dict(ckpt['network_weights'])
    predictor.list_of_parameters = [ckpt['network_weights']]
    return time.perf_counter() - t


def run_once():
    t0 = time.perf_counter()
    img, props = SimpleITKIO().read_images([os.path.join(g.DATA, a.image)])
    dct = next(PreprocessAdapterFromNpy([img], [None], [props], [None], pm, dataset_json, cm, num_threads_in_multithreaded=1, verbose=False))
    t1 = time.perf_counter()
    logits = predictor.predict_logits_from_preprocessed_data(dct['data']).cpu()
    t2 = time.perf_counter()
    seg = convert_predicted_logits_to_segmentation_with_correct_shape(logits, pm, cm, pm.get_label_manager(dataset_json), dct['data_properties'])
    t3 = time.perf_counter()
    return t0, t1, t2, t3, logits, seg


if a.warmup:
    run_once()  # steady state: the timed run is the process's second, as in a batch of cases (weights in memory)
    model_load = 0.0
else:
    model_load = load_weights()
t0, t1, t2, t3, logits, seg = run_once()
np.save(os.path.join(a.out, 'torch_labels.npy'), seg.astype(np.uint8))
print(json.dumps({'seconds': {'modelLoad': model_load, 'preprocess': t1 - t0, 'slidingWindow': t2 - t1, 'export': t3 - t2, 'total': t3 - t0},
                  'peakRssBytes': vmhwm(), 'rssBeforeBytes': rss_before, 'threads': torch.get_num_threads(),
                  'networkShape': list(logits.shape[1:]), 'torch': torch.__version__}))
