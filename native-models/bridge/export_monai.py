#!/usr/bin/env python3
"""Export a MONAI bundle to Delineate's model format: one ONNX + manifest.json + MODEL_CARD.md.

  export_monai.py <bundle_dir> --out <model_dir> [--config configs/inference.json] [--id ID] [--name NAME]
                  [--version V] [--opset 17] [--tolerance 1e-3]

<bundle_dir> is a MONAI bundle: configs/metadata.json, configs/inference.json (or .yaml), models/model.pt (a state
dict for the network built from the config's "network_def" with MONAI's ConfigParser) or models/model.ts
(TorchScript). The network is exported with torch.onnx.export (input "input" [N, C, x, y, z], output "logits"
[N, K, x, y, z], batch and spatial axes dynamic) and checked against torch with onnxruntime on random input (the
roi_size and a larger size); the max abs difference is printed and stored in the manifest's provenance.

Mapping to the manifest (MONAI reads images as arrays [x, y, z] = image index axes (i, j, k), so
tensorAxesFromIjk = [0, 1, 2]):

  preprocessing transforms (the "preprocessing" Compose of inference.json)
    LoadImage(d), EnsureChannelFirst(d), AddChannel(d), EnsureType(d), ToTensor(d), CastToType(d), Identity(d),
    ToDevice(d), DeleteItems(d)                          no-op for Delineate (accepted)
    Spacing(d)(pixdim, mode)                             targetSpacingMm = pixdim; mode bilinear→order 1,
                                                         nearest→0, bicubic→3 (Delineate resamples with nnU-Net's
                                                         skimage-style resize, not MONAI's affine grid sampling:
                                                         an approximation, noted in the manifest)
    Orientation(d)(axcodes)                              ACCEPTED WITH A WARNING: Delineate does not reorient; the
                                                         input must already be stored in that orientation
    ScaleIntensity(d)(minv=0, maxv=1)                    normalization rescale01
    ScaleIntensityRange(d)(a_min, a_max, b_min, b_max, clip=True)
                                                         normalization ct with lowerBound a_min, upperBound a_max,
                                                         mean a_min - b_min (a_max - a_min)/(b_max - b_min),
                                                         std (a_max - a_min)/(b_max - b_min)   (exact);
                                                         clip=False uses bounds ±1e30
    NormalizeIntensity(d)(nonzero, no subtrahend/divisor) normalization zscore, useMask = nonzero
  everything else is REFUSED with a message (e.g. CropForeground(d), Resize(d), ScaleIntensityRangePercentiles(d),
  Spacing with pixdim ≤ 0, NormalizeIntensity with fixed subtrahend/divisor, any Lambda).

  inferer: SlidingWindowInferer(roi_size, overlap, mode, sigma_scale) → patchSize = roi_size, tiling "monai",
    tileStepSize = 1 - overlap (one overlap for all axes), blending constant (exact), or gaussian with sigmaScale
    (an APPROXIMATION: the manifest's gaussian is nnU-Net's map, centred at patch // 2 and truncated at 4 sigma;
    MONAI's is centred at (patch - 1) / 2 and floored at 1e-3; noted in the manifest and model card).
    SimpleInferer and other inferers are refused (no patch size).
  postprocessing: Activations(d)(softmax) / AsDiscrete(d)(argmax) → output softmax; Activations(d)(sigmoid) /
    AsDiscrete(d)(threshold) → output sigmoid, one region per channel (label value c + 1); KeepLargestConnected-
    Component(d)(applied_labels, independent) → keepLargestComponent; Invert(d), SaveImage(d), CopyItems(d),
    EnsureType(d), ToTensor(d), ToDevice(d), DeleteItems(d) are accepted (nothing to do); others refused.
  labels: metadata network_data_format.outputs.pred.channel_def (else "class <c>").
  No mirroring TTA (MONAI does none), no crop to non-zero. 2-D bundles are refused.

Exit codes: 0 ok, 1 failure with a message, 2 usage.
"""
import argparse
import datetime
import hashlib
import json
import os
import sys

SCHEMA_VERSION = 1

NOOP_PRE = {'LoadImage', 'EnsureChannelFirst', 'AddChannel', 'EnsureType', 'ToTensor', 'CastToType', 'Identity',
            'ToDevice', 'DeleteItems'}
NOOP_POST = {'Invert', 'SaveImage', 'CopyItems', 'EnsureType', 'ToTensor', 'ToDevice', 'DeleteItems', 'Identity'}


class BridgeError(Exception):
    pass


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def default_colors(n):
    base = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
            [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255]]
    return [base[i % len(base)] for i in range(n)]


KNOWN = NOOP_PRE | NOOP_POST | {'Spacing', 'Orientation', 'ScaleIntensity', 'ScaleIntensityRange', 'NormalizeIntensity',
                                 'Activations', 'AsDiscrete', 'KeepLargestConnectedComponent'}


def short_name(target):
    """'monai.transforms.Spacingd' / 'Spacingd' / 'Spacing' -> 'Spacing' (dictionary and array transforms alike)."""
    n = str(target).split('.')[-1]
    if n not in KNOWN and n.endswith('d') and n[:-1] in KNOWN:
        return n[:-1]
    return n


def transform_list(parser, section):
    """The (id, target name, raw dict) of each transform of a Compose section, e.g. 'preprocessing'."""
    raw = parser.get(section)
    if raw is None:
        return None
    if not isinstance(raw, dict) or 'transforms' not in raw:
        raise BridgeError(f'inference config "{section}" is not a Compose with "transforms"')
    out = []
    for i, t in enumerate(raw['transforms']):
        tid = f'{section}#transforms#{i}'
        if isinstance(t, str) and t.startswith('@'):
            tid = t[1:]
            t = parser.get(tid)
        if not isinstance(t, dict) or '_target_' not in t:
            raise BridgeError(f'{tid}: not a transform with a "_target_" (got {t!r:.80})')
        out.append((tid, short_name(t['_target_']), t))
    return out


def arg(parser, tid, t, key, default=None):
    """A transform argument, with references/expressions resolved by the ConfigParser."""
    if key not in t:
        return default
    return parser.get_parsed_content(f'{tid}#{key}')


def as_list(v, n):
    if isinstance(v, (int, float)):
        return [float(v)] * n
    v = [float(x) for x in v]
    if len(v) != n:
        raise BridgeError(f'expected {n} values, got {v}')
    return v


ORDER = {'nearest': 0, 0: 0, 'bilinear': 1, 'linear': 1, 1: 1, 'bicubic': 3, 3: 3}


def read_preprocessing(parser, nd):
    parser_steps = transform_list(parser, 'preprocessing')
    if parser_steps is None:
        raise BridgeError('inference config has no "preprocessing" section')
    spacing, order, orientation, norm, accepted, notes = None, 1, None, None, [], []
    for tid, name, t in parser_steps:
        if name in NOOP_PRE:
            accepted.append(name)
            continue
        if name == 'Spacing':
            pix = arg(parser, tid, t, 'pixdim')
            spacing = as_list(pix, nd)
            if any(s <= 0 for s in spacing):
                raise BridgeError(f'{tid}: Spacing pixdim {spacing} keeps some axes at the image spacing (≤ 0); '
                                  f'not expressible in the manifest')
            mode = arg(parser, tid, t, 'mode', 'bilinear')
            mode = mode[0] if isinstance(mode, (list, tuple)) else mode
            mode = str(mode).lower() if not isinstance(mode, int) else mode
            if mode not in ORDER:
                raise BridgeError(f'{tid}: Spacing mode {mode!r} not supported (nearest, bilinear, bicubic)')
            order = ORDER[mode]
            accepted.append(f'Spacing(pixdim={spacing}, mode={mode})')
            notes.append('Spacing: Delineate resamples with nnU-Net-style resize (skimage order '
                         f'{order}) to the target spacing, not with MONAI\'s affine grid sampling; results near '
                         'borders and at odd size ratios can differ slightly')
        elif name == 'Orientation':
            orientation = arg(parser, tid, t, 'axcodes')
            accepted.append(f'Orientation(axcodes={orientation}) WITH WARNING')
            notes.append(f'Orientation: the bundle reorients images to {orientation}; Delineate does not reorient, '
                         f'so inputs must already be stored in {orientation} voxel order')
        elif name == 'ScaleIntensity':
            minv, maxv = arg(parser, tid, t, 'minv', 0.0), arg(parser, tid, t, 'maxv', 1.0)
            if arg(parser, tid, t, 'factor') is not None or minv != 0 or maxv != 1:
                raise BridgeError(f'{tid}: ScaleIntensity supported only as min-max to [0, 1] (minv=0, maxv=1, '
                                  f'no factor); got minv={minv}, maxv={maxv}')
            norm = {'scheme': 'rescale01'}
            accepted.append('ScaleIntensity(0..1)')
        elif name == 'ScaleIntensityRange':
            a_min, a_max = float(arg(parser, tid, t, 'a_min')), float(arg(parser, tid, t, 'a_max'))
            b_min, b_max = arg(parser, tid, t, 'b_min'), arg(parser, tid, t, 'b_max')
            if b_min is None or b_max is None:
                raise BridgeError(f'{tid}: ScaleIntensityRange without b_min/b_max is not supported')
            b_min, b_max = float(b_min), float(b_max)
            clip = bool(arg(parser, tid, t, 'clip', False))
            if not (a_max > a_min) or not (b_max > b_min):
                raise BridgeError(f'{tid}: ScaleIntensityRange needs a_max > a_min and b_max > b_min')
            std = (a_max - a_min) / (b_max - b_min)
            norm = {'scheme': 'ct', 'mean': a_min - b_min * std, 'std': std,
                    'lowerBound': a_min if clip else -1e30, 'upperBound': a_max if clip else 1e30}
            accepted.append(f'ScaleIntensityRange(a={a_min}..{a_max}, b={b_min}..{b_max}, clip={clip})')
        elif name == 'NormalizeIntensity':
            if arg(parser, tid, t, 'subtrahend') is not None or arg(parser, tid, t, 'divisor') is not None:
                raise BridgeError(f'{tid}: NormalizeIntensity with a fixed subtrahend/divisor is not supported')
            norm = {'scheme': 'zscore', 'useMask': bool(arg(parser, tid, t, 'nonzero', False))}
            accepted.append(f'NormalizeIntensity(nonzero={norm["useMask"]})')
        else:
            raise BridgeError(f'{tid}: preprocessing transform {t["_target_"]} is not supported by Delineate '
                              f'(supported: Spacing, Orientation (with a warning), ScaleIntensity, '
                              f'ScaleIntensityRange, NormalizeIntensity and the no-ops {sorted(NOOP_PRE)})')
    return spacing, order, orientation, norm or {'scheme': 'none'}, accepted, notes


def read_inferer(parser, nd):
    raw = parser.get('inferer')
    if not isinstance(raw, dict) or '_target_' not in raw:
        raise BridgeError('inference config has no "inferer" with a "_target_"')
    name = str(raw['_target_']).split('.')[-1]
    if name not in ('SlidingWindowInferer', 'SlidingWindowInfererAdapt'):
        raise BridgeError(f'inferer {name} not supported (only SlidingWindowInferer: Delineate needs a patch size)')
    roi = parser.get_parsed_content('inferer#roi_size')
    roi = [int(r) for r in (roi if isinstance(roi, (list, tuple)) else [roi] * nd)]
    if any(r <= 0 for r in roi):
        raise BridgeError(f'inferer roi_size {roi}: sizes ≤ 0 (whole image) are not supported')
    overlap = parser.get_parsed_content('inferer#overlap') if 'overlap' in raw else 0.25
    if isinstance(overlap, (list, tuple)):
        if len(set(float(o) for o in overlap)) != 1:
            raise BridgeError(f'inferer overlap {overlap}: per-axis overlaps are not supported')
        overlap = overlap[0]
    overlap = float(overlap)
    if not (0 <= overlap < 1):
        raise BridgeError(f'inferer overlap {overlap} must be in [0, 1)')
    mode = str(parser.get_parsed_content('inferer#mode')) if 'mode' in raw else 'constant'
    mode = mode.split('.')[-1].lower()
    if mode == 'constant':
        blending = {'mode': 'constant'}
    elif mode == 'gaussian':
        ss = parser.get_parsed_content('inferer#sigma_scale') if 'sigma_scale' in raw else 0.125
        if isinstance(ss, (list, tuple)):
            if len(set(float(s) for s in ss)) != 1:
                raise BridgeError(f'inferer sigma_scale {ss}: per-axis values are not supported')
            ss = ss[0]
        blending = {'mode': 'gaussian', 'sigmaScale': float(ss), 'maxValue': 1}
    else:
        raise BridgeError(f'inferer mode {mode!r} not supported (constant, gaussian)')
    return roi, overlap, blending


def read_postprocessing(parser, nout, channel_def):
    steps = transform_list(parser, 'postprocessing') or []
    kind, pp, accepted = None, [], []
    for tid, name, t in steps:
        if name in NOOP_POST:
            accepted.append(name)
        elif name == 'Activations':
            if arg(parser, tid, t, 'sigmoid', False):
                kind = 'sigmoid'
            elif arg(parser, tid, t, 'softmax', False):
                kind = 'softmax'
            accepted.append(f'Activations({kind})')
        elif name == 'AsDiscrete':
            if arg(parser, tid, t, 'argmax', False):
                kind = kind or 'softmax'
                if kind == 'sigmoid':
                    raise BridgeError(f'{tid}: argmax after a sigmoid is not supported')
            elif arg(parser, tid, t, 'threshold') is not None:
                th = float(arg(parser, tid, t, 'threshold'))
                if th != 0.5 or kind != 'sigmoid':
                    raise BridgeError(f'{tid}: only threshold 0.5 after a sigmoid is supported')
            accepted.append(name)
        elif name == 'KeepLargestConnectedComponent':
            labels = arg(parser, tid, t, 'applied_labels')
            independent = bool(arg(parser, tid, t, 'independent', True))
            conn = arg(parser, tid, t, 'connectivity')
            if conn not in (None, 3):
                raise BridgeError(f'{tid}: connectivity {conn} not supported (Delineate keeps 26-connected components)')
            if labels is None:
                raise BridgeError(f'{tid}: KeepLargestConnectedComponent without applied_labels is not supported')
            labels = [int(v) for v in (labels if isinstance(labels, (list, tuple)) else [labels])]
            if independent or len(labels) == 1:
                pp.append({'kind': 'keepLargestComponent', 'labels': labels})
            elif sorted(labels) == list(range(1, nout)):
                pp.append({'kind': 'keepLargestComponent', 'labels': 'foreground'})
            else:
                raise BridgeError(f'{tid}: the largest component of the union of {labels} is not expressible')
            accepted.append(f'KeepLargestConnectedComponent({labels}, independent={independent})')
        else:
            raise BridgeError(f'{tid}: post-processing transform {t["_target_"]} is not supported (supported: '
                              f'Activations, AsDiscrete, KeepLargestConnectedComponent and {sorted(NOOP_POST)})')
    kind = kind or ('sigmoid' if nout == 1 else 'softmax')
    cols = default_colors(nout)
    name_of = lambda c: str(channel_def.get(str(c), channel_def.get(c, f'class {c}')))  # noqa: E731
    if kind == 'softmax':
        output = {'kind': 'softmax', 'labels': [{'value': c, 'name': name_of(c),
                                                 'color': [0, 0, 0] if c == 0 else cols[c - 1]} for c in range(nout)]}
    else:
        output = {'kind': 'sigmoid', 'regions': [[c + 1] for c in range(nout)],
                  'regionClassOrder': [c + 1 for c in range(nout)],
                  'labels': [{'value': 0, 'name': 'background', 'color': [0, 0, 0]}] +
                            [{'value': c + 1, 'name': name_of(c), 'color': cols[c]} for c in range(nout)]}
    return output, pp, accepted


def load_network(parser, bundle):
    import torch
    pt = os.path.join(bundle, 'models', 'model.pt')
    ts = os.path.join(bundle, 'models', 'model.ts')
    if os.path.isfile(pt):
        if parser.get('network_def') is None:
            raise BridgeError(f'{pt} is a state dict, but the config has no "network_def" to build the network')
        net = parser.get_parsed_content('network_def')
        state = torch.load(pt, map_location='cpu', weights_only=True)
        if isinstance(state, dict) and not all(hasattr(v, 'shape') for v in state.values()):
            for k in ('model', 'state_dict', 'network', 'net'):
                if k in state and isinstance(state[k], dict):
                    state = state[k]
                    break
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise BridgeError(f'{pt} does not fit the network_def network: {str(e)[:400]}')
        return net.eval(), 'model.pt (state dict into network_def)'
    net = torch.jit.load(ts, map_location='cpu')
    return net.eval(), 'model.ts (TorchScript)'


def export_onnx(net, nin, roi, path, opset):
    import onnx
    import torch
    x = torch.randn(1, nin, *roi)
    spatial = {2: 's0', 3: 's1', 4: 's2'}
    kwargs = dict(input_names=['input'], output_names=['logits'], opset_version=opset,
                  dynamic_axes={'input': {0: 'n', **spatial}, 'logits': {0: 'n', **spatial}},
                  do_constant_folding=True)
    with torch.no_grad():
        torch.onnx.export(net, (x,), path, dynamo=False, **kwargs)
    onnx.checker.check_model(onnx.load(path))


def forward(net, x):
    import torch
    with torch.no_grad():
        y = net(torch.from_numpy(x))
    if isinstance(y, (list, tuple)):
        y = y[0]
    return y.numpy()


def check_parity(net, path, nin, shapes, seed=0):
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(os.environ.get('DELINEATE_TORCH_THREADS', '1'))
    sess = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    rng = np.random.default_rng(seed)
    worst, checked = 0.0, []
    for shp in shapes:
        x = rng.standard_normal((1, nin, *shp)).astype(np.float32)
        try:
            ref = forward(net, x)
        except Exception as e:  # the network itself rejects this size (divisibility): not an export problem
            print(f'  parity input {list(shp)}: skipped, torch rejects this size ({str(e)[:120]})')
            continue
        got = sess.run(['logits'], {'input': x})[0]
        if got.shape != ref.shape:
            raise BridgeError(f'{path}: ONNX output shape {got.shape} != torch {ref.shape} for input {list(shp)}')
        d = float(np.abs(got - ref).max())
        print(f'  parity input {list(shp)}: max|onnx-torch| = {d:.3e} (logit range {ref.min():.2f}..{ref.max():.2f})')
        worst = max(worst, d)
        checked.append(list(shp))
    if not checked:
        raise BridgeError('no input size could be checked against torch')
    return worst, checked


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('bundle')
    ap.add_argument('--out', required=True)
    ap.add_argument('--config', default=None, help='inference config (default configs/inference.json|yaml)')
    ap.add_argument('--id', default=None)
    ap.add_argument('--name', default=None)
    ap.add_argument('--version', default=None)
    ap.add_argument('--opset', type=int, default=17)
    ap.add_argument('--tolerance', type=float, default=1e-3, help='max abs logit difference allowed')
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        return run(a)
    except BridgeError as e:
        print(f'export_monai: error: {e}', file=sys.stderr)
        return 1


def run(a):
    import torch
    import monai
    from monai.bundle import ConfigParser
    torch.set_num_threads(int(os.environ.get('DELINEATE_TORCH_THREADS', '1')))
    bundle = os.path.abspath(a.bundle)
    meta_path = os.path.join(bundle, 'configs', 'metadata.json')
    if not os.path.isfile(meta_path):
        raise BridgeError(f'{meta_path}: missing; not a MONAI bundle')
    cfg = a.config
    if cfg is None:
        cands = [os.path.join(bundle, 'configs', f) for f in ('inference.json', 'inference.yaml', 'inference.yml')]
        cfg = next((c for c in cands if os.path.isfile(c)), None)
        if cfg is None:
            raise BridgeError(f'{bundle}/configs: no inference.json or inference.yaml')
    with open(meta_path) as f:
        meta = json.load(f)
    parser = ConfigParser()
    parser.read_meta(meta_path)
    parser.read_config(cfg)
    parser['bundle_root'] = bundle

    ndf = meta.get('network_data_format', {})
    inp = ndf.get('inputs', {}).get('image', {})
    outp = ndf.get('outputs', {}).get('pred', {})
    nin = int(inp.get('num_channels', 1))
    nout = outp.get('num_channels')
    if nout is None:
        raise BridgeError(f'{meta_path}: network_data_format.outputs.pred.num_channels is missing')
    nout = int(nout)
    nd = len(inp.get('spatial_shape', [0, 0, 0]))
    if nd != 3:
        raise BridgeError(f'{meta_path}: {nd}-D input; only 3-D bundles are supported')

    spacing, order, orientation, norm, pre_accepted, notes = read_preprocessing(parser, nd)
    roi, overlap, blending = read_inferer(parser, nd)
    output, pp, post_accepted = read_postprocessing(parser, nout, outp.get('channel_def', {}))
    if blending['mode'] == 'gaussian':
        notes.append('gaussian blending: the manifest\'s gaussian is nnU-Net\'s importance map (centred at patch // 2, '
                     'truncated at 4 sigma, zeros raised to the smallest non-zero weight); MONAI\'s is centred at '
                     '(patch - 1) / 2, untruncated and floored at 1e-3. Blended logits differ slightly where tiles '
                     'overlap (on a random-weight test UNet 1.5 % of the voxels got another label; 0 % with constant '
                     'blending)')

    net, weights = load_network(parser, bundle)
    print(f'network from {weights}; preprocessing {pre_accepted}; inferer roi {roi} overlap {overlap} '
          f'{blending["mode"]}; postprocessing {post_accepted}')
    os.makedirs(a.out, exist_ok=True)
    dst = os.path.join(a.out, 'model.onnx')
    tmp = dst + '.tmp'
    export_onnx(net, nin, roi, tmp, a.opset)
    alt = [r + 16 for r in roi]
    worst, checked = check_parity(net, tmp, nin, [roi, alt])
    if not (worst <= a.tolerance):
        os.remove(tmp)
        raise BridgeError(f'ONNX differs from torch by {worst:.3e} > {a.tolerance}')
    os.replace(tmp, dst)
    print(f'model.onnx ({os.path.getsize(dst) / 1e6:.2f} MB), max|onnx-torch| {worst:.3e}')

    from importlib.metadata import version as _v
    name = meta.get('name') or os.path.basename(bundle)
    mid = a.id or ''.join(ch if ch.isalnum() or ch in '._-' else '-' for ch in name.lower()).strip('-._') or 'monai-bundle'
    if not mid[0].isalnum():
        mid = 'm' + mid
    manifest = {
        'schemaVersion': SCHEMA_VERSION,
        'id': mid,
        'name': a.name or name,
        'version': a.version or str(meta.get('version', '0.0.0')),
        'description': str(meta.get('description', '')),
        'framework': 'monai',
        'dimensionality': '3d',
        'channels': [{'name': str(inp.get('channel_def', {}).get(str(c), 'image' if nin == 1 else f'image {c}')),
                      'modality': str(inp.get('modality', '')), 'normalization': norm} for c in range(nin)],
        'tensorAxesFromIjk': [0, 1, 2],
        'targetSpacingMm': spacing,
        'cropToNonzero': False,
        'resampling': {'dataOrder': order, 'dataOrderZ': min(order, 1), 'probabilitiesOrder': 1,
                       'probabilitiesOrderZ': 1, 'segOrder': 0, 'forceSeparateZ': False,
                       'anisotropyThreshold': 3.0},
        'patchSize': roi,
        'tileStepSize': round(1.0 - overlap, 10),
        'tiling': 'monai',
        'blending': blending,
        'mirroringAxes': [],
        'output': output,
        'postprocessing': pp,
        'cascade': None,
        'folds': [{'fold': 0, 'file': 'model.onnx', 'sha256': sha256(dst)}],
        'onnx': {'inputName': 'input', 'outputName': 'logits', 'opset': a.opset},
        'provenance': {
            'source': 'MONAI bundle',
            'bundleName': name,
            'bundleVersion': meta.get('version'),
            'bundleAuthors': meta.get('authors'),
            'bundleLicense': meta.get('license', meta.get('copyright')),
            'weights': weights,
            'orientationAxcodes': orientation,
            'acceptedTransforms': {'preprocessing': pre_accepted, 'postprocessing': post_accepted},
            'approximations': notes,
            'monaiVersion': monai.__version__,
            'torchVersion': torch.__version__,
            'exportedAt': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'onnxVsTorchMaxAbsDiff': worst,
            'parityInputShapes': checked,
        },
    }
    with open(os.path.join(a.out, 'manifest.json.tmp'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    os.replace(os.path.join(a.out, 'manifest.json.tmp'), os.path.join(a.out, 'manifest.json'))
    write_card(a.out, manifest, meta)
    print(f'wrote {a.out}/manifest.json and MODEL_CARD.md')
    return 0


def write_card(out, m, meta):
    p = m['provenance']
    lines = [
        f"# {m['name']} (`{m['id']}` {m['version']})", '',
        m['description'], '',
        '**Not for clinical decisions.** Research use only. Exported from a MONAI bundle by Delineate\'s bridge; '
        'check the bundle\'s own documentation and licence.', '',
        '## Exported model', '',
        f"- Bundle: {p['bundleName']} {p['bundleVersion']}; authors {p['bundleAuthors']}; licence {p['bundleLicense']}",
        f"- Weights: {p['weights']}; MONAI {p['monaiVersion']}, torch {p['torchVersion']}",
        f"- Input: {', '.join(c['name'] + ' (' + c['normalization']['scheme'] + ')' for c in m['channels'])}; "
        f"spacing {m['targetSpacingMm']} mm; orientation {p['orientationAxcodes'] or 'not changed'}",
        f"- Output: {m['output']['kind']}; labels {', '.join(str(l['value']) + '=' + l['name'] for l in m['output']['labels'])}",
        f"- Sliding window: roi {m['patchSize']}, step {m['tileStepSize']}, {m['blending']['mode']} blending",
        f"- ONNX vs PyTorch max |logit difference| on random input {p['parityInputShapes']}: {p['onnxVsTorchMaxAbsDiff']:.1e}",
        '', '## Differences from running the bundle in MONAI', '',
    ] + [f'- {n}' for n in (p['approximations'] or ['none known'])] + ['']
    with open(os.path.join(out, 'MODEL_CARD.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    sys.exit(main())
