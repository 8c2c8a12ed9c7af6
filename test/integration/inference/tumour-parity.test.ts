/**
 * Parity of the bundled nnU-Net model (native-models/brain-tumour-t1c, fold 0) with nnU-Net v2 itself: the
 * reference labels in test/fixtures/nnunet-parity were made by nnU-Net's own nnUNetPredictor from the PyTorch
 * checkpoint that fold_0.onnx was exported from (native-models/bridge/make_parity_fixture.py), on real T1c volumes
 * of the shared data. The bundled model is nnU-Net's 2d configuration (whole 160×160 slices at 1.375 mm, run slice
 * by slice along the first tensor axis). Delineate runs the ONNX through its own pipeline (preprocessing, sliding
 * window, float16 accumulation as nnU-Net 2.8.1, export) and must give the same labels apart from floating-point
 * ties: ONNX Runtime and PyTorch sum the convolutions in another order (≈1e-6 relative), which can flip a voxel only
 * where the two classes' float16 logits are within a rounding step. We require fewer than 0.01 % differing voxels
 * and report the count.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { segment } from '../../../main/core/inference/engine';
import { readImageFile } from '../../../main/core/io';
import { loadModel } from '../../../main/core/models/registry';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';

interface ParityCase {
  case: string;
  input: string;
  mirroring: boolean;
  labels: string;
  voxelsPerLabel: Record<string, number>;
}

const fixtureDir = `${PROJECT_ROOT}/test/fixtures/nnunet-parity`;
const parity = JSON.parse(readFileSync(`${fixtureDir}/parity.json`, 'utf8')) as {
  model: { dir: string; onnx: string; onnxSha256: string };
  cases: ParityCase[];
};
// Every case with and without mirroring (the 2D model runs 4 mirror variants of a slice in well under a minute).
const cases = parity.cases;

describe('bundled brain-tumour-t1c vs nnU-Net v2 nnUNetPredictor', () => {
  it('the fixture was made from the bundled ONNX', () => {
    const onnx = readFileSync(`${PROJECT_ROOT}/${parity.model.dir}/${parity.model.onnx}`);
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(parity.model.onnxSha256);
  });

  for (const c of cases) {
    describe.skipIf(!hasData(c.input))(`${c.case} (${c.mirroring ? 'mirroring' : 'no mirroring'})`, () => {
      it('labels equal nnU-Net apart from ties', { timeout: 1_800_000 }, async () => {
        const model = await loadModel(`${PROJECT_ROOT}/${parity.model.dir}`);
        const image = await readImageFile(dataPath(c.input));
        const ref = await readImageFile(`${fixtureDir}/${c.labels}`);
        const res = await segment(model, [image], { device: 'cpu', tta: c.mirroring, folds: [0], accumulation: 'float16' });
        expect(res.labels.size).toEqual(ref.size);
        let differ = 0;
        let foreground = 0;
        for (let i = 0; i < ref.data.length; i++) {
          if (ref.data[i] !== res.labels.data[i]) differ++;
          if (res.labels.data[i] === 1) foreground++;
        }
        console.log(
          `[${c.case}${c.mirroring ? ' +TTA' : ''}] differing voxels ${differ} / ${ref.data.length}; ` +
            `foreground Delineate ${foreground}, nnU-Net ${c.voxelsPerLabel['1'] ?? 0}; ${res.stats.tiles} tiles, ${res.stats.seconds.total.toFixed(1)} s`,
        );
        expect(differ / ref.data.length).toBeLessThan(1e-4);
      });
    });
  }
});
