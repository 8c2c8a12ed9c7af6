/**
 * The WebGPU execution provider, proven on the CPU with Mesa's lavapipe (software Vulkan). Runs only when
 * VK_ICD_FILENAMES is set — fetch lavapipe first (outside the repo):
 *   eval "$(test/integration/inference/fetch-lavapipe.sh /work/lavapipe)"
 *   npx vitest run test/integration/inference/webgpu.test.ts
 * The real third-party MeshNet (Conv3d only) must give the same labels as its reference output, as on the CPU.
 * Known limit (onnxruntime-node 1.30): the WebGPU provider has no 3-D ConvTranspose ("Only Conv2d or Conv1d are
 * supported"), so 3-D U-Nets with transposed-convolution decoders fail there with a MODEL error naming the cause.
 */
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { segment } from '../../../main/core/inference/engine';
import { readImageFile } from '../../../main/core/io';
import { loadModel } from '../../../main/core/models/registry';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';

const enabled = Boolean(process.env.VK_ICD_FILENAMES);

describe.skipIf(!enabled || !hasData('meshnet-onnx-gwm/model.onnx'))('WebGPU provider (lavapipe)', () => {
  it('MeshNet on WebGPU gives the reference labels', { timeout: 1_800_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'delineate-meshnet-'));
    try {
      copyFileSync(`${PROJECT_ROOT}/native-models/meshnet-gwm/manifest.json`, join(dir, 'manifest.json'));
      symlinkSync(dataPath('meshnet-onnx-gwm/model.onnx'), join(dir, 'model.onnx'));
      const model = await loadModel(dir);
      const t1 = await readImageFile(dataPath('meshnet-onnx-gwm/t1_crop.nii.gz'));
      const ref = await readImageFile(dataPath('meshnet-onnx-gwm/meshnet_gwm_ref_seg.nii.gz'));
      const res = await segment(model, [t1], { device: 'webgpu' });
      let differ = 0;
      for (let i = 0; i < ref.data.length; i++) if (ref.data[i] !== res.labels.data[i]) differ++;
      console.log(`[webgpu] MeshNet labels differing from the reference: ${differ} of ${ref.data.length}; inference ${res.stats.seconds.inference.toFixed(1)} s`);
      expect(res.stats.device).toBe('webgpu');
      expect(differ / ref.data.length).toBeLessThan(1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
