/**
 * `import-model nnunet|monai-bundle`: the checks made before any Python runs (folder layout, interpreter present,
 * packages present), through the CLI. These need no Python packages; the probe of a missing package uses
 * whatever `python3` is on the PATH (it is skipped, with a message, only when there is none).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/index';
import { DelineateError } from '../../../main/common/errors';
import { checkMonaiBundle, checkNnunetFolder } from '../../../main/core/models/import/bridge';
import { checkPythonModules } from '../../../main/core/models/import/python';
import { captureIo as capture } from '../../helpers/cli';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'delineate-import-bridge-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function touch(...parts: string[]): void {
  const p = join(root, ...parts);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, '{}');
}

function thrown(f: () => unknown): DelineateError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DelineateError);
    return e as DelineateError;
  }
  throw new Error('expected a DelineateError');
}

const hasPython3 = spawnSync('python3', ['-c', 'print(1)']).status === 0;

describe('import-model nnunet: folder checks', () => {
  it('names everything missing from a folder that is not an nnU-Net results folder', async () => {
    touch('notnnunet', 'readme.txt');
    const io = capture();
    expect(await main(['import-model', 'nnunet', join(root, 'notnnunet'), '--out', join(root, 'out'), '--python', '/nonexistent/python'], io)).toBe(1);
    expect(io.err).toMatch(/is not an nnU-Net v2 trained model folder .*missing plans\.json, dataset\.json, fold_<N>\/checkpoint_final\.pth \(no fold_<N> folders\)/);
    expect(existsSync(join(root, 'out'))).toBe(false);
  });

  it('names a missing fold and a missing checkpoint', () => {
    touch('r', 'plans.json');
    touch('r', 'dataset.json');
    touch('r', 'fold_0', 'checkpoint_final.pth');
    touch('r', 'fold_1', 'checkpoint_best.pth');
    expect(checkNnunetFolder(join(root, 'r'), undefined, 'checkpoint_final.pth')).toEqual([0]);
    expect(checkNnunetFolder(join(root, 'r'), [1], 'checkpoint_best.pth')).toEqual([1]);
    const e = thrown(() => checkNnunetFolder(join(root, 'r'), [0, 1, 2], 'checkpoint_final.pth'));
    expect(e.code).toBe('FORMAT');
    expect(e.message).toMatch(/missing fold_1\/checkpoint_final\.pth, fold_2\/$/);
    const e2 = thrown(() => checkNnunetFolder(join(root, 'r'), undefined, 'checkpoint_latest.pth'));
    expect(e2.message).toMatch(/missing checkpoint_latest\.pth in any of fold_0\/, fold_1\//);
    expect(thrown(() => checkNnunetFolder(join(root, 'nope'), undefined, 'checkpoint_final.pth')).code).toBe('NOT_FOUND');
  });

  it('accepts "--folds 0 1" and "--folds 0,1" and reports a Python that cannot start', async () => {
    touch('r', 'plans.json');
    touch('r', 'dataset.json');
    touch('r', 'fold_0', 'checkpoint_final.pth');
    touch('r', 'fold_1', 'checkpoint_final.pth');
    for (const folds of [['0', '1'], ['0,1']]) {
      const io = capture();
      expect(await main(['import-model', 'nnunet', join(root, 'r'), '--folds', ...folds, '--out', join(root, 'out'), '--python', '/nonexistent/python'], io)).toBe(1);
      expect(io.err).toMatch(/folds 0, 1 with checkpoint_final\.pth/);
      expect(io.err).toMatch(/cannot run the Python interpreter '\/nonexistent\/python' \(ENOENT\); give one with --python/);
    }
    expect(readdirSync(root).sort()).toEqual(['r']);
  });

  it('rejects options of another import kind', async () => {
    const io = capture();
    expect(await main(['import-model', 'nnunet', root, '--out', join(root, 'o'), '--manifest', 'x.json'], io)).toBe(2);
    expect(io.err).toMatch(/--manifest does not apply to import-model nnunet/);
    const io2 = capture();
    expect(await main(['import-model', 'tflite', root, '--out', join(root, 'o')], io2)).toBe(2);
    expect(io2.err).toMatch(/unknown import kind 'tflite'/);
  });
});

describe('import-model monai-bundle: folder checks', () => {
  it('names what a MONAI bundle lacks', () => {
    touch('b', 'configs', 'metadata.json');
    const e = thrown(() => checkMonaiBundle(join(root, 'b')));
    expect(e.code).toBe('FORMAT');
    expect(e.message).toMatch(/is not a MONAI bundle .*missing configs\/inference\.json \(or \.yaml\), models\/model\.pt or models\/model\.ts/);
    touch('b', 'configs', 'inference.json');
    touch('b', 'models', 'model.ts');
    expect(() => checkMonaiBundle(join(root, 'b'))).not.toThrow();
  });
});

describe.skipIf(!hasPython3)('Python package probe', () => {
  it('names the missing package and the pip command', async () => {
    const err = await checkPythonModules('python3', ['json', 'delineate_no_such_module_xyz']).then(
      () => undefined,
      (e: unknown) => e as DelineateError,
    );
    expect(err?.code).toBe('UNSUPPORTED');
    expect(err?.message).toMatch(/lacks delineate_no_such_module_xyz, needed by the model bridge/);
    expect(err?.message).toMatch(/-m pip install -r .*native-models\/bridge\/requirements\.txt/);
    await expect(checkPythonModules('python3', ['json'])).resolves.toBeUndefined();
  });
});
