/**
 * `delineate models [--json]` — list bundled models (native-models/) and user models ($DELINEATE_MODELS_DIR or
 * ~/.delineate/models), with whether each is usable.
 */
import { bundledModelsDir, listModels, userModelsDir } from '../../core/models/registry';
import { parseArgs } from '../args';
import type { CliIo } from '../io';

export const usage = `Usage: delineate models [--json]

List the models Delineate can run: bundled ones (${'native-models/'}) and the user's models folder
($DELINEATE_MODELS_DIR, default ~/.delineate/models). A model is a folder with manifest.json, its ONNX fold
files and MODEL_CARD.md.

Options:
  --json   print {"bundledDir", "userDir", "models": [{id, name, version, description, source, dir,
           dimensionality, channels, labels, folds, available, problems?}]} to stdout`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { json: { type: 'boolean' } });
  if (positionals.length) throw new Error(`unexpected argument '${positionals[0]}'`);
  const models = await listModels();
  if (flags.json) {
    io.stdout(JSON.stringify({ bundledDir: bundledModelsDir(), userDir: userModelsDir(), models }) + '\n');
    return 0;
  }
  if (models.length === 0) io.stdout(`No models found in ${bundledModelsDir()} or ${userModelsDir()}\n`);
  for (const m of models) {
    io.stdout(`${m.id}  ${m.available ? 'available' : 'UNAVAILABLE'}  (${m.source}) ${m.name} ${m.version}\n`);
    if (m.channels) io.stdout(`    channels: ${m.channels.join(', ')}; labels: ${(m.labels ?? []).map((l) => `${l.value}=${l.name}`).join(', ')}; folds: ${(m.folds ?? []).join(', ')}\n`);
    for (const p of m.problems ?? []) io.stdout(`    problem: ${p}\n`);
  }
  return 0;
}
