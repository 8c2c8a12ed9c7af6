/**
 * Models panel state (issue 5): the models the compute side lists (bundled and the user's), the mapping of open
 * series to a model's input channels with warnings (modality, grid), device and preset choice, and running a
 * model with progress (tiles), ETA and cancel. The result goes to {@link SegmentationState}.
 */
import type { ModelInfo, SegmentPreset } from '../../../main/common/api';
import { DelineateError } from '../../../main/common/errors';
import { estimateEtaMs } from '../../../main/common/progress';
import type { VolumeInfo } from '../../../main/common/volume';
import type { SegmentationState } from './segmentation.svelte.ts';
import type { Workstation } from './workstation.svelte.ts';

/** Network runs per tile of a preset: fast = 1 (fold 0, no TTA); accurate = folds × 2^mirror axes. */
export function runsPerTile(m: ModelInfo, preset: SegmentPreset): number {
  return preset === 'fast' ? 1 : Math.max(1, m.folds.length) * 2 ** m.mirrorAxes;
}

function sameGrid(a: VolumeInfo, b: VolumeInfo): boolean {
  const close = (x: readonly number[], y: readonly number[], tol: number) => x.every((v, i) => Math.abs(v - y[i]!) <= tol);
  return a.size.every((s, i) => s === b.size[i]) && close(a.spacingMm, b.spacingMm, 1e-3) && close(a.originMm, b.originMm, 1e-2) && close(a.direction, b.direction, 1e-4);
}

export class ModelsState {
  models = $state.raw<ModelInfo[]>([]);
  devices = $state.raw<string[]>(['auto', 'cpu']);
  selectedId = $state<string | null>(null);
  device = $state('auto');
  preset = $state<SegmentPreset>('fast');
  /** Channel index → volume id. */
  inputs = $state<Record<number, string>>({});
  running = $state(false);
  loaded = $state(false);
  /** Seconds the last run took, and its tiles (to estimate the next one). */
  lastRun = $state.raw<{ modelId: string; seconds: number; tiles: number; networkRuns: number } | null>(null);
  private abort: AbortController | null = null;

  constructor(
    private readonly ws: Workstation,
    private readonly seg: SegmentationState,
  ) {}

  readonly selected: ModelInfo | null = $derived(this.models.find((m) => m.id === this.selectedId) ?? null);

  async load(): Promise<void> {
    const client = this.ws.backend?.client;
    if (!client) return;
    try {
      const r = await client.call('models.list', {});
      this.models = r.models;
      this.devices = r.devices;
      this.loaded = true;
      if (!this.selectedId) this.selectedId = r.models.find((m) => m.available)?.id ?? null;
    } catch (e) {
      this.ws.report(e);
    }
  }

  /** The volume mapped to channel c (default: the shown volume for channel 0). */
  inputFor(c: number): string | null {
    return this.inputs[c] ?? (c === 0 ? this.ws.shownId : null);
  }

  setInput(c: number, volumeId: string): void {
    this.inputs = { ...this.inputs, [c]: volumeId };
  }

  /** Problems that block a run, and warnings that do not. */
  readonly check: { problems: string[]; warnings: string[] } = $derived.by(() => {
    const problems: string[] = [];
    const warnings: string[] = [];
    const m = this.selected;
    if (!m) return { problems: ['Choose a model'], warnings };
    if (!m.available) problems.push(...(m.problems ?? ['The model is not available']));
    const vols = this.ws.scan?.volumes ?? [];
    const infos: (VolumeInfo | undefined)[] = m.channels.map((_, c) => vols.find((v) => v.id === this.inputFor(c)));
    m.channels.forEach((ch, c) => {
      const info = infos[c];
      if (!info) problems.push(`Choose a series for input ${c + 1} (${ch.name})`);
      else if (ch.modality && info.modality && ch.modality !== info.modality) warnings.push(`Input ${c + 1} (${ch.name}) expects ${ch.modality}; ${info.description || info.source} is ${info.modality}`);
    });
    const first = infos[0];
    infos.forEach((info, c) => {
      if (c > 0 && info && first && !sameGrid(info, first)) problems.push(`Input ${c + 1} is on another grid than input 1 (${info.size.join('×')} vs ${first.size.join('×')}); co-register the series first`);
    });
    if (first && this.ws.shownId !== first.id) warnings.push('Input 1 is not the series on screen: the result is shown when it is.');
    return { problems, warnings };
  });

  /** Rough duration of a run with the current preset, from the last run of the same model (seconds), if any. */
  readonly estimateS: number | null = $derived.by(() => {
    const m = this.selected;
    const last = this.lastRun;
    if (!m || !last || last.modelId !== m.id || last.networkRuns === 0) return null;
    return (last.seconds / last.networkRuns) * last.tiles * runsPerTile(m, this.preset);
  });

  async run(): Promise<void> {
    const client = this.ws.backend?.client;
    const m = this.selected;
    if (!client || !m || this.running || this.check.problems.length) return;
    const volumeIds = m.channels.map((_, c) => this.inputFor(c)!);
    const abort = new AbortController();
    this.abort = abort;
    this.running = true;
    const label = `Running ${m.name}`;
    const started = performance.now();
    const cancel = () => abort.abort();
    this.ws.progress = { label, done: 0, total: 0, cancel };
    try {
      const r = await client.call(
        'segment.run',
        { modelId: m.id, volumeIds, device: this.device, preset: this.preset },
        {
          signal: abort.signal,
          onProgress: (p) => {
            const stage = p.stage === 'inference' ? 'tiles' : p.stage;
            const info: typeof this.ws.progress = { label: `${label}: ${stage}`, done: p.done, total: p.total, cancel };
            const eta = p.stage === 'inference' ? estimateEtaMs(started, performance.now(), p) : undefined;
            if (eta !== undefined) info.etaMs = eta;
            this.ws.progress = info;
          },
        },
      );
      this.lastRun = { modelId: m.id, seconds: r.seconds, tiles: r.tiles, networkRuns: r.networkRuns };
      if (this.ws.shownId === volumeIds[0]) this.seg.set(volumeIds[0]!, r, `${m.id} (${this.preset})`);
      else this.ws.report(new DelineateError('USAGE', `${m.name} finished, but its input series is no longer on screen; show it and run again`));
    } catch (e) {
      this.ws.report(e);
    } finally {
      this.running = false;
      this.abort = null;
      this.ws.progress = null;
    }
  }

  cancel(): void {
    this.abort?.abort();
  }
}
