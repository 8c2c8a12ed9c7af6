/**
 * 'models.estimate' through the compute dispatcher, in-process, on the real core: the bundled model (whatever it is:
 * 2D or 3D, any number of folds) on a TCIA brain MR (NIfTI). The tile count must be the one `segment()` reports for
 * the same input (a real fast run), the network runs tiles × mirror variants × folds as `segment.run` counts them,
 * the per-run seconds measured and cached per model, fold file and device; the plan helpers of core
 * (main/core/inference/plan) must reproduce preprocessing's record exactly, also on the engine's fixture models.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelEstimate } from '../../../main/common/api';
import type { Volume, VolumeInfo } from '../../../main/common/volume';
import { core } from '../../../main/compute/core';
import type { HandlerOptions } from '../../../main/compute/server';
import { ComputeService } from '../../../main/compute/service';
import { timeNetworkRun, validateEstimateParams } from '../../../main/compute/service-models';
import { segment } from '../../../main/core/inference/engine';
import { networkGeometry, networkRunsPerTile, nonzeroBoxIjk, slidingWindowPlan } from '../../../main/core/inference/plan';
import { maskBbox, nonzeroMask, preprocess, toTensor, type Vec3n } from '../../../main/core/inference/preprocess';
import { readImageFile } from '../../../main/core/io/index';
import { listModels, loadModel, type LoadedModel } from '../../../main/core/models/registry';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';
import { rejection } from '../../helpers/errors';

const IMAGE = 'tcia-brain-tumor-progression/nifti/PGBM-003_03-29-1995/PGBM-003_03-29-1995_T1post.nii.gz';
/** Another patient's T1post: another grid. */
const OTHER = 'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_T1post.nii.gz';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function opts(signal = new AbortController().signal): HandlerOptions {
  return { signal, onProgress: () => {} };
}

describe('plan: non-zero box and sliding window', () => {
  it('gives the box of the hole-filled non-zero mask of all channels (in index space)', () => {
    const size: Vec3n = [9, 7, 6];
    const n = size[0] * size[1] * size[2];
    const at = (i: number, j: number, k: number) => (k * size[1] + j) * size[0] + i;
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    // A hollow cube in channel a (its inside is a hole), one voxel of channel b further out.
    for (let k = 1; k <= 3; k++) for (let j = 2; j <= 4; j++) for (let i = 3; i <= 5; i++) if (i !== 4 || j !== 3 || k !== 2) a[at(i, j, k)] = 1;
    b[at(7, 1, 4)] = -2;
    const grid = { spacingMm: [1, 1, 1] as Vec3n, originMm: [0, 0, 0] as Vec3n, direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
    const vols: Volume[] = [
      { ...grid, size, data: a },
      { ...grid, size, data: b },
    ] as unknown as Volume[];
    expect(nonzeroBoxIjk(vols)).toEqual([
      [3, 1, 1],
      [8, 5, 5],
    ]);
    // The same as preprocessing's mask (identity axis order: tensor axis d = index axis 2 − d).
    const t = new Float32Array(2 * n);
    toTensor(vols[0]!, [2, 1, 0], t.subarray(0, n), 'a');
    toTensor(vols[1]!, [2, 1, 0], t.subarray(n), 'b');
    const [lo, hi] = maskBbox(nonzeroMask(t, 2, [6, 7, 9]), [6, 7, 9]);
    expect([lo.reverse(), hi.reverse()]).toEqual(nonzeroBoxIjk(vols));
    // Nothing non-zero: the whole extent.
    expect(nonzeroBoxIjk([{ ...grid, size, data: new Float32Array(n) } as unknown as Volume])).toEqual([
      [0, 0, 0],
      [9, 7, 6],
    ]);
  });

  it('counts network runs per tile as the engine does', async () => {
    const m = (await loadModel(join(PROJECT_ROOT, 'test/fixtures/engine/tcia-mr-2d'), { verifyHashes: false })).manifest;
    expect(networkRunsPerTile(m, { tta: false, folds: 1 })).toBe(1);
    expect(networkRunsPerTile(m, { tta: true, folds: 3 })).toBe(3 * 2 ** m.mirroringAxes.length);
  });
});

describe.skipIf(!hasData(IMAGE, OTHER))('models.estimate on the bundled model and a TCIA brain MR', () => {
  let service: ComputeService;
  let info: VolumeInfo;
  let other: VolumeInfo;
  let model: LoadedModel;
  let image: Volume;

  beforeAll(async () => {
    const userData = mkdtempSync(join(tmpdir(), 'delineate-estimate-'));
    dirs.push(userData);
    service = new ComputeService({ transport: 'web', version: 'test', userDataDir: userData, nativeDialogs: false }, core);
    info = ((await service.handle('volumes.scan', { path: dataPath(IMAGE) }, opts())) as { volumes: VolumeInfo[] }).volumes[0]!;
    other = ((await service.handle('volumes.scan', { path: dataPath(OTHER) }, opts())) as { volumes: VolumeInfo[] }).volumes[0]!;
    const bundled = (await listModels()).filter((e) => e.source === 'bundled' && e.available);
    const entry = bundled.find((e) => e.id === 'brain-tumour-t1c') ?? bundled[0];
    if (!entry) throw new Error('no available bundled model in native-models/');
    model = await loadModel(entry.dir, { verifyHashes: false });
    image = await readImageFile(dataPath(IMAGE));
  }, 120_000);

  it('reproduces preprocessing’s record without resampling (bundled model and the fixture models)', async () => {
    const fixtures = ['tcia-mr-2d', 'multiclass-2d', 'multiclass-unet'].map((f) => join(PROJECT_ROOT, 'test/fixtures/engine', f));
    for (const dir of [model.dir, ...fixtures]) {
      const m = (await loadModel(dir, { verifyHashes: false })).manifest;
      if (m.channels.length !== 1) continue;
      const inputs = [image];
      expect(networkGeometry(m, inputs), m.id).toEqual(preprocess(m, inputs, ['T1post']).record);
    }
  }, 240_000);

  it('gives the tile count segment() reports, tiles × variants × folds runs, and a calibrated time', async () => {
    const m = model.manifest;
    const fast = (await service.handle('models.estimate', { modelId: m.id, volumeIds: [info.id], device: 'cpu', preset: 'fast' }, opts())) as ModelEstimate;
    const accurate = (await service.handle('models.estimate', { modelId: m.id, volumeIds: [info.id], device: 'cpu', preset: 'accurate' }, opts())) as ModelEstimate;
    const res = await segment(model, [image], { device: 'cpu', tta: false, folds: [m.folds[0]!.fold] });
    console.log(
      `estimate ${m.id} (${m.dimensionality}, ${m.folds.length} fold(s)): tiles ${fast.tiles}, fast ${fast.networkRuns} runs × ${fast.secondsPerRun.toFixed(3)} s = ${fast.estimatedSeconds.toFixed(1)} s ` +
        `(real fast run: inference ${res.stats.seconds.inference.toFixed(1)} s, total ${res.stats.seconds.total.toFixed(1)} s); accurate ${accurate.networkRuns} runs ≈ ${accurate.estimatedSeconds.toFixed(1)} s`,
    );
    expect(fast.tiles).toBe(res.stats.tiles);
    expect(fast.networkRuns).toBe(res.stats.networkRuns);
    expect(fast.networkRuns).toBe(res.stats.tiles);
    expect(accurate.tiles).toBe(res.stats.tiles);
    expect(accurate.networkRuns).toBe(res.stats.tiles * 2 ** m.mirroringAxes.length * m.folds.length);
    // The plan helpers agree with the engine's own geometry record.
    expect(slidingWindowPlan(m, res.stats.networkShape).paddedShape).toEqual(res.stats.paddedShape);
    for (const e of [fast, accurate]) {
      expect(e.basis).toBe('calibrated');
      expect(e.device).toBe('cpu');
      expect(e.secondsPerRun).toBeGreaterThan(0);
      expect(e.estimatedSeconds).toBeCloseTo(e.networkRuns * e.secondsPerRun, 9);
    }
    // Fold 0's time is cached: the accurate estimate (fold 0 first) reuses it exactly.
    if (m.folds.length === 1) expect(accurate.secondsPerRun).toBe(fast.secondsPerRun);
    const again = (await service.handle('models.estimate', { modelId: m.id, volumeIds: [info.id], device: 'cpu', preset: 'fast' }, opts())) as ModelEstimate;
    expect(again).toEqual(fast);
  }, 600_000);

  it('times one network run of a fold on a zero patch', async () => {
    const s = await timeNetworkRun(model, model.folds[0]!.path, 'cpu');
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(120);
  }, 240_000);

  it('refuses a wrong number of inputs, inputs on two grids, unknown volumes and bad params, naming the field', async () => {
    const m = model.manifest;
    const tooMany = Array.from({ length: m.channels.length + 1 }, () => info.id);
    expect((await rejection(service.handle('models.estimate', { modelId: m.id, volumeIds: tooMany, device: 'cpu', preset: 'fast' }, opts()))).subject).toBe('params.volumeIds');
    expect((await rejection(service.handle('models.estimate', { modelId: m.id, volumeIds: ['nope'], device: 'cpu', preset: 'fast' }, opts()))).code).toBe('NOT_FOUND');
    expect((await rejection(service.handle('models.estimate', { modelId: 'no-such-model', volumeIds: [info.id], device: 'cpu', preset: 'fast' }, opts()))).code).toBe('NOT_FOUND');
    expect((await rejection(service.handle('models.estimate', { modelId: m.id, volumeIds: [info.id], device: 'cpu', preset: 'best' }, opts()))).subject).toBe('params.preset');
    expect((await rejection(service.handle('models.estimate', { modelId: m.id, volumeIds: [info.id], device: 'tpu', preset: 'fast' }, opts()))).subject).toBe('params.device');
    expect((await rejection(service.handle('models.estimate', { modelId: m.id, volumeIds: [info.id], device: 'cpu', preset: 'fast', extra: 1 } as never, opts()))).code).toBe('PROTOCOL');
    expect(() => validateEstimateParams({ modelId: m.id, volumeIds: [], device: 'cpu', preset: 'fast' })).toThrow(/volumeIds/);
    // Another patient's series is on another grid: a two-input estimate names input 2.
    expect(other.size.join('×')).not.toBe(info.size.join('×'));
    const twoChannel = join(PROJECT_ROOT, 'test/fixtures/engine/tcia-mr-2ch');
    const saved = process.env.DELINEATE_MODELS_DIR;
    process.env.DELINEATE_MODELS_DIR = join(twoChannel, '..');
    try {
      const id = (await loadModel(twoChannel, { verifyHashes: false })).manifest.id;
      const e = await rejection(service.handle('models.estimate', { modelId: id, volumeIds: [info.id, other.id], device: 'cpu', preset: 'fast' }, opts()));
      expect(e.code).toBe('GEOMETRY');
      expect(e.subject).toBe('params.volumeIds[1]');
    } finally {
      if (saved === undefined) delete process.env.DELINEATE_MODELS_DIR;
      else process.env.DELINEATE_MODELS_DIR = saved;
    }
  }, 120_000);
});
