/**
 * `delineate import-model monai-bundle` for real (runs native-models/bridge/export_monai.py). Needs Python with
 * torch + monai + onnx + onnxruntime, so it is OPT-IN (not run in CI):
 *
 *   DELINEATE_TEST_MONAI_PYTHON=/work/py/venv/bin/python npx vitest run test/integration/import/monai-bridge-python.test.ts
 *
 * It builds the tiny test bundle with native-models/bridge/monai_make_test_bundle.py (state dict and TorchScript
 * variants), imports it through the CLI, and checks that unsupported transforms are refused with a message.
 * CI covers the bridge through the committed output in test/fixtures/import/monai (monai-bundle.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/index';
import type { ModelManifest } from '../../../main/common/manifest';
import { loadModel } from '../../../main/core/models/registry';
import { PROJECT_ROOT } from '../../helpers/data';
import { captureIo as capture } from '../../helpers/cli';

const PY = process.env.DELINEATE_TEST_MONAI_PYTHON;
const MAKER = join(PROJECT_ROOT, 'native-models/bridge/monai_make_test_bundle.py');

describe.skipIf(!PY)('import-model monai-bundle with Python (opt-in: DELINEATE_TEST_MONAI_PYTHON)', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'delineate-monai-py-'));
    for (const [dir, extra] of [['pt', []], ['ts', ['--torchscript']]] as const) {
      const r = spawnSync(PY!, [MAKER, join(root, dir), ...extra], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bundle maker failed: ${r.stderr}`);
    }
  }, 600_000); // importing torch + monai twice takes minutes on a busy 2-core machine
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(['pt', 'ts'])('imports the %s bundle (gaussian blending mapped, parity checked)', { timeout: 600_000 }, async (dir) => {
    const io = capture();
    const out = join(root, `model-${dir}`);
    expect(await main(['import-model', 'monai-bundle', join(root, dir), '--out', out, '--python', PY!], io), io.err).toBe(0);
    expect(io.err).toMatch(/parity input \[32, 32, 32\]: max\|onnx-torch\|/);
    const m = (await loadModel(out)).manifest as ModelManifest;
    expect(m.blending).toEqual({ mode: 'gaussian', sigmaScale: 0.125, maxValue: 1 });
    expect(m.provenance.weights).toMatch(dir === 'pt' ? /state dict/ : /TorchScript/);
    expect(m.provenance.onnxVsTorchMaxAbsDiff as number).toBeLessThan(1e-4);
  });

  it('refuses an unsupported transform, naming it, and writes nothing', { timeout: 300_000 }, async () => {
    const cfg = join(root, 'pt', 'configs', 'inference.json');
    const inf = JSON.parse(readFileSync(cfg, 'utf8')) as { preprocessing: { transforms: object[] } };
    inf.preprocessing.transforms.splice(4, 0, { _target_: 'CropForegroundd', keys: 'image', source_key: 'image' });
    writeFileSync(cfg, JSON.stringify(inf));
    const io = capture();
    expect(await main(['import-model', 'monai-bundle', join(root, 'pt'), '--out', join(root, 'refused'), '--python', PY!], io)).toBe(1);
    expect(io.err).toMatch(/preprocessing#transforms#4: preprocessing transform CropForegroundd is not supported/);
    expect(readdirSync(root).filter((n) => n.includes('refused'))).toEqual([]);
  });
});
