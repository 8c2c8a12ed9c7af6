/**
 * The segmentation workflow through the compute dispatcher, in-process, on the real core and real data: list the
 * models (a user models folder given by $DELINEATE_MODELS_DIR holds the engine's small 2D fixture model), run it
 * on a TCIA brain MR DICOM series with progress in tiles, save the result as labelmap + sidecar, .seg.nrrd and
 * DICOM SEG, reopen each onto the same series (identical voxels and names), refuse files for another grid or
 * series with a clear error, compare the statistics with `delineate stats --json`, and cancel a run.
 */
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentationData } from '../../../main/common/api';
import { DelineateError, isCancelled } from '../../../main/common/errors';
import type { Progress } from '../../../main/common/progress';
import type { VolumeInfo } from '../../../main/common/volume';
import { run as statsCli } from '../../../main/cli/commands/stats';
import { core } from '../../../main/compute/core';
import type { HandlerOptions } from '../../../main/compute/server';
import { ComputeService } from '../../../main/compute/service';
import { writeVolume } from '../../../main/core/io/index';
import { applyDelta, type EditDelta, revertDelta } from '../../../main/common/edit/delta';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';

const T1 = 'tcia-brain-tumor-progression/dicom/PGBM-003_03-29-1995/T1post';
const OTHER = 'tcia-brain-tumor-progression/dicom/PGBM-001_04-02-1992/T1post';
const MODEL_ID = 'golden-tcia-mr-2d';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'delineate-wf-'));
  dirs.push(d);
  return d;
};
const savedModelsDir = process.env.DELINEATE_MODELS_DIR;
afterAll(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  if (savedModelsDir === undefined) delete process.env.DELINEATE_MODELS_DIR;
  else process.env.DELINEATE_MODELS_DIR = savedModelsDir;
});

function opts(progress: Progress[] = [], signal = new AbortController().signal): HandlerOptions {
  return { signal, onProgress: (p) => progress.push(p) };
}

function counts(labels: ArrayLike<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) m.set(labels[i]!, (m.get(labels[i]!) ?? 0) + 1);
  return m;
}

describe.skipIf(!hasData(T1, OTHER))('compute workflow: models, segment, save/open, stats', () => {
  let service: ComputeService;
  let t1: VolumeInfo;
  let other: VolumeInfo;
  let result: SegmentationData;
  const out = tempDir();

  beforeAll(async () => {
    const models = tempDir();
    mkdirSync(models, { recursive: true });
    symlinkSync(join(PROJECT_ROOT, 'test/fixtures/engine/tcia-mr-2d'), join(models, 'tcia-mr-2d'));
    symlinkSync(join(PROJECT_ROOT, 'test/fixtures/engine/tcia-mr-2ch'), join(models, 'tcia-mr-2ch'));
    process.env.DELINEATE_MODELS_DIR = models;
    service = new ComputeService({ transport: 'web', version: 'test', userDataDir: tempDir(), nativeDialogs: false }, core);
    const scan = (await service.handle('volumes.scan', { path: dataPath(T1) }, opts())) as { volumes: VolumeInfo[] };
    t1 = scan.volumes[0]!;
    const scan2 = (await service.handle('volumes.scan', { path: dataPath(OTHER) }, opts())) as { volumes: VolumeInfo[] };
    other = scan2.volumes[0]!;
  }, 60_000);

  it('lists bundled and user models with channels, labels, card and devices', async () => {
    const r = (await service.handle('models.list', {}, opts())) as { models: { id: string; source: string; channels: { modality: string }[]; card: string; available: boolean; labels: unknown[] }[]; devices: string[] };
    const user = r.models.find((m) => m.id === MODEL_ID)!;
    expect(user.source).toBe('user');
    expect(user.available).toBe(true);
    expect(user.channels).toEqual([{ name: 'T1c', modality: 'MR' }]);
    expect(user.labels).toHaveLength(2); // background is not listed
    expect(r.devices).toContain('cpu');
    const bundled = r.models.find((m) => m.id === 'brain-tumour-t1c');
    if (existsSync(join(PROJECT_ROOT, 'native-models/brain-tumour-t1c/manifest.json'))) {
      expect(bundled?.source).toBe('bundled');
      expect(bundled?.card).toContain('Not for clinical decisions');
    }
  });

  it('runs the model with progress in tiles and labels on the series grid', async () => {
    const progress: Progress[] = [];
    const r = (await service.handle('segment.run', { modelId: MODEL_ID, volumeIds: [t1.id], device: 'cpu', preset: 'fast' }, opts(progress))) as SegmentationData & {
      tiles: number;
      networkRuns: number;
    };
    expect(r.labels.length).toBe(t1.size[0] * t1.size[1] * t1.size[2]);
    const c = counts(r.labels);
    expect(c.get(1)! + c.get(2)!).toBeGreaterThan(1000);
    const inference = progress.filter((p) => p.stage === 'inference');
    expect(inference.at(-1)).toMatchObject({ done: r.tiles, total: r.tiles });
    expect(r.networkRuns).toBe(r.tiles); // fast: no mirroring, one fold
    expect(r.segments.map((s) => s.name)).toEqual(['class 1', 'class 2']);
    result = { dataType: r.dataType, labels: r.labels, segments: r.segments };
  }, 300_000);

  it('saves in all three formats and reopens each onto the series with the same voxels and names', async () => {
    const files = { labelmap: join(out, 'seg.nii.gz'), 'slicer-seg': join(out, 'seg.seg.nrrd'), 'dicom-seg': join(out, 'seg.dcm') } as const;
    const named = { ...result, segments: result.segments.map((s, i) => ({ ...s, name: i === 0 ? 'tumour core' : 'oedema' })) };
    for (const [format, path] of Object.entries(files)) {
      const saved = (await service.handle('segmentation.save', { volumeId: t1.id, path, format, ...named }, opts())) as { paths: string[] };
      expect(saved.paths.every((p) => existsSync(p))).toBe(true);
      if (format === 'labelmap') expect(saved.paths).toHaveLength(2);
      const back = (await service.handle('segmentation.open', { volumeId: t1.id, path }, opts())) as SegmentationData & { format: string };
      expect(back.format).toBe(format);
      expect(back.segments.map((s) => s.name)).toEqual(['tumour core', 'oedema']);
      expect(back.segments.map((s) => s.color)).toEqual(named.segments.map((s) => s.color));
      let diff = 0;
      for (let i = 0; i < back.labels.length; i++) if (back.labels[i] !== result.labels[i]) diff++;
      expect(back.labels.length).toBe(result.labels.length);
      expect(diff).toBe(0);
    }
  }, 120_000);

  it('refuses a segmentation of another series or grid with a clear error', async () => {
    const seg = join(out, 'seg.dcm');
    await expect(service.handle('segmentation.open', { volumeId: other.id, path: seg }, opts())).rejects.toMatchObject({ code: 'INPUT' });
    const lm = join(out, 'seg.nii.gz');
    const e = await service.handle('segmentation.open', { volumeId: other.id, path: lm }, opts()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DelineateError);
    expect((e as DelineateError).code).toBe('GEOMETRY');
    expect((e as DelineateError).message).toContain('seg.nii.gz');
    // a labels array of the wrong length is refused before anything is written
    const bad = join(out, 'bad.seg.nrrd');
    await expect(service.handle('segmentation.save', { volumeId: other.id, path: bad, format: 'slicer-seg', ...result }, opts())).rejects.toMatchObject({ code: 'USAGE' });
    expect(existsSync(bad)).toBe(false);
    // a DICOM SEG name for a labelmap format is a usage error naming params.path
    await expect(service.handle('segmentation.save', { volumeId: t1.id, path: join(out, 'x.dcm'), format: 'labelmap', ...result }, opts())).rejects.toMatchObject({ subject: 'params.path' });
  });

  it('gives the same statistics as `delineate stats --json`', async () => {
    const rows = (await service.handle('stats.compute', { volumeId: t1.id, ...result }, opts())) as { value: number; voxelCount: number; volumeMl: number; intensity?: { mean: number } }[];
    const labelsFile = join(out, 'labels-for-cli.nii.gz');
    const lm = (await service.handle('volumes.load', { volumeId: t1.id }, opts())) as { volume: { size: [number, number, number]; spacingMm: [number, number, number]; originMm: [number, number, number]; direction: [number, number, number, number, number, number, number, number, number] } };
    await writeVolume({ ...lm.volume, dataType: 'uint8', data: result.labels }, labelsFile);
    let stdout = '';
    const code = await statsCli([dataPath(T1), labelsFile, '--json'], { stdout: (t) => void (stdout += t), stderr: () => {}, isTTY: false, signal: new AbortController().signal });
    expect(code).toBe(0);
    const cli = JSON.parse(stdout) as { segments: { value: number; voxelCount: number; volumeMl: number; intensity?: { mean: number } }[] };
    expect(rows.map((r) => r.value)).toEqual(cli.segments.map((s) => s.value));
    for (const r of rows) {
      const c = cli.segments.find((s) => s.value === r.value)!;
      expect(r.voxelCount).toBe(c.voxelCount);
      // The CLI reads the labels' spacing back from the NIfTI header (float32): equal to 1e-6 relative.
      expect(Math.abs(r.volumeMl - c.volumeMl) / c.volumeMl).toBeLessThan(1e-6);
      expect(r.intensity!.mean).toBeCloseTo(c.intensity!.mean, 6);
    }
  }, 120_000);

  it('fills between slices and closes on the compute side, returning an exact undo delta', async () => {
    const [nx, ny] = t1.size;
    const labels = new Uint8Array(t1.size[0] * t1.size[1] * t1.size[2]);
    const square = (k: number, i0: number, j0: number, n: number) => {
      for (let j = j0; j < j0 + n; j++) for (let i = i0; i < i0 + n; i++) labels[i + nx * (j + ny * k)] = 1;
    };
    square(5, 100, 100, 30);
    square(9, 110, 110, 30);
    labels[50 + nx * (50 + ny * 12)] = 2; // another segment, locked: must not change
    const original = labels.slice();
    const data = { dataType: 'uint8' as const, labels, segments: [{ value: 1, name: 'a', color: [255, 0, 0] as [number, number, number], layer: 0 }, { value: 2, name: 'b', color: [0, 255, 0] as [number, number, number], layer: 0 }] };
    const delta = (await service.handle('segmentation.edit', { volumeId: t1.id, op: 'fill-between-slices', value: 1, axis: 2, locked: [2], ...data, labels: labels.slice() }, opts())) as EditDelta;
    expect(delta.voxelCount).toBeGreaterThan(3 * 25 * 25);
    applyDelta(labels, delta);
    for (const k of [6, 7, 8]) {
      let n = 0;
      for (let x = nx * ny * k; x < nx * ny * (k + 1); x++) n += labels[x] === 1 ? 1 : 0;
      expect(n, `slice ${k} filled`).toBeGreaterThan(400);
    }
    expect(labels[50 + nx * (50 + ny * 12)]).toBe(2);
    revertDelta(labels, delta);
    expect(labels).toEqual(original);
    const closed = (await service.handle('segmentation.edit', { volumeId: t1.id, op: 'closing', value: 1, radiusMm: 2, locked: [], ...data, labels: labels.slice() }, opts())) as EditDelta;
    expect(closed.oldValues.every((v) => v !== 1)).toBe(true); // closing only adds voxels
    await expect(service.handle('segmentation.edit', { volumeId: t1.id, op: 'grow', value: 1, locked: [], ...data }, opts())).rejects.toMatchObject({ subject: 'params.op' });
  });

  it('cancels a run between tiles (CancelledSignal, not an error)', async () => {
    const controller = new AbortController();
    const progress: Progress[] = [];
    const options: HandlerOptions = {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        if (p.stage === 'inference' && p.done >= 2) controller.abort();
      },
    };
    const e = await service.handle('segment.run', { modelId: MODEL_ID, volumeIds: [t1.id], device: 'cpu', preset: 'fast' }, options).catch((x: unknown) => x);
    expect(isCancelled(e)).toBe(true);
    const last = progress.filter((p) => p.stage === 'inference').at(-1)!;
    expect(last.done).toBeLessThan(last.total);
  }, 300_000);

  it('refuses a model run whose inputs the scan cannot satisfy', async () => {
    await expect(service.handle('segment.run', { modelId: MODEL_ID, volumeIds: [t1.id, other.id], device: 'cpu', preset: 'fast' }, opts())).rejects.toMatchObject({ code: 'USAGE', subject: 'params.volumeIds' });
    // A two-channel model fed series on different grids: GEOMETRY naming the input, before any inference.
    const e = await service.handle('segment.run', { modelId: 'golden-tcia-mr-2ch', volumeIds: [t1.id, other.id], device: 'cpu', preset: 'fast' }, opts()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'GEOMETRY', subject: 'params.volumeIds[1]' });
    expect((e as Error).message).toContain('FLAIR');
    await expect(service.handle('segment.run', { modelId: 'no-such-model', volumeIds: [t1.id], device: 'cpu', preset: 'fast' }, opts())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.handle('segment.run', { modelId: MODEL_ID, volumeIds: [t1.id], device: 'cpu', preset: 'slow' }, opts())).rejects.toMatchObject({ subject: 'params.preset' });
  });
});
