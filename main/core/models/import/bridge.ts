/**
 * `import-model nnunet` and `import-model monai-bundle`: check the source folder's layout (no Python needed for
 * that), check the Python has the bridge's packages, run the bridge (native-models/bridge/export_nnunet.py or
 * export_monai.py) into a temporary sibling of the output folder, then validate what it produced with the
 * TypeScript manifest validator, check every fold file's SHA-256 and load each ONNX once against the manifest,
 * and only then rename the folder into place.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DelineateError, throwIfCancelled } from '../../../common/errors';
import type { JobOptions } from '../../../common/progress';
import { checkOnnxOrThrow, inspectOnnx, type OnnxInfo, sha256File, validateOrThrow, writeModelFolder } from './common';
import type { ImportResult } from './onnx';
import { bridgeDir, checkPythonModules, pythonCommand, runPython } from './python';

export interface BridgeImportOptions extends JobOptions {
  outDir: string;
  force?: boolean;
  /** Python interpreter (else $DELINEATE_PYTHON, else python3). */
  python?: string;
  /** Each line the bridge prints, and our own notes. */
  log?: (line: string) => void;
}

export interface NnunetImportOptions extends BridgeImportOptions {
  /** nnU-Net v2 results folder of one trainer/plans/configuration (plans.json, dataset.json, fold_N/). */
  folder: string;
  /** Folds to export (default: every fold_N that has the checkpoint). */
  folds?: number[];
  /** Checkpoint file name in each fold folder (default checkpoint_final.pth). */
  checkpoint?: string;
}

export interface MonaiImportOptions extends BridgeImportOptions {
  /** MONAI bundle folder (configs/metadata.json, configs/inference.json|yaml, models/model.pt|model.ts). */
  bundle: string;
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

/**
 * Check that `folder` is an nnU-Net v2 results folder with the requested folds; returns the folds found. Throws
 * NOT_FOUND / FORMAT naming everything that is missing. Needs no Python.
 */
export function checkNnunetFolder(folder: string, folds: number[] | undefined, checkpoint: string): number[] {
  const dir = resolve(folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DelineateError('NOT_FOUND', `${dir}: no such folder`, { subject: dir });
  const missing: string[] = [];
  for (const f of ['plans.json', 'dataset.json']) if (!isFile(join(dir, f))) missing.push(f);
  const present = readdirSync(dir)
    .filter((d) => /^fold_\d+$/.test(d) && statSync(join(dir, d)).isDirectory())
    .map((d) => Number(d.slice(5)))
    .sort((a, b) => a - b);
  let wanted: number[];
  if (folds && folds.length) {
    wanted = folds;
    for (const f of folds) {
      if (!present.includes(f)) missing.push(`fold_${f}/`);
      else if (!isFile(join(dir, `fold_${f}`, checkpoint))) missing.push(`fold_${f}/${checkpoint}`);
    }
  } else {
    wanted = present.filter((f) => isFile(join(dir, `fold_${f}`, checkpoint)));
    if (wanted.length === 0)
      missing.push(present.length ? `${checkpoint} in any of ${present.map((f) => `fold_${f}/`).join(', ')}` : `fold_<N>/${checkpoint} (no fold_<N> folders)`);
  }
  if (missing.length)
    throw new DelineateError(
      'FORMAT',
      `${dir} is not an nnU-Net v2 trained model folder (expected plans.json, dataset.json and fold_<N>/${checkpoint}, e.g. $nnUNet_results/DatasetXXX_Name/nnUNetTrainer__nnUNetPlans__3d_fullres): missing ${missing.join(', ')}`,
      { subject: dir },
    );
  return wanted;
}

/**
 * Check that `bundle` looks like a MONAI bundle: configs/metadata.json, configs/inference.json (or .yaml) and
 * models/model.pt or models/model.ts. Throws FORMAT naming what is missing. Needs no Python.
 */
export function checkMonaiBundle(bundle: string): void {
  const dir = resolve(bundle);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DelineateError('NOT_FOUND', `${dir}: no such folder`, { subject: dir });
  const missing: string[] = [];
  if (!isFile(join(dir, 'configs', 'metadata.json'))) missing.push('configs/metadata.json');
  if (!['inference.json', 'inference.yaml', 'inference.yml'].some((f) => isFile(join(dir, 'configs', f)))) missing.push('configs/inference.json (or .yaml)');
  if (!isFile(join(dir, 'models', 'model.pt')) && !isFile(join(dir, 'models', 'model.ts'))) missing.push('models/model.pt or models/model.ts');
  if (missing.length)
    throw new DelineateError('FORMAT', `${dir} is not a MONAI bundle (expected configs/metadata.json, configs/inference.json and models/model.pt|model.ts): missing ${missing.join(', ')}`, { subject: dir });
}

/** Validate the folder a bridge wrote: manifest, each fold's hash, each ONNX against the manifest. */
async function verifyBridgeOutput(tmp: string, signal?: AbortSignal, log?: (l: string) => void): Promise<{ id: string; folds: ImportResult['folds']; onnx: OnnxInfo[] }> {
  const mPath = join(tmp, 'manifest.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(mPath, 'utf8'));
  } catch (e) {
    throw new DelineateError('MANIFEST', `the bridge wrote no readable manifest.json: ${(e as Error).message}`, { subject: 'manifest.json', cause: e });
  }
  const m = validateOrThrow(json, 'manifest.json written by the bridge');
  if (!isFile(join(tmp, 'MODEL_CARD.md'))) throw new DelineateError('MODEL', 'the bridge wrote no MODEL_CARD.md', { subject: 'MODEL_CARD.md' });
  const infos: OnnxInfo[] = [];
  for (const f of m.folds) {
    throwIfCancelled(signal);
    const p = join(tmp, f.file);
    if (!isFile(p)) throw new DelineateError('MODEL', `manifest.json names ${f.file} for fold ${f.fold}, but the bridge did not write it`, { subject: f.file });
    const sha = await sha256File(p);
    if (sha !== f.sha256) throw new DelineateError('MODEL', `${f.file}: SHA-256 ${sha} differs from manifest.json's ${f.sha256}`, { subject: f.file });
    const info = await inspectOnnx(p);
    checkOnnxOrThrow(info, m, `manifest.json vs ${f.file}`);
    log?.(`checked ${f.file}: loads in onnxruntime-node, input ${info.inputs[0]?.name} [${info.inputs[0]?.shape.join(', ')}], output ${info.outputs.map((o) => `${o.name} [${o.shape.join(', ')}]`).join(', ')}`);
    infos.push(info);
  }
  return { id: m.id, folds: m.folds, onnx: infos };
}

async function runBridge(script: string, args: string[], modules: string[], o: BridgeImportOptions, extraPip?: string): Promise<ImportResult> {
  const python = pythonCommand(o.python);
  const log = o.log ?? (() => {});
  const scriptPath = join(bridgeDir(), script);
  if (!isFile(scriptPath)) throw new DelineateError('NOT_FOUND', `${scriptPath}: the model bridge is missing from this installation`, { subject: scriptPath });
  await checkPythonModules(python, modules, { signal: o.signal, ...(extraPip ? { extraPip } : {}) });
  let result: Awaited<ReturnType<typeof verifyBridgeOutput>> | undefined;
  const dir = await writeModelFolder(
    o.outDir,
    o.force ?? false,
    async (tmp) => {
      log(`running ${python} ${basename(scriptPath)} …`);
      o.onProgress?.({ stage: 'export', done: 0, total: 2 });
      const r = await runPython(python, [scriptPath, ...args, '--out', tmp], { log, signal: o.signal });
      if (r.code !== 0)
        throw new DelineateError('MODEL', `${basename(scriptPath)} failed (exit ${r.code}): ${r.tail.filter(Boolean).slice(-3).join(' | ')}`, { subject: args[0] });
      o.onProgress?.({ stage: 'export', done: 1, total: 2 });
      result = await verifyBridgeOutput(tmp, o.signal, log);
      o.onProgress?.({ stage: 'export', done: 2, total: 2 });
    },
    o.signal,
  );
  return { dir, ...result! };
}

/** Export an nnU-Net v2 results folder with native-models/bridge/export_nnunet.py and install it as a model folder. */
export async function importNnunet(o: NnunetImportOptions): Promise<ImportResult> {
  const checkpoint = o.checkpoint ?? 'checkpoint_final.pth';
  if (!/^[^\\/]+$/.test(checkpoint)) throw new DelineateError('USAGE', `--checkpoint must be a file name inside fold_N/, got '${checkpoint}'`, { subject: '--checkpoint' });
  const folds = checkNnunetFolder(o.folder, o.folds, checkpoint);
  o.log?.(`nnU-Net folder ${resolve(o.folder)}: folds ${folds.join(', ')} with ${checkpoint}`);
  return runBridge('export_nnunet.py', [resolve(o.folder), '--folds', ...folds.map(String), '--checkpoint', checkpoint], ['torch', 'nnunetv2', 'onnx', 'onnxruntime'], o);
}

/** Export a MONAI bundle with native-models/bridge/export_monai.py and install it as a model folder. */
export async function importMonaiBundle(o: MonaiImportOptions): Promise<ImportResult> {
  checkMonaiBundle(o.bundle);
  return runBridge('export_monai.py', [resolve(o.bundle)], ['torch', 'monai', 'onnx', 'onnxruntime'], o, 'monai==1.6.1');
}
