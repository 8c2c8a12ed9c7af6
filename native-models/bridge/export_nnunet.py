#!/usr/bin/env python3
"""Export a trained nnU-Net v2 model folder to Delineate's model format: one ONNX per fold + manifest.json +
MODEL_CARD.md.

  export_nnunet.py <trained_model_folder> --out <model_dir> [--folds 0 1 2] [--checkpoint checkpoint_final.pth]
                   [--id ID] [--name NAME] [--version V] [--description TEXT] [--card-notes notes.md]
                   [--opset 17] [--tile-step 0.5]

<trained_model_folder> is nnU-Net's results folder of one trainer/plans/configuration, e.g.
  $nnUNet_results/Dataset501_X/nnUNetTrainer__nnUNetPlans__3d_fullres
holding plans.json, dataset.json and fold_<k>/<checkpoint>.

The network is rebuilt with nnU-Net's own code (the trainer class's build_network_architecture, exactly as
nnUNetPredictor.initialize_from_trained_model_folder does), loaded with each fold's weights, exported with
torch.onnx.export (input "input" [N, C, s0, s1, s2], output "logits" [N, K, s0, s1, s2], spatial axes dynamic, in
nnU-Net's transposed axis order), and each ONNX is checked against torch with onnxruntime on random input (the
patch size and one other valid size); the max abs difference is printed and stored in the manifest.

Exit codes: 0 ok, 1 failure with a message (bad folder, unsupported setting, parity check failed), 2 usage.
"""
import argparse
import datetime
import hashlib
import inspect
import json
import os
import sys

SCHEMA_VERSION = 1


class BridgeError(Exception):
    pass


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def load_json(path, what):
    if not os.path.isfile(path):
        raise BridgeError(f'{path}: missing ({what})')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise BridgeError(f'{path}: not valid JSON ({e})')


def default_colors(n):
    base = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
            [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255]]
    return [base[i % len(base)] for i in range(n)]


def normalization_entry(scheme_name, use_mask, props):
    if scheme_name == 'ZScoreNormalization':
        return {'scheme': 'zscore', 'useMask': bool(use_mask)}
    if scheme_name == 'CTNormalization':
        if props is None:
            raise BridgeError('CTNormalization without foreground_intensity_properties_per_channel in plans.json')
        return {'scheme': 'ct', 'mean': float(props['mean']), 'std': float(props['std']),
                'lowerBound': float(props['percentile_00_5']), 'upperBound': float(props['percentile_99_5'])}
    if scheme_name == 'RescaleTo01Normalization':
        return {'scheme': 'rescale01'}
    if scheme_name == 'RGBTo01Normalization':
        return {'scheme': 'rgb01'}
    if scheme_name == 'NoNormalization':
        return {'scheme': 'none'}
    raise BridgeError(f'unsupported normalization scheme {scheme_name!r} (supported: ZScoreNormalization, '
                      f'CTNormalization, RescaleTo01Normalization, RGBTo01Normalization, NoNormalization)')


def channel_modality(name):
    n = name.lower()
    if n == 'ct':
        return 'CT'
    if n in ('noNorm'.lower(), 'rgb_to_0_1', 'zscore'):
        return 'other'
    return 'MR' if any(k in n for k in ('t1', 't2', 'flair', 'mr', 'dwi', 'adc', 'pd')) else 'other'


def _pp_step(fn_name, kw, foreground_labels, src):
    """nnU-Net's remove_all_but_largest_component_from_segmentation(labels_or_regions=L): L a list = keep the
    largest component of the UNION of L; L a single label = of that label. Delineate's keepLargestComponent:
    labels=[l, ...] = each label separately, "foreground" = union of all foreground labels."""
    if fn_name != 'remove_all_but_largest_component_from_segmentation':
        raise BridgeError(f'{src}: unsupported post-processing function {fn_name}')
    lr = kw.get('labels_or_regions')
    if isinstance(lr, (list, tuple)) and len(lr) == 1:
        lr = lr[0]
    if isinstance(lr, (list, tuple)):
        if any(isinstance(x, (list, tuple)) for x in lr):
            raise BridgeError(f'{src}: post-processing on regions is not supported')
        if sorted(int(x) for x in lr) == sorted(int(x) for x in foreground_labels):
            return {'kind': 'keepLargestComponent', 'labels': 'foreground'}
        raise BridgeError(f'{src}: largest component of the union of labels {list(lr)} (not all foreground labels) '
                          f'is not expressible in the manifest')
    return {'kind': 'keepLargestComponent', 'labels': [int(lr)]}


def read_postprocessing(folder, foreground_labels):
    """nnU-Net's postprocessing.json/.pkl (written by nnUNetv2_find_best_configuration / determine_postprocessing)."""
    pj = os.path.join(folder, 'postprocessing.json')
    pp = os.path.join(folder, 'postprocessing.pkl')
    steps = []
    if os.path.isfile(pj):
        d = load_json(pj, 'post-processing')
        for fn, kw in zip(d.get('postprocessing_fns', []), d.get('postprocessing_kwargs', [])):
            steps.append(_pp_step(str(fn).split('.')[-1], kw, foreground_labels, pj))
    elif os.path.isfile(pp):
        import pickle
        with open(pp, 'rb') as f:
            fns, kws = pickle.load(f)
        for fn, kw in zip(fns, kws):
            steps.append(_pp_step(getattr(fn, '__name__', str(fn)), kw, foreground_labels, pp))
    return steps


def build_network(plans_manager, configuration_manager, dataset_json, trainer_name):
    from nnunetv2.utilities.find_class_by_name import recursive_find_python_class  # noqa: F401
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    try:
        from nnunetv2.inference.predict_from_raw_data import recursive_find_trainer_class_by_name
        trainer_class = recursive_find_trainer_class_by_name(trainer_name)
    except ImportError:
        import nnunetv2
        from nnunetv2.utilities.find_class_by_name import recursive_find_python_class
        trainer_class = recursive_find_python_class(os.path.join(nnunetv2.__path__[0], 'training', 'nnUNetTrainer'),
                                                    trainer_name, 'nnunetv2.training.nnUNetTrainer')
    if trainer_class is None:
        raise BridgeError(f'trainer class {trainer_name} not found in the installed nnunetv2 (custom trainers must '
                          f'be installed, e.g. native-models/bridge/install_trainer.py)')
    nin = determine_num_input_channels(plans_manager, configuration_manager, dataset_json)
    nout = plans_manager.get_label_manager(dataset_json).num_segmentation_heads
    sig = inspect.signature(trainer_class.build_network_architecture)
    if 'plans_manager' in sig.parameters:
        net = trainer_class.build_network_architecture(plans_manager, configuration_manager, nin, nout,
                                                       enable_deep_supervision=False)
    else:
        net = trainer_class.build_network_architecture(configuration_manager.network_arch_class_name,
                                                       configuration_manager.network_arch_init_kwargs,
                                                       configuration_manager.network_arch_init_kwargs_req_import,
                                                       nin, nout, enable_deep_supervision=False)
    return net, nin, nout


def export_onnx(net, nin, patch, path, opset):
    import torch
    x = torch.randn(1, nin, *patch)
    spatial = {2: 's0', 3: 's1', 4: 's2'} if len(patch) == 3 else {2: 's0', 3: 's1'}
    kwargs = dict(input_names=['input'], output_names=['logits'], opset_version=opset,
                  dynamic_axes={'input': {0: 'n', **spatial}, 'logits': {0: 'n', **spatial}},
                  do_constant_folding=True)
    try:
        torch.onnx.export(net, (x,), path, dynamo=False, **kwargs)
    except TypeError:  # very old torch without the dynamo switch
        torch.onnx.export(net, (x,), path, **kwargs)
    # keep weights inside the .onnx file (no external data files)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def check_parity(net, path, nin, shapes, seed=0):
    import numpy as np
    import onnxruntime as ort
    import torch
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(os.environ.get('DELINEATE_TORCH_THREADS', '1'))
    sess = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    rng = np.random.default_rng(seed)
    worst = 0.0
    for shp in shapes:
        x = rng.standard_normal((1, nin, *shp)).astype(np.float32)
        with torch.no_grad():
            ref = net(torch.from_numpy(x)).numpy()
        got = sess.run(['logits'], {'input': x})[0]
        if got.shape != ref.shape:
            raise BridgeError(f'{path}: ONNX output shape {got.shape} != torch {ref.shape} for input {shp}')
        d = float(np.abs(got - ref).max())
        print(f'  parity {os.path.basename(path)} input {list(shp)}: max|onnx-torch| = {d:.3e} '
              f'(logit range {ref.min():.2f}..{ref.max():.2f})')
        worst = max(worst, d)
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model_folder')
    ap.add_argument('--out', required=True)
    ap.add_argument('--folds', nargs='+', default=None,
                    help='default: every fold_<k> that has the checkpoint; "k:name.pth" picks a checkpoint per fold')
    ap.add_argument('--checkpoint', default='checkpoint_final.pth')
    ap.add_argument('--id', default=None)
    ap.add_argument('--name', default=None)
    ap.add_argument('--version', default='0.1.0')
    ap.add_argument('--description', default=None)
    ap.add_argument('--card-notes', default=None, help='Markdown file appended to the generated MODEL_CARD.md')
    ap.add_argument('--opset', type=int, default=17)
    ap.add_argument('--tile-step', type=float, default=0.5)
    ap.add_argument('--tolerance', type=float, default=1e-3, help='max abs logit difference allowed')
    ap.add_argument('--provenance', default=None, help='JSON file merged into manifest.provenance')
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        return run(a)
    except BridgeError as e:
        print(f'export_nnunet: error: {e}', file=sys.stderr)
        return 1


def run(a):
    import numpy as np
    import torch
    import nnunetv2
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
    try:
        from nnunetv2.configuration import ANISO_THRESHOLD
    except ImportError:
        ANISO_THRESHOLD = 3
    torch.set_num_threads(int(os.environ.get('DELINEATE_TORCH_THREADS', '1')))

    folder = os.path.abspath(a.model_folder)
    if not os.path.isdir(folder):
        raise BridgeError(f'{folder}: not a folder')
    plans = load_json(os.path.join(folder, 'plans.json'), 'nnU-Net plans; is this an nnU-Net v2 trained model folder?')
    dataset_json = load_json(os.path.join(folder, 'dataset.json'), 'nnU-Net dataset.json')
    for k in ('configurations', 'transpose_forward', 'plans_name'):
        if k not in plans:
            raise BridgeError(f'{folder}/plans.json: no "{k}" field; not an nnU-Net v2 plans file')
    ckpt_of = {}
    if a.folds is None:
        folds = sorted(int(d[5:]) if d[5:].isdigit() else d[5:] for d in os.listdir(folder)
                       if d.startswith('fold_') and os.path.isfile(os.path.join(folder, d, a.checkpoint)))
    else:
        folds = []
        for tok in a.folds:  # "k" or "k:checkpoint_name.pth"
            k, _, ck = tok.partition(':')
            k = int(k) if k.isdigit() else k
            folds.append(k)
            if ck:
                ckpt_of[k] = ck
    if not folds:
        raise BridgeError(f'{folder}: no fold_<k>/{a.checkpoint} found')
    ckpts = {}
    for f in folds:
        p = os.path.join(folder, f'fold_{f}', ckpt_of.get(f, a.checkpoint))
        if not os.path.isfile(p):
            raise BridgeError(f'{p}: missing checkpoint')
        c = torch.load(p, map_location='cpu', weights_only=False)
        for k in ('network_weights', 'init_args', 'trainer_name'):
            if k not in c:
                raise BridgeError(f'{p}: no "{k}"; not an nnU-Net v2 checkpoint')
        ckpts[f] = (p, c)
    first = ckpts[folds[0]][1]
    trainer_name = first['trainer_name']
    config_name = first['init_args']['configuration']
    for f, (p, c) in ckpts.items():
        if c['trainer_name'] != trainer_name or c['init_args']['configuration'] != config_name:
            raise BridgeError(f'{p}: trainer/configuration differ from fold {folds[0]}')
    pm = PlansManager(plans)
    cm = pm.get_configuration(config_name)
    lm = pm.get_label_manager(dataset_json)
    net, nin, nout = build_network(pm, cm, dataset_json, trainer_name)
    net.eval()

    tf = list(plans['transpose_forward'])
    ijk_of_numpy = [2, 1, 0]  # SimpleITK numpy array axes [k, j, i]
    ndim = len(cm.patch_size)
    if ndim == 3:
        tensor_axes = [ijk_of_numpy[t] for t in tf]
    else:
        # 2d configuration: the network sees slices along numpy axis tf[0]; tensor spatial axes are tf[1], tf[2]
        tensor_axes = [ijk_of_numpy[t] for t in tf]
    if cm.preprocessor_name != 'DefaultPreprocessor':
        raise BridgeError(f'preprocessor {cm.preprocessor_name} not supported (only DefaultPreprocessor)')
    for fn in (cm.resampling_fn_data, cm.resampling_fn_seg, cm.resampling_fn_probabilities):
        name = getattr(getattr(fn, 'func', fn), '__name__', str(fn))
        if name != 'resample_data_or_seg_to_shape':
            raise BridgeError(f'resampling function {name} not supported (only resample_data_or_seg_to_shape)')
    rd = cm.configuration.get('resampling_fn_data_kwargs', {})
    rp = cm.configuration.get('resampling_fn_probabilities_kwargs', {})
    rs = cm.configuration.get('resampling_fn_seg_kwargs', {})

    channel_names = dataset_json.get('channel_names', dataset_json.get('modality'))
    if not channel_names:
        raise BridgeError('dataset.json has no channel_names')
    props = plans.get('foreground_intensity_properties_per_channel', {})
    channels = []
    for i in range(nin):
        nm = channel_names[str(i)]
        channels.append({'name': nm, 'modality': channel_modality(nm),
                         'normalization': normalization_entry(cm.normalization_schemes[i],
                                                              cm.use_mask_for_norm[i], props.get(str(i)))})

    labels_json = dataset_json['labels']
    if lm.has_regions:
        names = list(labels_json.keys())
        regions = [[int(v) for v in (r if isinstance(r, (list, tuple)) else [r])] for r in lm.foreground_regions]
        output = {'kind': 'sigmoid', 'regions': regions, 'regionClassOrder': [int(x) for x in lm.regions_class_order],
                  'labels': [{'value': int(v), 'name': n, 'color': c} for (n, v), c in
                             zip([(n, lm.regions_class_order[i]) for i, n in
                                  enumerate([n for n in names if n != 'background' and n != 'ignore'])],
                                 default_colors(len(regions)))]}
    else:
        pairs = sorted(((int(v), n) for n, v in labels_json.items() if n != 'ignore'), key=lambda t: t[0])
        cols = default_colors(len(pairs))
        output = {'kind': 'softmax',
                  'labels': [{'value': v, 'name': n, 'color': ([0, 0, 0] if v == 0 else cols[i - 1])}
                             for i, (v, n) in enumerate(pairs)]}
    mirror = first.get('inference_allowed_mirroring_axes')
    mirror = [int(m) for m in mirror] if mirror is not None else []

    os.makedirs(a.out, exist_ok=True)
    patch = [int(p) for p in cm.patch_size]
    strides = np.prod(np.array(cm.network_arch_init_kwargs.get('strides', [[1] * ndim])), axis=0).astype(int).tolist()
    alt = [p + s if p + s <= 2 * p else p for p, s in zip(patch, strides)]  # a second, non-patch size
    fold_entries, parity = [], {}
    for f in folds:
        p, c = ckpts[f]
        net.load_state_dict(c['network_weights'])
        net.eval()
        fn = f'fold_{f}.onnx'
        dst = os.path.join(a.out, fn)
        tmp = dst + '.tmp'
        export_onnx(net, nin, patch, tmp, a.opset)
        worst = check_parity(net, tmp, nin, [patch, alt])
        if not (worst <= a.tolerance):
            os.remove(tmp)
            raise BridgeError(f'fold {f}: ONNX differs from torch by {worst:.3e} > {a.tolerance}')
        os.replace(tmp, dst)
        parity[str(f)] = worst
        fold_entries.append({'fold': f, 'file': fn, 'sha256': sha256(dst),
                             'checkpoint': os.path.basename(p), 'epochs': int(c.get('current_epoch', 0))})
        print(f'fold {f}: {dst} ({os.path.getsize(dst) / 1e6:.1f} MB)')

    ds_name = plans.get('dataset_name', os.path.basename(os.path.dirname(folder)))
    from importlib.metadata import version as _v
    prov = {
        'source': 'nnU-Net v2 trained model folder',
        'datasetName': ds_name,
        'trainer': trainer_name,
        'plans': plans['plans_name'],
        'configuration': config_name,
        'checkpoints': {str(f): os.path.basename(ckpts[f][0]) for f in folds},
        'nnunetv2Version': _v('nnunetv2'),
        'torchVersion': torch.__version__,
        'exportedAt': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'onnxVsTorchMaxAbsDiff': parity,
        'networkStrides': strides,
        'transposeForward': tf,
        'transposeBackward': list(plans['transpose_backward']),
        'originalMedianSpacingAfterTransposeMm': plans.get('original_median_spacing_after_transp'),
    }
    if a.provenance:
        prov.update(load_json(a.provenance, 'provenance'))
    cascade = None
    if cm.previous_stage_name:
        # the previous stage is exported separately (same folder layout, its own configuration)
        cascade = {'previousModel': f"{a.id or ds_name.lower()}-{cm.previous_stage_name}",
                   'foregroundLabels': [int(x) for x in lm.foreground_labels]}
    manifest = {
        'schemaVersion': SCHEMA_VERSION,
        'id': a.id or ds_name.lower(),
        'name': a.name or ds_name,
        'version': a.version,
        'description': a.description or dataset_json.get('description', ''),
        'framework': 'nnunetv2',
        'dimensionality': '3d' if ndim == 3 else '2d',
        'channels': channels,
        'tensorAxesFromIjk': tensor_axes,
        'targetSpacingMm': [float(s) for s in cm.spacing],
        'cropToNonzero': True,  # DefaultPreprocessor always crops to the non-zero bounding box
        'resampling': {
            'dataOrder': int(rd.get('order', 3)), 'dataOrderZ': int(rd.get('order_z', 0)),
            'probabilitiesOrder': int(rp.get('order', 1)), 'probabilitiesOrderZ': int(rp.get('order_z', 0)),
            'segOrder': int(rs.get('order', 1)),
            'forceSeparateZ': rd.get('force_separate_z', None),
            'anisotropyThreshold': float(ANISO_THRESHOLD),
        },
        'patchSize': patch,
        'tileStepSize': a.tile_step,
        'tiling': 'nnunet',
        'blending': {'mode': 'gaussian', 'sigmaScale': 0.125, 'maxValue': 10},
        'mirroringAxes': mirror,
        'output': output,
        'postprocessing': read_postprocessing(folder, lm.foreground_labels),
        'cascade': cascade,
        'folds': fold_entries,
        'onnx': {'inputName': 'input', 'outputName': 'logits', 'opset': a.opset,
                 'spatialDivisibility': strides},
        'provenance': prov,
    }
    with open(os.path.join(a.out, 'manifest.json.tmp'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    os.replace(os.path.join(a.out, 'manifest.json.tmp'), os.path.join(a.out, 'manifest.json'))
    write_card(a, manifest, dataset_json)
    print(f'wrote {a.out}/manifest.json and MODEL_CARD.md')
    return 0


def write_card(a, m, dataset_json):
    ch = ', '.join(f"{c['name']} ({c['normalization']['scheme']})" for c in m['channels'])
    labs = ', '.join(f"{l['value']}={l['name']}" for l in m['output']['labels'])
    lines = [
        f"# {m['name']} (`{m['id']}` {m['version']})", '',
        m['description'], '',
        '**Not for clinical decisions.** Research use only.', '',
        '## Exported model', '',
        f"- Framework: nnU-Net v2 {m['provenance']['nnunetv2Version']}, trainer `{m['provenance']['trainer']}`, "
        f"plans `{m['provenance']['plans']}`, configuration `{m['provenance']['configuration']}`",
        f"- Input channels: {ch}",
        f"- Output: {m['output']['kind']}; labels {labs}",
        f"- Target spacing (tensor axis order): {m['targetSpacingMm']} mm; tensor axes from image ijk: "
        f"{m['tensorAxesFromIjk']}",
        f"- Patch {m['patchSize']}, tile step {m['tileStepSize']}, Gaussian blending, mirroring axes "
        f"{m['mirroringAxes']}",
        f"- Folds (averaged at inference): " + ', '.join(f"{f['fold']} (`{f['file']}`, `{f['checkpoint']}`, {f['epochs']} epochs)" for f in m['folds']),
        f"- ONNX vs PyTorch max |logit difference| on random input: "
        + ', '.join(f'fold {k}: {v:.1e}' for k, v in m['provenance']['onnxVsTorchMaxAbsDiff'].items()),
        '',
    ]
    if a.card_notes:
        with open(a.card_notes) as f:
            lines += [f.read()]
    with open(os.path.join(a.out, 'MODEL_CARD.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    sys.exit(main())
