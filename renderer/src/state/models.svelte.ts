/**
 * Models panel state (issue 5): the models the compute side lists (bundled and the user's), the mapping of open
 * series to a model's input channels with warnings (modality, grid), device and preset choice, and running a
 * model with progress (tiles), ETA and cancel. The result goes to {@link SegmentationState}.
 *
 * Time estimate: as soon as the inputs are mapped (and whenever the model, inputs or device change), the compute
 * side's 'models.estimate' is asked for both presets — the engine's exact tile count for these inputs times the
 * preset's network runs, each timed on this machine — so the panel shows the cost of Fast and Accurate before a
 * run. After a run on the same inputs and device, the seconds per network run of that run (preprocessing and
 * export included) refine it.
 */
import { untrack } from 'svelte';
import type { ModelEstimate, ModelInfo, SegmentPreset } from '../../../main/common/api';
import { DelineateError } from '../../../main/common/errors';
import { estimateEtaMs } from '../../../main/common/progress';
import type { VolumeInfo } from '../../../main/common/volume';
import type { SegmentationState } from './segmentation.svelte.ts';
import type { Workstation } from './workstation.svelte.ts';

/** An estimated duration (seconds) and where it comes from. */
export interface DurationEstimate {
  seconds: number;
  /** 'measured': from one network run timed on this machine; 'last run': from the last real run. */
  basis: 'measured' | 'last run';
}

/** Wait after a change of model, inputs or device before asking for an estimate (ms). */
const ESTIMATE_DEBOUNCE_MS = 250;

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
  /** Seconds the last run took, its tiles and network runs, and what it ran on (`key`: model, inputs, device). */
  lastRun = $state.raw<{ modelId: string; key: string; seconds: number; tiles: number; networkRuns: number } | null>(null);
  /** Calibrated estimates of the compute side for {@link estimateKey}'s model, inputs and device, per preset. */
  estimates = $state.raw<Partial<Record<SegmentPreset, ModelEstimate>>>({});
  /** True while the compute side measures; `estimateError` says why there is no estimate. */
  estimating = $state(false);
  estimateError = $state<string | null>(null);
  private abort: AbortController | null = null;
  /** What {@link estimates} were made for (JSON of model id, input ids, device); '' = nothing. Reactive: the estimates shown depend on it. */
  private estimatesFor = $state('');
  private estimateAbort: AbortController | null = null;
  private estimateTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposeEffects: () => void;

  constructor(
    private readonly ws: Workstation,
    private readonly seg: SegmentationState,
  ) {
    this.disposeEffects = $effect.root(() => {
      $effect(() => {
        // Ask for estimates when the mapping is runnable and changed (not while a run uses the machine).
        const key = this.estimateKey;
        const running = this.running;
        untrack(() => this.scheduleEstimates(key, running));
      });
    });
  }

  /** Stop asking for estimates (teardown). */
  dispose(): void {
    this.disposeEffects();
    clearTimeout(this.estimateTimer);
    this.estimateAbort?.abort();
  }

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

  /** Model, inputs and device a run would use now (JSON), or '' while the mapping has problems. */
  readonly estimateKey: string = $derived.by(() => {
    const m = this.selected;
    if (!m || !this.ws.connected || this.check.problems.length) return '';
    return JSON.stringify([m.id, m.channels.map((_, c) => this.inputFor(c)), this.device]);
  });

  /**
   * Duration of a run with `preset` on the current model, inputs and device: from the last run on the same
   * ones (its seconds per network run, all stages included), else the compute side's measured estimate.
   */
  estimateFor(preset: SegmentPreset): DurationEstimate | null {
    const m = this.selected;
    const key = this.estimateKey;
    if (!m || !key) return null;
    const measured = key === this.estimatesFor ? this.estimates[preset] : undefined;
    const last = this.lastRun;
    if (last && last.key === key && last.networkRuns > 0) {
      const runs = measured?.networkRuns ?? last.tiles * runsPerTile(m, preset);
      return { seconds: (last.seconds / last.networkRuns) * runs, basis: 'last run' };
    }
    return measured ? { seconds: measured.estimatedSeconds, basis: 'measured' } : null;
  }

  /** The estimate of the chosen preset (see {@link estimateFor}). */
  readonly estimate: DurationEstimate | null = $derived(this.estimateFor(this.preset));

  private scheduleEstimates(key: string, running: boolean): void {
    if (running || key === this.estimatesFor) return;
    clearTimeout(this.estimateTimer);
    this.estimateAbort?.abort();
    this.estimateAbort = null;
    this.estimates = {};
    this.estimatesFor = '';
    this.estimateError = null;
    this.estimating = false;
    if (!key) return;
    this.estimateTimer = setTimeout(() => void this.measure(key), ESTIMATE_DEBOUNCE_MS);
  }

  /** Ask the compute side for both presets' estimates (fast first: it also finds the tile count). */
  private async measure(key: string): Promise<void> {
    const client = this.ws.backend?.client;
    if (!client) return;
    const [modelId, volumeIds, device] = JSON.parse(key) as [string, string[], string];
    const abort = new AbortController();
    this.estimateAbort = abort;
    this.estimatesFor = key;
    this.estimating = true;
    try {
      for (const preset of ['fast', 'accurate'] as const) {
        const e = await client.call('models.estimate', { modelId, volumeIds, device, preset }, { signal: abort.signal });
        if (abort.signal.aborted) return;
        this.estimates = { ...this.estimates, [preset]: e };
      }
    } catch (e) {
      if (abort.signal.aborted) return;
      this.estimateError = e instanceof Error ? e.message : String(e);
    } finally {
      if (this.estimateAbort === abort) {
        this.estimating = false;
        this.estimateAbort = null;
      }
    }
  }

  async run(): Promise<void> {
    const client = this.ws.backend?.client;
    const m = this.selected;
    if (!client || !m || this.running || this.check.problems.length) return;
    const volumeIds = m.channels.map((_, c) => this.inputFor(c)!);
    const key = this.estimateKey;
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
      this.lastRun = { modelId: m.id, key, seconds: r.seconds, tiles: r.tiles, networkRuns: r.networkRuns };
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
