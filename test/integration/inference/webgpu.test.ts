/**
 * The WebGPU execution provider, proven on the CPU with Mesa's lavapipe (software Vulkan). Runs when
 * VK_ICD_FILENAMES is set — CI (.ci/run) fetches lavapipe and sets it, and with CI=true a missing lavapipe fails
 * here instead of skipping; locally, fetch it first (outside the repo):
 *   eval "$(test/integration/inference/fetch-lavapipe.sh /work/lavapipe)"
 *   npx vitest run test/integration/inference/webgpu.test.ts
 * The real third-party MeshNet (Conv3d only) must give the same labels as its reference output, as on the CPU.
 * onnxruntime-node 1.30's WebGPU provider has no 3-D ConvTranspose ("Only Conv2d or Conv1d are supported"); the
 * engine rewrites kernel = stride ConvTransposes into pointwise Conv + DepthToSpace at load (onnx-graph.ts), so an
 * nnU-Net 3-D U-Net runs there too: a golden test network on a real two-channel MR must give the CPU's labels apart
 * from floating-point ties, and the unrewritten network must still be refused by the provider (the reason for the
 * rewrite).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { segment } from '../../../main/core/inference/engine';
import { readImageFile } from '../../../main/core/io';
import { loadModel } from '../../../main/core/models/registry';
import { ort } from '../../../main/core/inference/session';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';

const enabled = Boolean(process.env.VK_ICD_FILENAMES);

describe.runIf(process.env.CI === 'true' && !enabled)('WebGPU provider in CI', () => {
  it('has lavapipe (VK_ICD_FILENAMES, set by .ci/run)', () => {
    throw new Error('VK_ICD_FILENAMES is not set: CI must fetch lavapipe (test/integration/inference/fetch-lavapipe.sh) so the WebGPU tests run');
  });
});

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

  it('an nnU-Net 3-D U-Net (ConvTranspose decoder) gives the CPU labels on WebGPU', { timeout: 1_800_000 }, async () => {
    const dir = `${PROJECT_ROOT}/test/fixtures/engine/tcia-mr-2ch`;
    const original = new Uint8Array(readFileSync(`${dir}/fold_0.onnx`));
    const direct = await ort.InferenceSession.create(original, { executionProviders: ['webgpu'] });
    const x = new Float32Array(2 * 16 * 64 * 64);
    await expect(direct.run({ input: new ort.Tensor('float32', x, [1, 2, 16, 64, 64]) })).rejects.toThrow(/Conv2d or Conv1d/);
    await direct.release();
    const model = await loadModel(dir);
    const inputs = await Promise.all(
      ['PGBM-001_04-02-1992_T1post', 'PGBM-001_04-02-1992_FLAIRreg'].map((f) => readImageFile(dataPath(`tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/${f}.nii.gz`))),
    );
    const opts = { folds: [0], tta: false };
    const cpu = await segment(model, inputs, { ...opts, device: 'cpu' });
    const gpu = await segment(model, inputs, { ...opts, device: 'webgpu' });
    expect(gpu.stats.device).toBe('webgpu');
    let differ = 0;
    for (let i = 0; i < cpu.labels.data.length; i++) if (cpu.labels.data[i] !== gpu.labels.data[i]) differ++;
    console.log(`[webgpu] tcia-mr-2ch fold 0: labels differing from the CPU: ${differ} of ${cpu.labels.data.length}; inference ${gpu.stats.seconds.inference.toFixed(1)} s (CPU ${cpu.stats.seconds.inference.toFixed(1)} s)`);
    expect(differ / cpu.labels.data.length).toBeLessThan(1e-3);
  });
});
