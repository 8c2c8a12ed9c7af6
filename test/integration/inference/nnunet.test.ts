/**
 * End to end against nnU-Net v2's own predictor (golden outputs from test/reference/make_nnunet_golden.py, real
 * volumes from the shared data root): the same ONNX networks through Delineate must give nnU-Net's labels apart
 * from floating-point ties, and its float16 network-grid logits to within the rounding of float16.
 *
 * Tolerances: ONNX Runtime and PyTorch compute the convolutions in a different order (≈1e-6 relative), and nnU-Net
 * rounds every accumulation step to float16 (Delineate's default for nnU-Net models does the same), so a running
 * sum Σ gaussian·logit (gaussian up to 10, several overlapping tiles) may land on the neighbouring half; after the
 * division by the weights that is up to 2^-11 absolute for |sum| < 2, plus the half rounding of the result:
 * |Δ| ≤ 2 half-ULPs of the value + 2^-9. Labels may differ only where nnU-Net's own float16 logits of two classes
 * are that close (a tie); we require < 0.1 % of voxels.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { segment } from '../../../main/core/inference/engine';
import { HALF_TO_FLOAT } from '../../../main/core/inference/half';
import { readImageFile } from '../../../main/core/io';
import { loadModel } from '../../../main/core/models/registry';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';

const CASES: Record<string, string[]> = {
  'tcia-mr-2ch': [
    'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_T1post.nii.gz',
    'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_FLAIRreg.nii.gz',
  ],
  'totalseg-ct': ['totalseg-example/example_ct_sm.nii.gz'],
  'tcia-mr-2d': ['tcia-brain-tumor-progression/nifti/PGBM-003_03-29-1995/PGBM-003_03-29-1995_T1post.nii.gz'],
};

function halfUlp(x: number): number {
  const a = Math.abs(x);
  if (a < 6.103515625e-5) return 2 ** -24;
  return 2 ** (Math.floor(Math.log2(a)) - 10);
}

for (const [name, images] of Object.entries(CASES)) {
  const dir = `${PROJECT_ROOT}/test/fixtures/engine/${name}`;
  describe.skipIf(!hasData(...images))(`nnU-Net golden: ${name}`, () => {
    // Missing golden files are a defect (regenerate with test/reference/make_nnunet_golden.py), never a skip.
    it('labels equal nnU-Net apart from ties; float16 logits within rounding', { timeout: 1_800_000 }, async () => {
      const meta = JSON.parse(readFileSync(`${dir}/ref.json`, 'utf8')) as { networkShape: number[]; stride: number; subShape: number[] };
      const model = await loadModel(dir);
      const inputs = await Promise.all(images.map((p) => readImageFile(dataPath(p))));
      const refLabels = await readImageFile(`${dir}/ref_labels.nii.gz`);
      const refBits = new Uint16Array(new Uint8Array(gunzipSync(readFileSync(`${dir}/ref_logits.f16.gz`))).buffer);
      const [C, s0, s1, s2] = meta.subShape as [number, number, number, number];
      const [, n1, n2] = meta.networkShape as [number, number, number];
      const st = meta.stride;
      let maxDiff = 0;
      let worstUlps = 0;
      let compared = 0;
      const res = await segment(model, inputs, {
        device: 'cpu',
        accumulation: 'float16',
        onNetworkRow: (u, values) => {
          if (u % st !== 0) return;
          const a = u / st;
          for (let c = 0; c < C; c++)
            for (let b = 0; b < s1; b++)
              for (let x = 0; x < s2; x++) {
                const ref = HALF_TO_FLOAT[refBits[((c * s0 + a) * s1 + b) * s2 + x]!]!;
                const mine = values[(c * n1 + b * st) * n2 + x * st]!;
                const d = Math.abs(mine - ref);
                maxDiff = Math.max(maxDiff, d);
                worstUlps = Math.max(worstUlps, d / (2 * halfUlp(ref) + 2 ** -9));
                compared++;
              }
        },
      });
      expect(res.stats.networkShape).toEqual(meta.networkShape);
      expect(compared).toBe(C * s0 * s1 * s2);
      let differ = 0;
      for (let i = 0; i < refLabels.data.length; i++) if (refLabels.data[i] !== res.labels.data[i]) differ++;
      const frac = differ / refLabels.data.length;
      console.log(
        `[${name}] labels differing: ${differ} / ${refLabels.data.length} (${(frac * 100).toFixed(4)} %); ` +
          `max |Δlogit| ${maxDiff.toExponential(3)} (${worstUlps.toFixed(2)} of the tolerance) over ${compared} sampled network voxels; ` +
          `${res.stats.tiles} tiles, ${res.stats.networkRuns} runs, ${res.stats.seconds.total.toFixed(1)} s`,
      );
      expect(worstUlps).toBeLessThanOrEqual(1);
      expect(frac).toBeLessThan(1e-3);
    });
  });
}
