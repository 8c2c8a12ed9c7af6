/**
 * The model uncertainty map (issue 5): main/common/uncertainty.ts on known probabilities, and `segment.run`
 * through the compute dispatcher on a real TCIA T1 post-contrast series with the engine's small 2D fixture model
 * (a user model): the uint8 map equals the normalised entropy of the engine's own probabilities for the same run,
 * it is 1 byte per voxel, and `uncertainty: false` leaves it out.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SegmentationData } from '../../../main/common/api';
import { entropyMap, uncertaintyGradientCss, uncertaintyLut, UNCERTAINTY_FLOOR } from '../../../main/common/uncertainty';
import type { VolumeInfo } from '../../../main/common/volume';
import { core } from '../../../main/compute/core';
import type { HandlerOptions } from '../../../main/compute/server';
import { ComputeService } from '../../../main/compute/service';
import { segment } from '../../../main/core/inference/engine';
import { readVolume } from '../../../main/core/io/index';
import { loadModel } from '../../../main/core/models/registry';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';

const T1 = 'tcia-brain-tumor-progression/dicom/PGBM-003_03-29-1995/T1post';
const dirs: string[] = [];
const savedModelsDir = process.env.DELINEATE_MODELS_DIR;
afterAll(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  if (savedModelsDir === undefined) delete process.env.DELINEATE_MODELS_DIR;
  else process.env.DELINEATE_MODELS_DIR = savedModelsDir;
});
const opts = (): HandlerOptions => ({ signal: new AbortController().signal, onProgress: () => {} });

describe('entropy map', () => {
  it('is 0 for certain voxels, 255 for uniform ones, and in between otherwise (softmax)', () => {
    const p = [new Float32Array([1, 1 / 3, 0.5, 0.9]), new Float32Array([0, 1 / 3, 0.5, 0.05]), new Float32Array([0, 1 / 3, 0, 0.05])];
    const m = entropyMap(p, 'softmax');
    expect(m[0]).toBe(0);
    expect(m[1]).toBe(255);
    // H(0.5, 0.5, 0) / ln 3 = ln 2 / ln 3 = 0.6309 → 161
    expect(m[2]).toBe(Math.round((Math.LN2 / Math.log(3)) * 255));
    const h = -(0.9 * Math.log(0.9) + 2 * 0.05 * Math.log(0.05));
    expect(m[3]).toBe(Math.round((h / Math.log(3)) * 255));
  });

  it('takes the most uncertain region for sigmoid outputs', () => {
    const m = entropyMap([new Float32Array([0.5, 0.99, 0]), new Float32Array([0.01, 0.99, 1])], 'sigmoid');
    expect(m[0]).toBe(255);
    const h = -(0.99 * Math.log(0.99) + 0.01 * Math.log(0.01));
    expect(m[1]).toBe(Math.round((h / Math.LN2) * 255));
    expect(m[2]).toBe(0);
  });

  it('colours: transparent under the floor, opaque-ish and bright at the top; a CSS gradient for the legend', () => {
    const lut = uncertaintyLut(0.8);
    expect(lut.length).toBe(1024);
    expect(lut[(UNCERTAINTY_FLOOR - 1) * 4 + 3]).toBe(0);
    expect(lut[UNCERTAINTY_FLOOR * 4 + 3]).toBeGreaterThan(0);
    expect(lut[255 * 4 + 3]).toBe(204);
    expect(Array.from(lut.subarray(255 * 4, 255 * 4 + 3))).toEqual([252, 255, 164]);
    for (let v = 1; v < 256; v++) expect(lut[v * 4 + 3]).toBeGreaterThanOrEqual(lut[(v - 1) * 4 + 3]!);
    expect(uncertaintyGradientCss()).toMatch(/^linear-gradient\(to right, rgb\(40, 11, 84\) 0%, .*rgb\(252, 255, 164\) 100%\)$/);
  });
});

describe.skipIf(!hasData(T1))('segment.run uncertainty map on a real series', () => {
  it('equals the normalised entropy of the engine probabilities, 1 byte per voxel; left out on request', async () => {
    const models = mkdtempSync(join(tmpdir(), 'delineate-unc-'));
    dirs.push(models);
    mkdirSync(models, { recursive: true });
    symlinkSync(join(PROJECT_ROOT, 'test/fixtures/engine/tcia-mr-2d'), join(models, 'tcia-mr-2d'));
    process.env.DELINEATE_MODELS_DIR = models;
    const service = new ComputeService({ transport: 'web', version: 'test', userDataDir: join(models, 'user'), nativeDialogs: false }, core);
    const scan = (await service.handle('volumes.scan', { path: dataPath(T1) }, opts())) as { volumes: VolumeInfo[] };
    const t1 = scan.volumes[0]!;
    const n = t1.size[0] * t1.size[1] * t1.size[2];
    const r = (await service.handle('segment.run', { modelId: 'golden-tcia-mr-2d', volumeIds: [t1.id], device: 'cpu', preset: 'fast' }, opts())) as SegmentationData & {
      uncertainty?: Uint8Array;
    };
    expect(r.uncertainty).toBeInstanceOf(Uint8Array);
    expect(r.uncertainty!.byteLength).toBe(n); // 1 byte per voxel, the size of the uint8 labels
    // The reference: the engine's own probabilities for the same run, reduced the same way.
    const model = await loadModel(join(models, 'tcia-mr-2d'));
    const volume = await readVolume(t1, {});
    const ref = await segment(model, [volume], { device: 'cpu', tta: false, folds: [model.manifest.folds[0]!.fold], probabilities: true });
    expect(Array.from(ref.labels.data.subarray(0, 10))).toEqual(Array.from(r.labels.subarray(0, 10)));
    const expected = entropyMap(ref.probabilities!, 'softmax');
    let diff = 0;
    for (let i = 0; i < n; i++) if (expected[i] !== r.uncertainty![i]) diff++;
    expect(diff).toBe(0);
    // The map is not constant (the fixture is an untrained golden network, so no claim about where it is unsure).
    let minU = 255;
    let maxU = 0;
    for (let i = 0; i < n; i++) {
      minU = Math.min(minU, r.uncertainty![i]!);
      maxU = Math.max(maxU, r.uncertainty![i]!);
    }
    expect(maxU - minU).toBeGreaterThan(64);

    const off = (await service.handle('segment.run', { modelId: 'golden-tcia-mr-2d', volumeIds: [t1.id], device: 'cpu', preset: 'fast', uncertainty: false }, opts())) as {
      uncertainty?: Uint8Array;
    };
    expect(off.uncertainty).toBeUndefined();
    await expect(service.handle('segment.run', { modelId: 'golden-tcia-mr-2d', volumeIds: [t1.id], device: 'cpu', preset: 'fast', uncertainty: 'yes' }, opts())).rejects.toMatchObject({
      code: 'PROTOCOL',
      subject: 'params.uncertainty',
    });
  }, 300_000);
});
