"""Equivalent graph variants of an nnU-Net PlainConvUNet for ONNX Runtime's CPU provider, and PyTorch's time for
the same network (test/bench/inference-conv.ts runs this, then times every variant in onnxruntime-node in the
same run and checks each against the original's output).

Variants (each exact in real arithmetic; floating-point sums may be ordered differently):
  original        torch.onnx export as the engine gets it (opset 17)
  up-as-conv      every ConvTranspose3d with kernel == stride (nnU-Net's upsampling) as a 1×1×1 Conv3d to
                  Co·s0·s1·s2 channels + a 3-D depth-to-space (Reshape/Transpose): no col2im
  conv2d-133      every Conv3d with a (1,3,3) kernel as a Conv2d with the depth folded into the batch
                  (Transpose/Reshape around it), which ORT can run in its NCHWc layout (3-D convs never are)
  both            up-as-conv + conv2d-133

Usage: conv3d_variants.py <out_dir> [--features 16,32,64,96,96] [--patch 24,128,128] [--runs 5]
Writes <out_dir>/<variant>.onnx, <out_dir>/input.f32 (the test input) and <out_dir>/torch.json with PyTorch's
median wall time per forward pass with all cores and its CPU time per pass with one thread.
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_nnunet_golden as g  # noqa: E402


class UpAsConv(torch.nn.Module):
    """ConvTranspose3d(C, Co, k=s, stride=s) == Conv3d(C, Co*s0*s1*s2, 1) then 3-D depth-to-space (exact)."""

    def __init__(self, up):
        super().__init__()
        ci, co, s0, s1, s2 = up.weight.shape
        self.s = (s0, s1, s2)
        self.co = co
        self.conv = torch.nn.Conv3d(ci, co * s0 * s1 * s2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(up.weight.permute(1, 2, 3, 4, 0).reshape(co * s0 * s1 * s2, ci, 1, 1, 1))
        self.bias = up.bias

    def forward(self, x):
        n, _, d, h, w = x.shape
        s0, s1, s2 = self.s
        y = self.conv(x).reshape(n, self.co, s0, s1, s2, d, h, w)
        y = y.permute(0, 1, 5, 2, 6, 3, 7, 4).reshape(n, self.co, d * s0, h * s1, w * s2)
        return y + self.bias.view(1, -1, 1, 1, 1)


class Conv133As2d(torch.nn.Module):
    """Conv3d with kernel (1,3,3) == Conv2d(3,3) over the depth slices folded into the batch (exact)."""

    def __init__(self, conv):
        super().__init__()
        self.conv = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size[1:], stride=conv.stride[1:],
                                    padding=conv.padding[1:], dilation=conv.dilation[1:], bias=conv.bias is not None)
        with torch.no_grad():
            self.conv.weight.copy_(conv.weight[:, :, 0])
            if conv.bias is not None:
                self.conv.bias.copy_(conv.bias)

    def forward(self, x):
        n, c, d, h, w = x.shape
        y = self.conv(x.permute(0, 2, 1, 3, 4).reshape(n * d, c, h, w))
        _, co, ho, wo = y.shape
        return y.reshape(n, d, co, ho, wo).permute(0, 2, 1, 3, 4)


def rewrite(net, up, c133):
    net = copy.deepcopy(net)
    for name, mod in list(net.named_modules()):
        for cname, child in list(mod.named_children()):
            if up and isinstance(child, torch.nn.ConvTranspose3d) and tuple(child.kernel_size) == tuple(child.stride):
                setattr(mod, cname, UpAsConv(child))
            elif c133 and isinstance(child, torch.nn.Conv3d) and tuple(child.kernel_size) == (1, 3, 3) and child.padding[0] == 0 and child.stride[0] == 1:
                setattr(mod, cname, Conv133As2d(child))
    return net.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--features', default='16,32,64,96,96')
    ap.add_argument('--patch', default='24,128,128')
    ap.add_argument('--runs', type=int, default=5)
    a = ap.parse_args()
    feats = [int(x) for x in a.features.split(',')]
    n = len(feats)
    patch = [int(x) for x in a.patch.split(',')]
    kernels = [[1, 3, 3], [1, 3, 3]] + [[3, 3, 3]] * (n - 2)
    strides = [[1, 1, 1], [1, 2, 2], [1, 2, 2]] + [[2, 2, 2]] * (n - 3)
    case = dict(channels=[('T1c', 'MR', 'ZScoreNormalization', False)], dim=3, features=feats, kernels=kernels[:n],
                strides=strides[:n], classes=2, patch=patch)
    net = g.build_net(case, 4242)  # the same seed and layout as bench_nnunet.py
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(1)
    x = torch.randn(1, 1, *patch)
    x.numpy().astype('<f4').tofile(os.path.join(a.out, 'input.f32'))
    variants = {'original': net, 'up-as-conv': rewrite(net, True, False), 'conv2d-133': rewrite(net, False, True),
                'both': rewrite(net, True, True)}
    torch.set_num_threads(os.cpu_count())
    out = {'threads': torch.get_num_threads(), 'torch': torch.__version__, 'patch': patch, 'features': feats, 'variants': {}}
    with torch.no_grad():
        ref = net(x)
        for name, m in variants.items():
            y = m(x)
            out['variants'][name] = {'maxAbsDiffTorch': float((y - ref).abs().max())}
            torch.onnx.export(m, x, os.path.join(a.out, f'{name}.onnx'), input_names=['input'], output_names=['output'],
                              opset_version=17, dynamo=False)
        # Wall time with all cores, and CPU time with one thread (robust when other processes share the CPU).
        for threads in (os.cpu_count(), 1):
            torch.set_num_threads(threads)
            wall, cpu = [], []
            for _ in range(a.runs + 1):
                t, c = time.perf_counter(), time.process_time()
                net(x)
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            out[f'torch{threads}'] = {'wallMs': float(np.median(wall[1:]) * 1000), 'cpuMs': float(np.median(cpu[1:]) * 1000)}
    out['torchMsPerRun'] = out[f'torch{os.cpu_count()}']['wallMs']
    with open(os.path.join(a.out, 'torch.json'), 'w') as f:
        json.dump(out, f)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
