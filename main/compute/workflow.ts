/**
 * The segmentation workflow behind the compute service (issue 5): the model registry as the models panel sees it,
 * running a model on scanned volumes, opening and saving segmentations in the three formats onto/from the grid of
 * a scanned volume, per-segment statistics, and autosave/recovery of unsaved segmentations (./autosave). Thin over
 * main/core (inference, models, seg, stats); the service (./service) validates params and resolves volume ids
 * before calling here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EditDelta } from '../common/edit/delta';
import type { ModelInfo, SegmentationData, SegmentationEditOp, SegmentationFormatName, SegmentPreset, SegmentStatisticsRow } from '../common/api';
import { DelineateError } from '../common/errors';
import type { JobOptions } from '../common/progress';
import type { LayeredSegment, Segmentation } from '../common/segmentation';
import type { Grid, Volume, VolumeInfo } from '../common/volume';
import { segment } from '../core/inference/engine';
import { availableDevices, type DeviceName } from '../core/inference/session';
import { listModels, loadModel } from '../core/models/registry';
import { openSegmentation, readSourceSeries, referenceFromVolumeInfo, saveSegmentation, segmentationToLabelmap, sidecarPath } from '../core/seg/index';
import { segmentStatistics } from '../core/stats/index';
import { closing, fillBetweenSlices, medianSmooth } from '../core/edit/index';
import { networkOutputChannels } from '../common/manifest';
import { entropyMap, MAX_PROBABILITY_BYTES } from '../common/uncertainty';
import type { AutosaveStore } from './autosave';
import { gridOfInfo, modelInputInfos } from './model-inputs';

/** Largest MODEL_CARD.md text sent to the renderer, characters. */
export const MAX_CARD_CHARS = 64 * 1024;

/** How the workflow reaches the volumes the service knows (by id). */
export interface VolumeSource {
  /** The core's VolumeInfo of a scanned volume (NOT_FOUND error for an unknown id). */
  info(volumeId: string): VolumeInfo;
  /** Read its voxels. */
  read(info: VolumeInfo, options: JobOptions): Promise<Volume>;
}

function voxelCountOf(g: Grid): number {
  return g.size[0] * g.size[1] * g.size[2];
}

export class Workflow {
  /** The last volume read (the image a model or statistics ran on is usually asked for again). */
  private cached: { key: string; volume: Volume } | undefined;

  /** `autosave`: where unsaved segmentations go (absent: autosave methods fail, saves clear nothing). */
  constructor(
    private readonly volumes: VolumeSource,
    private readonly autosave?: () => AutosaveStore,
  ) {}

  private autosaveStore(): AutosaveStore {
    if (!this.autosave) throw new DelineateError('INTERNAL', 'This compute process has no user-data folder for autosaves');
    return this.autosave();
  }

  private async volume(volumeId: string, options: JobOptions): Promise<{ info: VolumeInfo; volume: Volume }> {
    const info = this.volumes.info(volumeId);
    const key = `${info.source}\0${info.id}\0${info.files.length}`;
    if (this.cached?.key === key) return { info, volume: this.cached.volume };
    const volume = await this.volumes.read(info, options);
    this.cached = { key, volume };
    return { info, volume };
  }

  async listModels(): Promise<{ models: ModelInfo[]; devices: string[] }> {
    const entries = await listModels();
    const models: ModelInfo[] = [];
    for (const e of entries) {
      const card = await readFile(join(e.dir, 'MODEL_CARD.md'), 'utf8').then(
        (t) => t.slice(0, MAX_CARD_CHARS),
        () => '',
      );
      const info: ModelInfo = {
        id: e.id,
        name: e.name,
        version: e.version,
        description: e.description,
        source: e.source,
        available: e.available,
        channels: (e.channels ?? []).map((name) => ({ name, modality: '' })),
        labels: (e.labels ?? []).filter((l) => l.value !== 0),
        folds: e.folds ?? [],
        mirrorAxes: 0,
        card,
      };
      if (e.problems) info.problems = e.problems;
      if (e.dimensionality) info.dimensionality = e.dimensionality;
      if (e.available) {
        try {
          const m = (await loadModel(e.dir, { verifyHashes: false })).manifest;
          info.channels = m.channels.map((c) => ({ name: c.name, modality: c.modality }));
          info.labels = m.output.labels.filter((l) => l.value !== 0).map((l) => ({ value: l.value, name: l.name, color: [...l.color] as [number, number, number] }));
          info.mirrorAxes = m.mirroringAxes.length;
          info.patchSize = [...m.patchSize];
          if (m.targetSpacingMm) info.targetSpacingMm = [...m.targetSpacingMm];
        } catch (err) {
          info.available = false;
          info.problems = [...(info.problems ?? []), (err as Error).message];
        }
      }
      models.push(info);
    }
    const devices = ['auto', 'cpu', ...availableDevices().filter((d) => d.present && d.name !== 'cpu').map((d) => d.name)];
    return { models, devices };
  }

  /** Run `modelId` on the scanned volumes (channel order). Labels are on the grid of the first volume. */
  /**
   * With `uncertainty`, also the model's normalised entropy per voxel (uint8, main/common/uncertainty.ts): the
   * engine's float32 probabilities (classes × voxels × 4 bytes) are held only while the map is made, and only when
   * they fit {@link MAX_PROBABILITY_BYTES}; otherwise `notes` says why there is no map.
   */
  async run(
    p: { modelId: string; volumeIds: string[]; device: string; preset: SegmentPreset; uncertainty?: boolean },
    options: JobOptions,
  ): Promise<SegmentationData & { device: string; tiles: number; networkRuns: number; seconds: number; uncertainty?: Uint8Array; notes?: string[] }> {
    const model = await loadModel(p.modelId);
    const m = model.manifest;
    const infos = modelInputInfos(m, p.volumeIds, (id) => this.volumes.info(id));
    const inputs: Volume[] = [];
    for (let i = 0; i < infos.length; i++) {
      options.onProgress?.({ stage: 'load', done: i, total: infos.length, detail: infos[i]!.source });
      inputs.push((await this.volume(p.volumeIds[i]!, options)).volume);
    }
    const fast = p.preset === 'fast';
    const notes: string[] = [];
    let probabilities = false;
    if (p.uncertainty) {
      const probBytes = networkOutputChannels(m) * voxelCountOf(gridOfInfo(infos[0]!)) * 4;
      if (probBytes <= MAX_PROBABILITY_BYTES) probabilities = true;
      else
        notes.push(
          `No uncertainty map: ${m.id}'s probabilities on this series would take ${(probBytes / 1024 ** 3).toFixed(1)} GiB (limit ${(MAX_PROBABILITY_BYTES / 1024 ** 3).toFixed(0)} GiB)`,
        );
    }
    const res = await segment(model, inputs, {
      probabilities,
      device: p.device as DeviceName,
      tta: !fast,
      ...(fast ? { folds: [m.folds[0]!.fold] } : {}),
      inputNames: infos.map((i) => i.source),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const segments: LayeredSegment[] = m.output.labels
      .filter((l) => l.value !== 0)
      .map((l) => ({
        value: l.value,
        name: l.name,
        color: [...l.color] as [number, number, number],
        layer: 0,
        algorithmType: 'AUTOMATIC',
        algorithmName: `${m.id} ${m.version}`,
      }));
    const uncertainty = res.probabilities ? entropyMap(res.probabilities, m.output.kind) : undefined;
    delete res.probabilities; // the float32 volumes go now; only the uint8 map is kept
    return {
      dataType: res.labels.dataType,
      labels: res.labels.data,
      segments,
      device: res.stats.device,
      tiles: res.stats.tiles,
      networkRuns: res.stats.networkRuns,
      seconds: res.stats.seconds.total,
      ...(uncertainty ? { uncertainty } : {}),
      ...(notes.length ? { notes } : {}),
    };
  }

  /** Open a segmentation file onto the grid of a scanned volume, as one layer. */
  async open(p: { volumeId: string; path: string }): Promise<SegmentationData & { format: SegmentationFormatName; warnings: string[] }> {
    const info = this.volumes.info(p.volumeId);
    const r = await openSegmentation(p.path, referenceFromVolumeInfo(info));
    const lm = segmentationToLabelmap(r.segmentation, p.path);
    const byValue = new Map(r.segmentation.segments.map((s) => [s.value, s]));
    // Keep the DICOM/Slicer metadata of each segment (codes, algorithm) where the value did not change.
    const segments: LayeredSegment[] = lm.segments.map((s) => {
      const orig = byValue.get(s.value);
      return orig && orig.name === s.name ? { ...orig, layer: 0 } : { ...s, layer: 0 };
    });
    return { format: r.format, dataType: lm.dataType, labels: lm.data, segments, warnings: r.warnings };
  }

  /** Save a segmentation of a scanned volume in `format` at `path`; the series' autosave is removed after it. */
  async save(p: SegmentationData & { volumeId: string; path: string; format: SegmentationFormatName }): Promise<{ paths: string[] }> {
    const info = this.volumes.info(p.volumeId);
    const grid = gridOfInfo(info);
    if (p.labels.length !== voxelCountOf(grid))
      throw new DelineateError('USAGE', `params.labels has ${p.labels.length} voxels but ${info.source} has ${voxelCountOf(grid)} (${grid.size.join('×')})`, { subject: 'params.labels' });
    const seg: Segmentation = { ...grid, dataType: p.dataType, layers: [p.labels], segments: p.segments.map((s) => ({ ...s, layer: 0 })) };
    if (p.format === 'dicom-seg') {
      if (info.files.length === 0 || !info.study?.seriesInstanceUid)
        throw new DelineateError('INPUT', `${info.source} is not a DICOM series: a DICOM SEG must reference one (save as labelmap or .seg.nrrd)`, { subject: 'params.format' });
      const source = await readSourceSeries(info);
      await saveSegmentation(seg, p.path, { format: 'dicom-seg', source });
      await this.autosave?.().discard(info);
      return { paths: [p.path] };
    }
    await saveSegmentation(seg, p.path, { format: p.format });
    await this.autosave?.().discard(info);
    return { paths: p.format === 'labelmap' ? [p.path, sidecarPath(p.path)] : [p.path] };
  }

  /** A compute-side edit (see 'segmentation.edit' in main/common/api.ts); returns the delta, labels untouched. */
  async edit(
    p: SegmentationData & { volumeId: string; op: SegmentationEditOp; value: number; axis?: 0 | 1 | 2; radiusMm?: number; locked: number[] },
    options: JobOptions,
  ): Promise<EditDelta> {
    const info = this.volumes.info(p.volumeId);
    const grid = gridOfInfo(info);
    if (p.labels.length !== voxelCountOf(grid))
      throw new DelineateError('USAGE', `params.labels has ${p.labels.length} voxels but ${info.source} has ${voxelCountOf(grid)}`, { subject: 'params.labels' });
    const locked = new Set(p.locked);
    if (p.op === 'fill-between-slices') return fillBetweenSlices(p.labels, grid, { value: p.value, axis: p.axis ?? 2, locked, ...options });
    if (p.op === 'median') return medianSmooth(p.labels, grid, p.value, { locked });
    return closing(p.labels, grid, p.value, p.radiusMm ?? 2, { locked });
  }

  /** Autosave the unsaved segmentation of a scanned volume (see 'autosave.write' in main/common/api.ts). */
  async autosaveWrite(p: SegmentationData & { volumeId: string; origin: string }): Promise<{ savedAtMs: number }> {
    const info = this.volumes.info(p.volumeId);
    const { savedAtMs } = await this.autosaveStore().write(info, { dataType: p.dataType, labels: p.labels, segments: p.segments }, p.origin);
    return { savedAtMs };
  }

  /** The recoverable autosave of a scanned volume's series, or null. */
  async autosaveFind(p: { volumeId: string }): ReturnType<AutosaveStore['summary']> {
    return this.autosaveStore().summary(this.volumes.info(p.volumeId));
  }

  /** The autosaved segmentation of a scanned volume's series, voxel for voxel. */
  async autosaveRecover(p: { volumeId: string }): Promise<SegmentationData & { savedAtMs: number; origin: string }> {
    return this.autosaveStore().read(this.volumes.info(p.volumeId));
  }

  async autosaveDiscard(p: { volumeId: string }): Promise<{ discarded: boolean }> {
    return { discarded: await this.autosaveStore().discard(this.volumes.info(p.volumeId)) };
  }

  /** Per-segment statistics with the intensities of the scanned volume. */
  async stats(p: SegmentationData & { volumeId: string }, options: JobOptions): Promise<SegmentStatisticsRow[]> {
    const { info, volume } = await this.volume(p.volumeId, options);
    if (p.labels.length !== volume.data.length)
      throw new DelineateError('USAGE', `params.labels has ${p.labels.length} voxels but ${info.source} has ${volume.data.length}`, { subject: 'params.labels' });
    const labels: Volume = { size: volume.size, spacingMm: volume.spacingMm, originMm: volume.originMm, direction: volume.direction, dataType: p.dataType, data: p.labels };
    return segmentStatistics(labels, volume, { ...options, segments: p.segments, labelsName: 'segmentation', imageName: info.source });
  }
}
