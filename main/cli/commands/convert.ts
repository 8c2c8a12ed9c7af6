/**
 * `delineate convert <file-or-folder> <out.nii.gz|.nii|.nrrd|.mha> [--series <id>]` — write one volume (a DICOM
 * series, or a NIfTI/NRRD/MetaImage file) with its geometry. The output is written atomically; inputs are never
 * modified.
 */
import { resolve } from 'node:path';
import { DelineateError } from '../../common/errors';
import { readSingleVolume, writeVolume, WRITABLE_IMAGE_EXTENSIONS } from '../../core/io/index';
import { parseArgs } from '../args';
import type { CliIo } from '../io';
import { progressPrinter } from './info';

export const usage = `Usage: delineate convert <file-or-folder> <out.nii.gz|out.nii|out.nrrd|out.mha> [--series <id>]

Write one volume with its geometry (LPS origin, spacing and direction preserved; DICOM voxels in modality units,
e.g. CT in HU). When the input holds several volumes, choose one with --series (ids from \`delineate info\`).

Options:
  --series <id>   the volume to convert

Prints {"output", "id", "size", "spacingMm", "originMm", "direction", "dataType", "warnings"} to stdout.`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { series: { type: 'string' } });
  if (positionals.length !== 2)
    throw new DelineateError('USAGE', positionals.length < 2 ? 'expected <file-or-folder> and <output file>' : `expected two paths, got ${positionals.length}`);
  const [input, output] = positionals as [string, string];
  const lower = output.toLowerCase();
  if (!WRITABLE_IMAGE_EXTENSIONS.some((e) => lower.endsWith(e)))
    throw new DelineateError('USAGE', `${output}: output must end in ${WRITABLE_IMAGE_EXTENSIONS.join(', ')}`, { subject: output });
  const progress = progressPrinter(io);
  let result;
  try {
    result = await readSingleVolume(input, flags.series as string | undefined, { signal: io.signal, onProgress: progress.onProgress });
  } finally {
    progress.done();
  }
  const { info, volume } = result;
  if (info.files.some((f) => resolve(f) === resolve(output)))
    throw new DelineateError('USAGE', `${output}: is one of the input files; choose another output path`, { subject: output });
  await writeVolume(volume, output);
  for (const w of info.warnings) io.stderr(`warning: ${w}\n`);
  io.stdout(
    JSON.stringify({
      output,
      id: info.id,
      size: volume.size,
      spacingMm: volume.spacingMm,
      originMm: volume.originMm,
      direction: volume.direction,
      dataType: volume.dataType,
      warnings: info.warnings,
    }) + '\n',
  );
  return 0;
}
