"""A small 3-D network for the depth-as-batch rewrite's tests (test/unit/inference/onnx-graph.test.ts): every
case the rewrite maps that nnU-Net's PlainConvUNet exports do not have. No reference outputs: the test compares
ONNX Runtime on the rewritten graph with ONNX Runtime on this graph as written.

Written to test/fixtures/engine/depth-batch-zoo/model.onnx (opset 13, so the rewrite must raise it to 14; random
weights with a fixed seed). Input [1, 2, 8, 12, 10] (odd in-plane sizes on purpose):
  Identity on a weight (torch's shared-weight export) → Conv 3×3×3 pads 1 → InstanceNormalization → LeakyRelu (a0)
  Conv 3×3×3 stride 2 in all axes → PRelu (scalar slope) (a1)
  Conv 2×3×3, depth pads 0 before / 1 after → Relu; Add(a1, ·) residual; plus a strided 1×1×1 Conv of a0 (a residual
  skip with a depth stride) and an AveragePool 2×2×2 of a0; Mul by a Constant node's scalar (r)
  ConvTranspose 2×2×2 stride 2 with bias → Concat with a0 on channels
  Conv 1×3×3 → Sigmoid (a3); Concat(a3, 1 − a3) along depth (axis 2; a constant as the first operand);
  MaxPool 1×2×2 of a3 → Resize ×2 in-plane (linear) → Add to a3 (a3r)
  head: pointwise Conv → Softmax over channels (a head that is not the graph output: rewritten 2-D)   → 'output'
  second output: ConvTranspose 1×2×2 stride (1, 2, 2) without bias on a3r                         → 'upsampled'

Run:  /work/py/venv/bin/python test/reference/make_depth_batch_fixture.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper as h, numpy_helper as nh

rng = np.random.default_rng(20261129)
inits = {}


def w(name, *shape, scale=0.3):
    inits[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return name


def c(name, value):
    inits[name] = np.asarray(value, np.float32)
    return name


nodes = [
    h.make_node('Identity', [w('w0', 8, 2, 3, 3, 3)], ['w0_shared']),
    h.make_node('Conv', ['input', 'w0_shared', w('b0', 8)], ['c0'], kernel_shape=[3, 3, 3], pads=[1] * 6),
    h.make_node('InstanceNormalization', ['c0', w('g0', 8), w('be0', 8)], ['n0'], epsilon=1e-5),
    h.make_node('LeakyRelu', ['n0'], ['a0'], alpha=0.01),
    h.make_node('Conv', ['a0', w('w1', 8, 8, 3, 3, 3)], ['c1'], kernel_shape=[3, 3, 3], pads=[1] * 6, strides=[2, 2, 2]),
    h.make_node('PRelu', ['c1', c('slope', [0.2])], ['a1']),
    h.make_node('Conv', ['a1', w('w2', 8, 8, 2, 3, 3), w('b2', 8)], ['c2'], kernel_shape=[2, 3, 3], pads=[0, 1, 1, 1, 1, 1]),
    h.make_node('Relu', ['c2'], ['a2']),
    h.make_node('Add', ['a1', 'a2'], ['r0']),
    h.make_node('Conv', ['a0', w('ws', 8, 8, 1, 1, 1)], ['skip'], kernel_shape=[1, 1, 1], strides=[2, 2, 2]),
    h.make_node('AveragePool', ['a0'], ['pooled'], kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
    h.make_node('Add', ['r0', 'skip'], ['r1']),
    h.make_node('Add', ['r1', 'pooled'], ['r2']),
    h.make_node('Constant', [], ['half'], value=h.make_tensor('half_value', TensorProto.FLOAT, [], [0.5])),
    h.make_node('Mul', ['r2', 'half'], ['r']),
    h.make_node('ConvTranspose', ['r', w('wt', 8, 6, 2, 2, 2), w('bt', 6)], ['up'], kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
    h.make_node('Concat', ['up', 'a0'], ['cat'], axis=1),
    h.make_node('Conv', ['cat', w('w3', 4, 14, 1, 3, 3)], ['c3'], kernel_shape=[1, 3, 3], pads=[0, 1, 1, 0, 1, 1]),
    h.make_node('Sigmoid', ['c3'], ['a3']),
    h.make_node('Sub', [c('one', 1.0), 'a3'], ['a3c']),
    h.make_node('MaxPool', ['a3'], ['mp'], kernel_shape=[1, 2, 2], strides=[1, 2, 2]),
    h.make_node('Resize', ['mp', '', c('scales', [1, 1, 1, 2, 2])], ['rs'], mode='linear'),
    h.make_node('Add', ['a3', 'rs'], ['a3r']),
    h.make_node('Concat', ['a3', 'a3c'], ['deep'], axis=2),
    h.make_node('Conv', ['deep', w('wh', 3, 4, 1, 1, 1), w('bh', 3)], ['logits'], kernel_shape=[1, 1, 1]),
    h.make_node('Softmax', ['logits'], ['output'], axis=1),
    h.make_node('ConvTranspose', ['a3r', w('wu', 4, 2, 1, 2, 2)], ['upsampled'], kernel_shape=[1, 2, 2], strides=[1, 2, 2]),
]
graph = h.make_graph(
    nodes, 'depth_batch_zoo',
    [h.make_tensor_value_info('input', TensorProto.FLOAT, [1, 2, 8, 12, 10])],
    [h.make_tensor_value_info('output', TensorProto.FLOAT, [1, 3, 16, 12, 10]),
     h.make_tensor_value_info('upsampled', TensorProto.FLOAT, [1, 2, 8, 24, 20])],
    [nh.from_array(v, k) for k, v in inits.items()])
model = h.make_model(graph, opset_imports=[h.make_opsetid('', 13)], producer_name='make_depth_batch_fixture.py')
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'engine', 'depth-batch-zoo')
os.makedirs(out, exist_ok=True)
onnx.save(model, os.path.join(out, 'model.onnx'))
print('wrote', os.path.join(out, 'model.onnx'))

# The same network with its weights also listed as graph inputs (torch's keep_initializers_as_inputs=True; older
# exports): ONNX Runtime does not constant-fold overridable initializers, so the rewrite slices depth taps itself.
graph_inputs = h.make_graph(
    nodes, 'depth_batch_zoo_inits_as_inputs',
    [h.make_tensor_value_info('input', TensorProto.FLOAT, [1, 2, 8, 12, 10])]
    + [h.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in inits.items()],
    list(graph.output),
    [nh.from_array(v, k) for k, v in inits.items()])
model_inputs = h.make_model(graph_inputs, opset_imports=[h.make_opsetid('', 13)], producer_name='make_depth_batch_fixture.py')
model_inputs.ir_version = 8
onnx.checker.check_model(model_inputs, full_check=True)
onnx.save(model_inputs, os.path.join(out, 'inits_as_inputs.onnx'))
print('wrote', os.path.join(out, 'inits_as_inputs.onnx'))
