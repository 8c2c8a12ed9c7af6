/**
 * `delineate <command> …` — the public command-line interface (DESIGN.md, "The CLI is a public interface").
 * Machine-readable output goes to stdout as JSON only; progress and logs go to stderr.
 * Exit codes: 0 success, 1 failure (with a message), 2 usage error. Cancellation (Ctrl-C) exits 130.
 *
 * Each command lives in ./commands/<name>.ts and exports `run(argv: string[], io: CliIo): Promise<number>`
 * and `usage: string`.
 */
import { DelineateError, isCancelled, toDelineateError } from '../common/errors';
import { type CliIo, defaultIo } from './io';

export const COMMANDS = {
  info: 'List the volumes in a file or folder (geometry, modality, warnings)',
  convert: 'Write a volume (DICOM series, NIfTI, NRRD, MHA) to NIfTI/NRRD/MHA with its geometry',
  models: 'List bundled and user models',
  segment: 'Run a segmentation model on a volume',
  'import-model': 'Import an nnU-Net v2 results folder, a MONAI bundle or a plain ONNX as a Delineate model',
  stats: 'Per-segment volume and intensity statistics of a labelmap',
  mesh: 'Export segments of a labelmap as STL/OBJ/PLY surfaces',
  batch: 'Segment a cohort (resumable, shardable)',
  evaluate: 'Compare predictions with references (Dice, IoU, HD95, ASSD, NSD)',
  serve: 'Local HTTP inference API on 127.0.0.1',
} as const;
export type CommandName = keyof typeof COMMANDS;

interface CommandModule {
  run(argv: string[], io: CliIo): Promise<number>;
  usage: string;
}

function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'Usage: delineate <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(width)}  ${text}`),
    '',
    'Run `delineate <command> --help` for a command’s options.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(mainUsage() + '\n');
    return command ? 0 : 2;
  }
  if (command === '--version') {
    io.stdout('0.1.0\n');
    return 0;
  }
  if (!(command in COMMANDS)) {
    io.stderr(`delineate: unknown command '${command}'\n\n${mainUsage()}\n`);
    return 2;
  }
  let mod: CommandModule;
  try {
    mod = (await import(`./commands/${command}.ts`)) as CommandModule;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Failed to load url/.test(String(e))) {
      io.stderr(`delineate: command '${command}' is not available in this build yet\n`);
      return 1;
    }
    throw e;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(mod.usage + '\n');
    return 0;
  }
  try {
    return await mod.run(rest, io);
  } catch (e) {
    if (isCancelled(e)) {
      io.stderr('delineate: cancelled\n');
      return 130;
    }
    const err = toDelineateError(e);
    io.stderr(`delineate ${command}: ${err.message}\n`);
    if (err.code === 'USAGE') {
      io.stderr(`\n${mod.usage}\n`);
      return 2;
    }
    if (err.code === 'INTERNAL' && process.env.DELINEATE_DEBUG) io.stderr(String((e as Error).stack) + '\n');
    return 1;
  }
}

// Entry point when run directly (tsx main/cli/index.ts or the bundled bin).
const invokedDirectly = process.argv[1] && /cli[\\/]index\.(ts|js|mjs)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`delineate: ${e instanceof DelineateError ? e.message : String((e as Error)?.stack ?? e)}\n`);
      process.exitCode = 1;
    },
  );
}
