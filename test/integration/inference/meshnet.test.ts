/**
 * The real third-party ONNX (brainchop MeshNet, niivue-onnx's model.onnx in the shared data) end to end on its
 * sample T1 against meshnet_gwm_ref_seg.nii.gz — produced by onnxruntime-node 1.20.1 with niivue-onnx's
 * preprocessing (file-order voxels as [1,1,k,j,i], min-max scaled to 0..1, argmax). The bundled manifest
 * (native-models/meshnet-gwm) describes exactly that; the ONNX is not copied into the project: the test builds a
 * temporary model folder with the manifest and a link to the shared file.
 */
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { segment } from '../../../main/core/inference/engine';
import { readImageFile } from '../../../main/core/io';
import { loadModel } from '../../../main/core/models/registry';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';

const FILES = ['meshnet-onnx-gwm/model.onnx', 'meshnet-onnx-gwm/t1_crop.nii.gz', 'meshnet-onnx-gwm/meshnet_gwm_ref_seg.nii.gz'];

describe.skipIf(!hasData(...FILES))('MeshNet (third-party ONNX) end to end', () => {
  it('gives the reference labels on the CPU', { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'delineate-meshnet-'));
    try {
      copyFileSync(`${PROJECT_ROOT}/native-models/meshnet-gwm/manifest.json`, join(dir, 'manifest.json'));
      symlinkSync(dataPath('meshnet-onnx-gwm/model.onnx'), join(dir, 'model.onnx'));
      const model = await loadModel(dir); // checks the manifest's SHA-256 against the shared file
      const t1 = await readImageFile(dataPath('meshnet-onnx-gwm/t1_crop.nii.gz'));
      const ref = await readImageFile(dataPath('meshnet-onnx-gwm/meshnet_gwm_ref_seg.nii.gz'));
      const res = await segment(model, [t1], { device: 'cpu' });
      expect(res.labels.size).toEqual(ref.size);
      let differ = 0;
      const counts = [0, 0, 0];
      for (let i = 0; i < ref.data.length; i++) {
        if (ref.data[i] !== res.labels.data[i]) differ++;
        counts[res.labels.data[i]!]!++;
      }
      console.log(`[meshnet] labels differing from the reference: ${differ} of ${ref.data.length}; counts ${counts.join('/')}; inference ${res.stats.seconds.inference.toFixed(1)} s`);
      // Same network, same input, same runtime family: equal apart from floating-point ties.
      expect(differ / ref.data.length).toBeLessThan(1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
