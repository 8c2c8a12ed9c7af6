"""A synthetic 100-class "model" for the engine's memory measurement (test/bench/inference-memory.ts): one 1×1×1
Conv3d from 1 input channel to 100 logits (logit_c = w_c · x + b_c, so the argmax partitions the intensity range
into many classes), exported to ONNX with a fixed [1, 1, 128, 128, 128] input, plus a manifest (1.5 mm target
spacing, patch 128³, Gaussian blending, nnU-Net settings). Writes test/fixtures/engine/synthetic-100/.

Run:  /work/py/venv/bin/python test/reference/make_synthetic_model.py
"""
import hashlib, json, os
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'engine', 'synthetic-100')
os.makedirs(OUT, exist_ok=True)
C, P = 100, [128, 128, 128]
torch.manual_seed(7)
net = torch.nn.Conv3d(1, C, 1)
with torch.no_grad():
    centres = torch.linspace(-2.5, 2.5, C)
    net.weight.copy_((centres * 4).view(C, 1, 1, 1, 1))   # logit_c = 4 c_k x - 2 c_k^2: argmax = nearest centre
    net.bias.copy_(-2 * centres ** 2)
path = os.path.join(OUT, 'fold_0.onnx')
torch.onnx.export(net.eval(), torch.zeros(1, 1, *P), path, input_names=['input'], output_names=['output'], opset_version=17, dynamo=False)
sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
manifest = {
    'schemaVersion': 1, 'id': 'synthetic-100', 'name': 'Synthetic 100-class intensity classifier', 'version': '1',
    'description': 'Memory-measurement model: 1x1x1 conv to 100 classes. Not a real segmentation model.',
    'framework': 'nnunetv2', 'dimensionality': '3d',
    'channels': [{'name': 'CT', 'modality': 'CT', 'normalization': {'scheme': 'zscore', 'useMask': False}}],
    'tensorAxesFromIjk': [2, 1, 0], 'targetSpacingMm': [1.5, 1.5, 1.5], 'cropToNonzero': True,
    'resampling': {'dataOrder': 3, 'dataOrderZ': 0, 'probabilitiesOrder': 1, 'probabilitiesOrderZ': 0, 'segOrder': 1,
                   'forceSeparateZ': None, 'anisotropyThreshold': 3},
    'patchSize': P, 'tileStepSize': 0.5, 'tiling': 'nnunet',
    'blending': {'mode': 'gaussian', 'sigmaScale': 0.125, 'maxValue': 10}, 'mirroringAxes': [0, 1, 2],
    'output': {'kind': 'softmax', 'labels': [{'value': i, 'name': 'background' if i == 0 else f'class {i}',
                                              'color': [(i * 37) % 256, (i * 91) % 256, (i * 53) % 256]} for i in range(C)]},
    'postprocessing': [], 'folds': [{'fold': 0, 'file': 'fold_0.onnx', 'sha256': sha}],
    'onnx': {'inputName': 'input', 'outputName': 'output', 'opset': 17},
    'provenance': {'generator': 'test/reference/make_synthetic_model.py'}}
json.dump(manifest, open(os.path.join(OUT, 'manifest.json'), 'w'), indent=1)
print('wrote', OUT)
