/**
 * Worker-thread entry of one API job: load the model, read the uploaded volume(s), segment, write
 * `labels.nii.gz` and `stats.json` atomically into the job folder. Runs off the server's event loop because
 * ONNX Runtime's `run()` and itk-wasm block their thread.
 *
 * Protocol (parentPort): in — {@link JobWorkerData} as workerData, then `{type: 'cancel'}`; out —
 * {@link WorkerMessage}s: progress, then exactly one of done / failed / cancelled.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { DelineateError, isCancelled, toDelineateError } from '../../common/errors';
import type { Volume } from '../../common/volume';
import { segment } from '../inference/engine';
import { readImageFile, readVolume, scanPath, writeVolume } from '../io/index';
import { writeTextAtomic } from '../metrics/index';
import { loadModel } from '../models/registry';
import { segmentStatistics } from '../stats/index';
import type { JobWorkerData, WorkerMessage } from './protocol';

async function readInput(input: JobWorkerData['inputs'][number], signal: AbortSignal): Promise<Volume> {
  if (input.kind === 'image') return readImageFile(input.path, { signal });
  const scan = await scanPath(input.path, { signal });
  const vols = scan.volumes;
  if (vols.length !== 1)
    throw new DelineateError('INPUT', `${input.name}: expected one DICOM series in the zip, found ${vols.length}${vols.length ? ` (${vols.map((v) => `${v.description || v.id}`).join(', ')})` : ''}`, {
      subject: input.name,
    });
  return readVolume(vols[0]!, { signal });
}

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as JobWorkerData;
  const post = (m: WorkerMessage): void => port.postMessage(m);
  const controller = new AbortController();
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'cancel') controller.abort();
  });
  const signal = controller.signal;
  try {
    const model = await loadModel(data.modelDir);
    const volumes: Volume[] = [];
    for (const input of data.inputs) volumes.push(await readInput(input, signal));
    const m = model.manifest;
    if (volumes.length !== m.channels.length)
      throw new DelineateError('INPUT', `model ${m.id} needs ${m.channels.length} input volume(s) (${m.channels.map((c) => c.name).join(', ')}), the job has ${volumes.length}`, { subject: 'file' });
    const result = await segment(model, volumes, {
      ...data.options,
      inputNames: data.inputs.map((i) => i.name),
      signal,
      onProgress: (progress) => post({ type: 'progress', progress }),
    });
    post({ type: 'progress', progress: { stage: 'write', done: 0, total: 2 } });
    await writeVolume(result.labels, join(data.outDir, 'labels.nii.gz'));
    const stats = await segmentStatistics(result.labels, volumes[0], { segments: result.labels.segments, labelsName: 'labels.nii.gz', imageName: data.inputs[0]!.name, signal });
    const l = result.labels;
    const doc = {
      jobId: data.jobId,
      model: { id: m.id, version: m.version },
      grid: { size: l.size, spacingMm: l.spacingMm, originMm: l.originMm, direction: l.direction },
      voxelVolumeMl: (l.spacingMm[0] * l.spacingMm[1] * l.spacingMm[2]) / 1000,
      segments: stats,
    };
    await writeTextAtomic(join(data.outDir, 'stats.json'), JSON.stringify(doc) + '\n');
    post({ type: 'done', summary: { device: result.stats.device, tiles: result.stats.tiles, networkRuns: result.stats.networkRuns, seconds: result.stats.seconds } });
  } catch (e) {
    if (isCancelled(e)) post({ type: 'cancelled' });
    else post({ type: 'failed', error: toDelineateError(e).toJSON() });
  }
}

void main();
