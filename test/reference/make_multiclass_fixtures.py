"""Small many-class networks for the engine's body + pointwise-heads tests (test/unit/inference/onnx-graph.test.ts,
test/integration/inference/heads.test.ts): no reference outputs, the tests compare Delineate with itself (network
split into heads vs run whole), so only the ONNX files and manifests are written.

Written to test/fixtures/engine/<name>/ (manifest.json, fold_0.onnx, opset 17, random weights with a fixed seed):
  multiclass-unet   3-D PlainConvUNet 8,16,32 features, kernels (1,3,3),(3,3,3),(3,3,3), 12 classes, patch 16×32×32:
                    its output comes from nnU-Net's 1×1×1 segmentation head (body + heads)
  multiclass-2d     2-D PlainConvUNet 8,16 features, 12 classes, patch 32×32 (2-D pointwise head)
  multiclass-pointwise  a lone 1×1×1 Conv 1 → 12 classes on the input (the head reads the network input)

Run:  /work/py/venv/bin/python test/reference/make_multiclass_fixtures.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_nnunet_golden as g  # noqa: E402

CLASSES = 12
BASE = dict(channels=[('CT', 'CT', 'ZScoreNormalization', False)], intensity={}, transpose=[0, 1, 2], classes=CLASSES,
            folds=1, mirror=[0, 1, 2])
CASES = {
    'multiclass-unet': dict(BASE, dim=3, patch=[16, 32, 32], spacing=[2.0, 1.5, 1.5], features=[8, 16, 32],
                            kernels=[[1, 3, 3], [3, 3, 3], [3, 3, 3]], strides=[[1, 1, 1], [1, 2, 2], [2, 2, 2]]),
    'multiclass-2d': dict(BASE, dim=2, patch=[32, 32], spacing=[1.5, 1.5], features=[8, 16],
                          kernels=[[3, 3], [3, 3]], strides=[[1, 1], [2, 2]], mirror=[0, 1]),
    'multiclass-pointwise': dict(BASE, dim=3, patch=[16, 32, 32], spacing=[2.0, 1.5, 1.5]),
}


def main():
    for name, c in CASES.items():
        out = os.path.join(g.FIX, name)
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, 'fold_0.onnx')
        if 'features' in c:
            net = g.build_net(c, 1234)
        else:
            torch.manual_seed(1234)
            net = torch.nn.Conv3d(1, CLASSES, 1).eval()
            with torch.no_grad():
                net.weight.normal_(0, 1)
                net.bias.normal_(0, 0.5)
        g.export_onnx(net, c, path)
        m = g.manifest_for(name, dict(c, classes=1), [path])
        m['id'] = name
        m['name'] = f'Many-class test network ({name})'
        m['description'] = 'Random-weight network for the body + pointwise-heads tests; see test/reference/make_multiclass_fixtures.py'
        m['provenance']['generator'] = 'test/reference/make_multiclass_fixtures.py'
        m['output']['labels'] = [{'value': i, 'name': 'background' if i == 0 else f'class {i}',
                                  'color': [(37 * i) % 256, (91 * i) % 256, (53 * i) % 256]} for i in range(CLASSES)]
        with open(os.path.join(out, 'manifest.json'), 'w') as f:
            json.dump(m, f, indent=1)
        print(name, os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    main()
