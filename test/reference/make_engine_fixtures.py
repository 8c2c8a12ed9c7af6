"""Regenerate test/fixtures/engine/nnunet_numerics.json: nnU-Net v2's own tile steps, Gaussian importance map,
resampling and padding outputs for a few shapes, for test/unit/inference/numerics.test.ts.

Run with the project's reference venv (nnunetv2 2.8.1, scipy, scikit-image):
    /work/py/venv/bin/python test/reference/make_engine_fixtures.py
Arrays are stored base64 (little-endian) with their dtype and shape.
"""
import base64, hashlib, json, os
import numpy as np
import torch
from nnunetv2.inference.sliding_window_prediction import compute_gaussian, compute_steps_for_sliding_window
from nnunetv2.preprocessing.resampling.default_resampling import (
    resample_data_or_seg_to_shape, compute_new_shape, determine_do_sep_z_and_axis)
from acvl_utils.cropping_and_padding.padding import pad_nd_image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'engine', 'nnunet_numerics.json')


def b64(a):
    a = np.ascontiguousarray(a)
    return {'dtype': str(a.dtype), 'shape': list(a.shape), 'b64': base64.b64encode(a.tobytes()).decode()}


rng = np.random.default_rng(1234)
fx = {'steps': [], 'gaussian': [], 'resample': [], 'newShape': [], 'sepZ': [], 'pad': [], 'half': None}

for size, patch, step in [((110,), (64,), 0.5), ((64,), (64,), 0.5), ((65,), (64,), 0.5), ((301, 370, 316), (128, 128, 128), 0.5),
                          ((33, 200, 150), (20, 96, 80), 0.5), ((500, 77), (128, 64), 0.25), ((97, 97, 97), (48, 48, 48), 1.0),
                          ((130, 258, 77), (64, 128, 64), 0.7), ((150, 150), (64, 64), 0.33)]:
    fx['steps'].append({'size': size, 'patch': patch, 'step': step,
                        'steps': [[int(v) for v in s] for s in compute_steps_for_sliding_window(size, patch, step)]})

for patch in [(20, 24, 16), (7, 9), (31, 32, 33), (128, 128, 128), (64, 160, 160)]:
    compute_gaussian.cache_clear()
    g = compute_gaussian(tuple(patch), sigma_scale=1. / 8, value_scaling_factor=10, device=torch.device('cpu'))
    g = g.numpy().astype(np.float16)
    entry = {'patch': patch, 'sha256': hashlib.sha256(g.tobytes()).hexdigest(), 'min': float(g.min()), 'max': float(g.max()),
             'sum': float(g.astype(np.float64).sum())}
    if g.size <= 20000:
        entry['map'] = b64(g)
    fx['gaussian'].append(entry)

for shape, new_shape, cur_sp, new_sp, order, order_z, force in [
    ((7, 9, 11), (10, 6, 13), (1.0, 1.0, 1.0), (0.7, 1.5, 0.85), 3, 0, None),  # order 3, no separate z
    ((5, 12, 10), (15, 9, 14), (3.6, 0.8, 0.8), (1.2, 1.07, 0.57), 3, 0, None),  # separate z along axis 0 (anisotropic)
    ((12, 6, 10), (9, 15, 14), (0.8, 4.0, 0.8), (1.07, 1.6, 0.57), 3, 0, None),  # separate z along axis 1
    ((5, 12, 10), (15, 9, 14), (3.6, 0.8, 0.8), (1.2, 1.07, 0.57), 1, 0, None),  # order 1 separate z
    ((6, 8, 7), (11, 5, 9), (1.0, 1.0, 1.0), (0.55, 1.6, 0.78), 1, 0, None),  # order 1 (probabilities)
    ((6, 8, 7), (11, 5, 9), (1.0, 1.0, 1.0), (0.55, 1.6, 0.78), 0, 0, None),  # order 0
    ((5, 12, 10), (15, 9, 14), (3.6, 0.8, 0.8), (1.2, 1.07, 0.57), 3, 1, None),  # separate z with order_z 1
    ((5, 12, 10), (5, 9, 14), (3.6, 0.8, 0.8), (3.6, 1.07, 0.57), 3, 0, None),  # separate z, z unchanged
    ((9, 9, 9), (9, 13, 9), (1.0, 1.0, 1.0), (1.0, 0.7, 1.0), 3, 0, False),  # only one axis changes, order 3
]:
    data = rng.normal(size=(1, *shape)) * 100.0 + 20.0
    out = resample_data_or_seg_to_shape(data, np.array(new_shape), cur_sp, new_sp, False, order, order_z, force)
    sep, axis = determine_do_sep_z_and_axis(force, cur_sp, new_sp)
    fx['resample'].append({'shape': shape, 'newShape': new_shape, 'currentSpacing': cur_sp, 'newSpacing': new_sp, 'order': order,
                           'orderZ': order_z, 'forceSeparateZ': force, 'separateZAxis': int(axis) if sep else None,
                           'input': b64(data[0]), 'output': b64(out[0])})
    # the same with half input -> half output (nnU-Net's export path for logits)
    if order == 1:
        dh = data.astype(np.float16) / np.float16(10)
        oh = resample_data_or_seg_to_shape(dh, np.array(new_shape), cur_sp, new_sp, False, order, order_z, force)
        fx['resample'].append({'shape': shape, 'newShape': new_shape, 'currentSpacing': cur_sp, 'newSpacing': new_sp, 'order': order,
                               'orderZ': order_z, 'forceSeparateZ': force, 'separateZAxis': int(axis) if sep else None,
                               'input': b64(dh[0]), 'output': b64(oh[0])})

for shape, osp, nsp in [((301, 370, 316), (0.5, 0.5, 0.5), (1.0, 1.0, 1.0)), ((24, 320, 260), (6.5, 0.6875, 0.6875), (3.0, 0.9, 0.9)),
                        ((5, 7, 9), (1.5, 1.5, 1.5), (1.0, 1.0, 1.0)), ((25, 512, 512), (6.5, 0.4297, 0.4297), (6.5, 0.86, 0.86))]:
    fx['newShape'].append({'shape': shape, 'oldSpacing': osp, 'newSpacing': nsp, 'newShape': [int(v) for v in compute_new_shape(shape, osp, nsp)]})

for force, cur, new in [(None, (3.6, 0.8, 0.8), (1.0, 1.0, 1.0)), (None, (1.0, 1.0, 1.0), (1.0, 4.0, 1.0)), (None, (1, 1, 1), (2, 2, 2)),
                        (None, (0.24, 1.25, 1.25), (1, 1, 1)), (True, (5, 1, 1), (1, 1, 1)), (False, (5, 1, 1), (1, 1, 1)), (None, (2.9, 1, 1), (1, 1, 1))]:
    sep, axis = determine_do_sep_z_and_axis(force, cur, new)
    fx['sepZ'].append({'force': force, 'current': cur, 'new': new, 'axis': int(axis) if sep else None})

for shape, patch in [((30, 40, 50), (64, 32, 51)), ((5, 6), (8, 9)), ((64, 64, 64), (64, 64, 64))]:
    a = torch.zeros((1, *shape), dtype=torch.float32)
    p, slicer = pad_nd_image(a, patch, 'constant', {'value': 0}, True, None)
    fx['pad'].append({'shape': shape, 'patch': patch, 'padded': list(p.shape[1:]),
                      'before': [int(s.start) for s in slicer[1:]]})

xs = np.concatenate([rng.normal(size=2000) * 10.0 ** rng.integers(-9, 6, size=2000), [65504, 65519.99, 65520, 6e-8, 2.98e-8, 2.99e-8, -0.0]])
fx['half'] = {'input': b64(xs.astype(np.float64)), 'output': b64(xs.astype(np.float16))}

with open(OUT, 'w') as f:
    json.dump(fx, f)
print('wrote', OUT, os.path.getsize(OUT), 'bytes')
