"""Probe ONNX Runtime's 3-D convolution speed on the CPU (the same MLAS kernels as onnxruntime-node):
Conv3d and nnU-Net's ConvTranspose3d (kernel = stride = 2) per graph-optimisation level and thread count, against
PyTorch on the same tensors, and an exact rewrite of the transposed convolution as a 1×1×1 Conv + Reshape/Transpose
("depth-to-space" 3-D) that avoids ORT's col2im path.

Usage: /work/py/venv/bin/python test/reference/ort_conv3d_probe.py [--size 24,80,80] [--ch 64]
Prints one JSON line per measurement (ms per run, median of 5).
"""
import argparse, io, json, os, time
import numpy as np
import onnxruntime as ort
import torch

ap = argparse.ArgumentParser()
ap.add_argument('--size', default='24,80,80')
ap.add_argument('--ch', type=int, default=64)
a = ap.parse_args()
D, H, W = [int(x) for x in a.size.split(',')]
C = a.ch


class UpAsConv(torch.nn.Module):
    """ConvTranspose3d(C, Co, k=s, stride=s) == Conv3d(C, Co*s^3, 1) then 3-D depth-to-space (exact)."""

    def __init__(self, up: torch.nn.ConvTranspose3d):
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


def to_onnx(m, x, opset=17):
    f = io.BytesIO()
    torch.onnx.export(m.eval(), x, f, input_names=['x'], output_names=['y'], opset_version=opset, dynamo=False)
    return f.getvalue()


def timed(fn, n=5):
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    return float(np.median(ts))


torch.manual_seed(0)
conv = torch.nn.Conv3d(C, C, 3, padding=1)
up = torch.nn.ConvTranspose3d(C * 2, C, 2, stride=2)
xc = torch.randn(1, C, D, H, W)
xu = torch.randn(1, C * 2, D // 2, H // 2, W // 2)
upc = UpAsConv(up)
with torch.no_grad():
    err = float((upc(xu) - up(xu)).abs().max())
print(json.dumps({'check': 'UpAsConv == ConvTranspose3d', 'maxAbsDiff': err}))
for threads in sorted({1, os.cpu_count()}):
    torch.set_num_threads(threads)
    with torch.no_grad():
        print(json.dumps({'op': 'Conv3d 3x3x3', 'runtime': 'torch', 'threads': threads, 'ms': timed(lambda: conv(xc))}))
        print(json.dumps({'op': 'ConvTranspose3d k2s2', 'runtime': 'torch', 'threads': threads, 'ms': timed(lambda: up(xu))}))
    for name, model, x in [('Conv3d 3x3x3', conv, xc), ('ConvTranspose3d k2s2', up, xu), ('ConvTranspose3d k2s2 as Conv1x1+DepthToSpace', upc, xu)]:
        for level in ['ORT_DISABLE_ALL', 'ORT_ENABLE_BASIC', 'ORT_ENABLE_ALL']:
            so = ort.SessionOptions()
            so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
            so.intra_op_num_threads = threads
            s = ort.InferenceSession(to_onnx(model, x), so, providers=['CPUExecutionProvider'])
            xin = x.numpy()
            print(json.dumps({'op': name, 'runtime': f'onnxruntime {ort.__version__} {level}', 'threads': threads, 'ms': timed(lambda: s.run(None, {'x': xin}))}))
