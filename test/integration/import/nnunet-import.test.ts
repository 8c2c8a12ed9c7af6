/**
 * `delineate import-model nnunet` for real: runs native-models/bridge/export_nnunet.py on an nnU-Net v2 results
 * folder. Needs Python with torch + nnunetv2, so it is OPT-IN (not run in CI):
 *
 *   DELINEATE_TEST_NNUNET_RESULTS=/work/nnunet_work/results/Dataset501_BrainTumourT1c/nnUNetTrainerDelineateCPU__nnUNetPlansCPU__3d_fullres \
 *   DELINEATE_TEST_NNUNET_CHECKPOINT=checkpoint_best.pth DELINEATE_PYTHON=/work/py/venv/bin/python \
 *   npx vitest run test/integration/import/nnunet-import.test.ts
 *
 * Its output (manifest.json, MODEL_CARD.md) from that folder, fold 0, checkpoint_best.pth, is committed in
 * test/fixtures/import/nnunet/; CI checks that fixture (it must validate, and its fields must be what the bridge
 * derives from plans.json/dataset.json); the opt-in run checks that a fresh export still produces the same
 * manifest apart from the weights' hashes and the export's provenance.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/index';
import { type ModelManifest, validateManifest } from '../../../main/common/manifest';
import { loadModel } from '../../../main/core/models/registry';
import { PROJECT_ROOT } from '../../helpers/data';
import { captureIo as capture } from '../../helpers/cli';

const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/import/nnunet/manifest.json');
const RESULTS = process.env.DELINEATE_TEST_NNUNET_RESULTS;

/** The manifest without what changes with every export or checkpoint (hashes, export time, parity figures). */
function stable(m: ModelManifest): unknown {
  const { folds, provenance, ...rest } = m;
  const { exportedAt: _e, onnxVsTorchMaxAbsDiff: _d, ...prov } = provenance;
  return { ...rest, folds: folds.map((f) => ({ fold: f.fold, file: f.file })), provenance: prov };
}

describe('import-model nnunet: committed bridge output', () => {
  it('validates and holds what the bridge derived from the tumour model plans', () => {
    const m = JSON.parse(readFileSync(FIXTURE, 'utf8')) as ModelManifest;
    expect(validateManifest(m)).toEqual([]);
    expect(m.framework).toBe('nnunetv2');
    // nnU-Net transpose_forward [0,1,2] on SimpleITK arrays [k,j,i] → tensor axes from ijk [2,1,0]
    expect(m.tensorAxesFromIjk).toEqual([2, 1, 0]);
    expect(m.tiling).toBe('nnunet');
    expect(m.blending).toEqual({ mode: 'gaussian', sigmaScale: 0.125, maxValue: 10 });
    expect(m.output.labels.map((l) => l.name)).toEqual(['background', 'enhancing_tumour']);
    expect(m.folds.map((f) => f.file)).toEqual(['fold_0.onnx']);
  });
});

describe.skipIf(!RESULTS)('import-model nnunet on a real results folder (opt-in: DELINEATE_TEST_NNUNET_RESULTS)', () => {
  it('exports, validates, loads, and matches the committed manifest', { timeout: 1_200_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'delineate-import-nnunet-'));
    try {
      const io = capture();
      const out = join(root, 'model');
      const ck = process.env.DELINEATE_TEST_NNUNET_CHECKPOINT ?? 'checkpoint_final.pth';
      const code = await main(['import-model', 'nnunet', RESULTS!, '--out', out, '--folds', '0', '--checkpoint', ck], io);
      expect(code, io.err).toBe(0);
      expect(io.err).toMatch(/parity fold_0\.onnx/); // the bridge's progress was streamed
      const loaded = await loadModel(out);
      expect(stable(loaded.manifest)).toEqual(stable(JSON.parse(readFileSync(FIXTURE, 'utf8')) as ModelManifest));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
