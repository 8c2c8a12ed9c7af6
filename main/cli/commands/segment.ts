/**
 * `delineate segment <input> [<more channels>...] --model <id|dir> --output <labels.nii.gz> [...]` — run a
 * segmentation model on co-registered input volumes and write the label map (atomically; no file on failure or
 * cancel). Progress goes to stderr (a bar with ETA on a terminal, plain lines otherwise), a JSON summary to stdout.
 */
import { DelineateError } from '../../common/errors';
import { estimateEtaMs, type Progress } from '../../common/progress';
import type { Volume } from '../../common/volume';
import { segment } from '../../core/inference/engine';
import { DEVICE_NAMES, type DeviceName } from '../../core/inference/session';
import { readSingleVolume, writeVolume, WRITABLE_IMAGE_EXTENSIONS } from '../../core/io/index';
import { loadModel } from '../../core/models/registry';
import { parseArgs } from '../args';
import type { CliIo } from '../io';

export const usage = `Usage: delineate segment <input> [<more channels>...] --model <id|dir> --output <labels.nii.gz> [options]

Segment one case. Give one input per model channel, in the model's channel order (see \`delineate models\`),
all on one voxel grid (co-registered). Inputs are files (NIfTI/NRRD/MHA) or DICOM series folders.

Options:
  --model <id|dir>        model id from \`delineate models\` or a model folder
  --output <file>         label map to write (.nii.gz, .nii, .nrrd, .mha), on the grid of the first input
  --device <name>         auto|cpu|cuda|webgpu|dml|coreml (default auto: the best provider present, else CPU)
  --no-tta                no mirroring test-time augmentation (≈2^d times faster, slightly less accurate)
  --folds <list>          folds to average, e.g. 0,1 (default: all)
  --step <s>              tile step as a fraction of the patch, 0 < s ≤ 1 (default: the model's, nnU-Net 0.5)
  --accumulation <type>   float16 (nnU-Net's own, default for nnU-Net models) or float32
  --threads <n>           CPU threads in all (default: all cores; the network runs in up to 4 worker threads)
  --probabilities <file>  also write per-class probabilities (float32, one volume per class:
                          <file> with the class index before the extension, e.g. probs_1.nii.gz)
  --previous <labels>     label map of the previous cascade stage (cascade models only)

Prints {"output", "model", "device", "labels": [{value, name, voxels, volumeMl}], "tiles", "networkRuns",
"networkShape", "seconds"} to stdout.`;

function progressBar(io: CliIo): { onProgress: (p: Progress) => void; done: () => void } {
  const started = new Map<string, number>();
  let lastDraw = 0;
  let lastLinePct = -1;
  let drawn = false;
  return {
    onProgress: (p) => {
      const now = Date.now();
      if (!started.has(p.stage)) started.set(p.stage, now);
      const eta = estimateEtaMs(started.get(p.stage)!, now, p);
      const etaText = eta !== undefined ? ` ETA ${Math.ceil(eta / 1000)} s` : '';
      const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
      if (io.isTTY) {
        if (now - lastDraw < 100 && p.done !== p.total) return;
        lastDraw = now;
        const width = 30;
        const fill = Math.round((width * pct) / 100);
        io.stderr(`\r${p.stage.padEnd(10)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${p.done}/${p.total} ${pct}%${etaText}\x1b[K`);
        drawn = true;
      } else if (p.stage === 'inference' && (pct >= lastLinePct + 10 || p.done === p.total)) {
        lastLinePct = pct;
        io.stderr(`${p.stage} ${p.done}/${p.total} tiles (${pct}%)${etaText}\n`);
      }
    },
    done: () => {
      if (drawn) io.stderr('\r\x1b[K');
    },
  };
}

function withSuffix(path: string, suffix: string): string {
  const ext = WRITABLE_IMAGE_EXTENSIONS.find((e) => path.toLowerCase().endsWith(e)) ?? '';
  return path.slice(0, path.length - ext.length) + suffix + ext;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    model: { type: 'string', alias: 'm' },
    output: { type: 'string', alias: 'o' },
    device: { type: 'string' },
    'no-tta': { type: 'boolean' },
    folds: { type: 'string' },
    step: { type: 'number' },
    accumulation: { type: 'string' },
    threads: { type: 'number' },
    probabilities: { type: 'string' },
    previous: { type: 'string' },
  });
  if (positionals.length === 0) throw new DelineateError('USAGE', 'expected at least one input volume');
  if (!flags.model) throw new DelineateError('USAGE', '--model is required', { subject: '--model' });
  const output = flags.output as string | undefined;
  if (!output) throw new DelineateError('USAGE', '--output is required', { subject: '--output' });
  if (!WRITABLE_IMAGE_EXTENSIONS.some((e) => output.toLowerCase().endsWith(e)))
    throw new DelineateError('USAGE', `${output}: output must end in ${WRITABLE_IMAGE_EXTENSIONS.join(', ')}`, { subject: '--output' });
  const device = (flags.device as string | undefined) ?? 'auto';
  if (!DEVICE_NAMES.includes(device as DeviceName))
    throw new DelineateError('USAGE', `--device must be one of ${DEVICE_NAMES.join(', ')}, got '${device}'`, { subject: '--device' });
  let folds: number[] | undefined;
  if (flags.folds !== undefined) {
    folds = String(flags.folds).split(',').map((s) => Number(s.trim()));
    if (folds.some((f) => !Number.isInteger(f) || f < 0)) throw new DelineateError('USAGE', `--folds must be a comma-separated list of fold numbers, got '${flags.folds}'`, { subject: '--folds' });
  }
  const acc = flags.accumulation as string | undefined;
  if (acc !== undefined && acc !== 'float16' && acc !== 'float32') throw new DelineateError('USAGE', `--accumulation must be float16 or float32, got '${acc}'`, { subject: '--accumulation' });
  const threads = flags.threads as number | undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new DelineateError('USAGE', '--threads must be a positive integer', { subject: '--threads' });

  const model = await loadModel(flags.model as string);
  const m = model.manifest;
  if (positionals.length !== m.channels.length)
    throw new DelineateError('USAGE', `model ${m.id} takes ${m.channels.length} input(s) (${m.channels.map((c) => c.name).join(', ')}), got ${positionals.length}`, { subject: '--model' });
  const bar = progressBar(io);
  try {
    const inputs: Volume[] = [];
    for (const p of positionals) inputs.push((await readSingleVolume(p, undefined, { signal: io.signal })).volume);
    const previous = flags.previous ? (await readSingleVolume(flags.previous as string, undefined, { signal: io.signal })).volume : undefined;
    const res = await segment(model, inputs, {
      device: device as DeviceName,
      tta: !flags['no-tta'],
      ...(folds ? { folds } : {}),
      ...(flags.step !== undefined ? { tileStepSize: flags.step as number } : {}),
      ...(acc ? { accumulation: acc } : {}),
      ...(threads ? { threads } : {}),
      ...(flags.probabilities ? { probabilities: true } : {}),
      ...(previous ? { previousStage: { ...previous, dataType: 'uint16', data: Uint16Array.from(previous.data), segments: [] } } : {}),
      inputNames: positionals,
      signal: io.signal,
      onProgress: bar.onProgress,
      log: (line) => {
        bar.done();
        io.stderr(`${line}\n`);
      },
    });
    bar.done();
    await writeVolume(res.labels, output);
    if (res.probabilities) {
      for (let c = 0; c < res.probabilities.length; c++)
        await writeVolume({ ...res.labels, dataType: 'float32', data: res.probabilities[c]! }, withSuffix(flags.probabilities as string, `_${c}`));
    }
    const voxelMl = (res.labels.spacingMm[0] * res.labels.spacingMm[1] * res.labels.spacingMm[2]) / 1000;
    const counts = new Map<number, number>();
    for (const v of res.labels.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    io.stdout(
      JSON.stringify({
        output,
        model: m.id,
        device: res.stats.device,
        accumulation: res.stats.accumulation,
        labels: m.output.labels.map((l) => ({ value: l.value, name: l.name, voxels: counts.get(l.value) ?? 0, volumeMl: (counts.get(l.value) ?? 0) * voxelMl })),
        tiles: res.stats.tiles,
        networkRuns: res.stats.networkRuns,
        networkShape: res.stats.networkShape,
        seconds: res.stats.seconds,
      }) + '\n',
    );
    return 0;
  } finally {
    bar.done();
  }
}
