/**
 * Worker-thread entry of one API job: load the model, read the uploaded volume(s), segment, write
 * `labels.nii.gz`, `stats.json` and — for a DICOM series input — `seg.dcm` (DICOM SEG, main/core/seg) atomically
 * into the job folder. Runs off the server's event loop because
 * ONNX Runtime's `run()` and itk-wasm block their thread.
 *
 * Protocol (parentPort, see ./protocol.ts): the worker posts `{type: 'ready'}` once loaded; in — `{type: 'run', job}`
 * and `{type: 'cancel', jobId}`; out — per job, {@link WorkerMessage}s tagged with the job id: progress, then
 * exactly one of done / failed / cancelled. The worker is reused for the next job.
 */
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { DelineateError, isCancelled, toDelineateError } from '../../common/errors';
import { segmentationFromLabelmap } from '../../common/segmentation';
import type { Volume, VolumeInfo } from '../../common/volume';
import { segment } from '../inference/engine';
import { readImageFile, readVolume, scanPath, writeVolume } from '../io/index';
import { writeTextAtomic } from '../metrics/index';
import { loadModel } from '../models/registry';
import { readSourceSeries, writeDicomSeg } from '../seg/index';
import { segmentStatistics } from '../stats/index';
import type { JobWorkerData, Tagged, ToWorker, WorkerMessage } from './protocol';

async function readInput(input: JobWorkerData['inputs'][number], signal: AbortSignal): Promise<{ volume: Volume; dicom?: VolumeInfo }> {
  if (input.kind === 'image') return { volume: await readImageFile(input.path, { signal }) };
  const scan = await scanPath(input.path, { signal });
  const vols = scan.volumes;
  if (vols.length !== 1)
    throw new DelineateError('INPUT', `${input.name}: expected one DICOM series in the zip, found ${vols.length}${vols.length ? ` (${vols.map((v) => `${v.description || v.id}`).join(', ')})` : ''}`, {
      subject: input.name,
    });
  return { volume: await readVolume(vols[0]!, { signal }), dicom: vols[0]! };
}

/** Run one job; every message it posts carries the job id. Never throws. */
async function runJob(data: JobWorkerData, signal: AbortSignal, send: (m: WorkerMessage) => void): Promise<void> {
  const post = send;
  try {
    const model = await loadModel(data.modelDir);
    const volumes: Volume[] = [];
    let dicomSource: VolumeInfo | undefined;
    for (const [k, input] of data.inputs.entries()) {
      const r = await readInput(input, signal);
      volumes.push(r.volume);
      if (k === 0) dicomSource = r.dicom;
    }
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
    // A DICOM SEG referencing the source series, when the (first) input was a DICOM series. Its failure does not
    // fail the job: the labels and statistics stand, and the SEG route reports why there is none.
    let dicomSeg: { written: true } | { written: false; reason: string };
    if (!dicomSource) dicomSeg = { written: false, reason: 'the input was not a DICOM series' };
    else
      try {
        const seg = segmentationFromLabelmap(result.labels);
        seg.segments = seg.segments.map((x) => ({ ...x, algorithmType: 'AUTOMATIC', algorithmName: `Delineate ${m.id} ${m.version}`.slice(0, 64) }));
        await writeDicomSeg(seg, await readSourceSeries(dicomSource), join(data.outDir, 'seg.dcm'), {
          seriesDescription: `Delineate ${m.name}`.slice(0, 64),
          contentLabel: 'DELINEATE',
          contentDescription: `${m.id} ${m.version}`.slice(0, 64),
        });
        dicomSeg = { written: true };
      } catch (e) {
        dicomSeg = { written: false, reason: toDelineateError(e).message };
      }
    post({
      type: 'done',
      summary: { device: result.stats.device, tiles: result.stats.tiles, networkRuns: result.stats.networkRuns, seconds: result.stats.seconds, dicomSeg },
    });
  } catch (e) {
    if (isCancelled(e)) post({ type: 'cancelled' });
    else post({ type: 'failed', error: toDelineateError(e).toJSON() });
  }
}

/**
 * The worker stays up between jobs (no module loading or wasm start-up per job) and runs one job at a time:
 * `{type: 'run', job}` starts one, `{type: 'cancel', jobId}` aborts it between tiles.
 */
function main(): void {
  const port = parentPort!;
  let current: { jobId: string; controller: AbortController } | undefined;
  port.on('message', (m: ToWorker) => {
    if (m?.type === 'cancel') {
      if (current && current.jobId === m.jobId) current.controller.abort();
    } else if (m?.type === 'run') {
      if (current) {
        port.postMessage({ jobId: m.job.jobId, type: 'failed', error: { name: 'DelineateError', code: 'INTERNAL', message: 'job worker is busy' } } satisfies Tagged);
        return;
      }
      const job = m.job;
      current = { jobId: job.jobId, controller: new AbortController() };
      void runJob(job, current.controller.signal, (msg) => port.postMessage({ jobId: job.jobId, ...msg } satisfies Tagged)).finally(() => {
        current = undefined;
      });
    }
  });
  port.postMessage({ type: 'ready' });
}

main();
