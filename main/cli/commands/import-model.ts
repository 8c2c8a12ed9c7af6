/**
 * `delineate import-model onnx|nnunet|monai-bundle …` — turn a plain ONNX (with a hand-written manifest), an
 * nnU-Net v2 results folder or a MONAI bundle into a Delineate model folder (manifest.json + ONNX + MODEL_CARD.md),
 * written atomically. The nnU-Net and MONAI imports run a Python bridge (native-models/bridge/); the ONNX import
 * needs no Python. Logs go to stderr, a JSON summary to stdout.
 */
import { DelineateError } from '../../common/errors';
import { importMonaiBundle, importNnunet } from '../../core/models/import/bridge';
import { importOnnx, type ImportResult } from '../../core/models/import/onnx';
import { parseArgs } from '../args';
import type { CliIo } from '../io';

export const usage = `Usage:
  delineate import-model onnx <model.onnx> [<fold2.onnx>...] --manifest <json> --out <model_dir> [--card <md>] [--force]
  delineate import-model nnunet <trained_model_folder> --out <model_dir> [--folds 0 1 2 3 4]
                                [--checkpoint checkpoint_final.pth] [--python <path>] [--force]
  delineate import-model monai-bundle <bundle_dir> --out <model_dir> [--python <path>] [--force]

Make a Delineate model folder (manifest.json, the ONNX file(s), MODEL_CARD.md) from:
  onnx          a plain ONNX network and a hand-written manifest (main/common/manifest.ts; "folds" may be omitted:
                the file names and SHA-256 are filled in; a sha256 already given must match). The ONNX inputs and
                outputs are checked against the manifest (names, rank, channel counts, static sizes, opset).
  nnunet        an nnU-Net v2 results folder (plans.json, dataset.json, fold_N/<checkpoint>), exported with
                native-models/bridge/export_nnunet.py (needs Python with torch + nnunetv2 + onnx + onnxruntime)
  monai-bundle  a MONAI bundle (configs/metadata.json, configs/inference.json, models/model.pt|model.ts), exported
                with native-models/bridge/export_monai.py (needs Python with torch + monai + onnx + onnxruntime)

Options:
  --out <dir>          model folder to create (refused if it exists, unless --force); put it in the models folder
                       ($DELINEATE_MODELS_DIR, default ~/.delineate/models) to make it appear in \`delineate models\`
  --manifest <json>    (onnx) the manifest
  --card <md>          (onnx) MODEL_CARD.md to copy in (default: generated from the manifest)
  --folds <k...>       (nnunet) folds to export (default: every fold_N with the checkpoint); "0 1 2" or "0,1,2"
  --checkpoint <name>  (nnunet) checkpoint file in each fold folder (default checkpoint_final.pth)
  --python <path>      (nnunet, monai-bundle) Python interpreter (default $DELINEATE_PYTHON, else python3)
  --force              replace an existing output folder

Nothing is written unless every check passes. Prints {"kind", "dir", "id", "folds": [{fold, file, sha256}],
"onnx": [{file, inputs, outputs, opset}]} to stdout.`;

/** `--folds 0 1 2` (several values after one flag) → `--folds 0,1,2` for the strict parser. */
function joinFoldValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a !== '--folds') {
      out.push(a);
      continue;
    }
    const vals: string[] = [];
    while (i + 1 < argv.length && /^\d+(,\d+)*$/.test(argv[i + 1]!)) vals.push(argv[++i]!);
    out.push('--folds');
    if (vals.length) out.push(vals.join(','));
  }
  return out;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind !== 'onnx' && kind !== 'nnunet' && kind !== 'monai-bundle')
    throw new DelineateError('USAGE', kind ? `unknown import kind '${kind}' (expected onnx, nnunet or monai-bundle)` : 'expected onnx, nnunet or monai-bundle', { subject: kind ?? '' });
  const { positionals, flags } = parseArgs(joinFoldValues(rest), {
    out: { type: 'string', alias: 'o' },
    force: { type: 'boolean' },
    manifest: { type: 'string' },
    card: { type: 'string' },
    folds: { type: 'string' },
    checkpoint: { type: 'string' },
    python: { type: 'string' },
  });
  const out = flags.out as string | undefined;
  if (!out) throw new DelineateError('USAGE', '--out is required', { subject: '--out' });
  const only = (names: string[]): void => {
    for (const n of ['manifest', 'card', 'folds', 'checkpoint', 'python'])
      if (flags[n] !== undefined && !names.includes(n)) throw new DelineateError('USAGE', `--${n} does not apply to import-model ${kind}`, { subject: `--${n}` });
  };
  const log = (line: string): void => io.stderr(`${line}\n`);
  const common = { outDir: out, force: Boolean(flags.force), signal: io.signal, log };
  let res: ImportResult;
  if (kind === 'onnx') {
    only(['manifest', 'card']);
    if (positionals.length === 0) throw new DelineateError('USAGE', 'expected the ONNX file(s)');
    if (!flags.manifest) throw new DelineateError('USAGE', '--manifest is required for import-model onnx', { subject: '--manifest' });
    res = await importOnnx({ ...common, onnxPaths: positionals, manifestPath: flags.manifest as string, ...(flags.card ? { cardPath: flags.card as string } : {}) });
  } else {
    if (positionals.length !== 1) throw new DelineateError('USAGE', `expected one ${kind === 'nnunet' ? 'nnU-Net results folder' : 'MONAI bundle folder'}, got ${positionals.length} arguments`);
    const python = flags.python as string | undefined;
    if (kind === 'nnunet') {
      only(['folds', 'checkpoint', 'python']);
      let folds: number[] | undefined;
      if (flags.folds !== undefined) {
        folds = String(flags.folds).split(',').map(Number);
        if (folds.some((f) => !Number.isInteger(f) || f < 0)) throw new DelineateError('USAGE', `--folds must list fold numbers, got '${flags.folds}'`, { subject: '--folds' });
      }
      res = await importNnunet({ ...common, folder: positionals[0]!, ...(folds ? { folds } : {}), ...(flags.checkpoint ? { checkpoint: flags.checkpoint as string } : {}), ...(python ? { python } : {}) });
    } else {
      only(['python']);
      res = await importMonaiBundle({ ...common, bundle: positionals[0]!, ...(python ? { python } : {}) });
    }
  }
  io.stdout(
    JSON.stringify({
      kind,
      dir: res.dir,
      id: res.id,
      folds: res.folds.map((f) => ({ fold: f.fold, file: f.file, sha256: f.sha256 })),
      onnx: res.onnx.map((o) => ({ file: o.path.split(/[\\/]/).pop(), inputs: o.inputs, outputs: o.outputs, opset: o.opset ?? null })),
    }) + '\n',
  );
  return 0;
}
