import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLabelList } from '../../../main/cli/commands/evaluate';
import { isCancelled } from '../../../main/common/errors';
import type { Grid, Volume } from '../../../main/common/volume';
import { caseName, compareLabelmaps, gridDifference, nonFiniteAsString, pairCases, summarise, csvNumber } from '../../../main/core/metrics';

const grid: Grid = { size: [4, 3, 2], spacingMm: [0.5, 0.5, 2], originMm: [-10, 20, 30], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

describe('summarise', () => {
  it('mean, median, sample SD over finite values; NaN and Infinity counted apart', () => {
    expect(summarise([1, 2, 3, 10, NaN, Infinity])).toEqual({ mean: 4, median: 2.5, sd: Math.sqrt(((3 * 3 + 2 * 2 + 1 * 1 + 6 * 6) as number) / 3), n: 4, nNaN: 1, nInf: 1 });
    expect(summarise([7])).toEqual({ mean: 7, median: 7, sd: NaN, n: 1, nNaN: 0, nInf: 0 });
    expect(summarise([NaN, NaN])).toMatchObject({ n: 0, nNaN: 2, mean: NaN });
  });
});

describe('gridDifference', () => {
  it('accepts float32-level noise and names what differs', () => {
    expect(gridDifference(grid, { ...grid, originMm: [-10 + 1e-5, 20, 30], spacingMm: [0.5 * (1 + 1e-6), 0.5, 2] })).toBeUndefined();
    expect(gridDifference(grid, { ...grid, size: [4, 3, 3] })).toMatch(/^size 4×3×2 vs 4×3×3/);
    expect(gridDifference(grid, { ...grid, spacingMm: [0.5, 0.5, 2.5] })).toMatch(/^spacing/);
    expect(gridDifference(grid, { ...grid, originMm: [-10, 20.01, 30] })).toMatch(/^origin/);
    expect(gridDifference(grid, { ...grid, direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] })).toMatch(/^direction/);
  });
});

describe('compareLabelmaps input checks', () => {
  const vol = (data: Volume['data'], g: Grid = grid): Volume => ({ ...g, dataType: data instanceof Float32Array ? 'float32' : 'uint8', data });
  it('GEOMETRY error names both files', async () => {
    await expect(compareLabelmaps(vol(new Uint8Array(24)), vol(new Uint8Array(24), { ...grid, originMm: [0, 0, 0] }), { predName: 'p.nii.gz', refName: 'r.nii.gz' })).rejects.toMatchObject({
      code: 'GEOMETRY',
      message: expect.stringMatching(/p\.nii\.gz and r\.nii\.gz/),
    });
  });
  it('INPUT error for non-integer labels; float data with integer values is accepted', async () => {
    const f = new Float32Array(24);
    f[5] = 1.5;
    await expect(compareLabelmaps(vol(f), vol(new Uint8Array(24)), { predName: 'soft.nii.gz' })).rejects.toMatchObject({ code: 'INPUT', message: expect.stringMatching(/soft\.nii\.gz/) });
    f[5] = 2;
    const ref = new Uint8Array(24);
    ref[5] = 2;
    const { metrics } = await compareLabelmaps(vol(f), vol(ref));
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ label: 2, dice: 1, hd95Mm: 0, nsd: 1 });
  });
  it('UNSUPPORTED for a sheared grid', async () => {
    const sheared: Grid = { ...grid, direction: [1, 0.3, 0, 0, 1, 0, 0, 0, 1] };
    await expect(compareLabelmaps(vol(new Uint8Array(24), sheared), vol(new Uint8Array(24), sheared), { refName: 'tilt.nii.gz' })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/tilt\.nii\.gz: the voxel axes are not orthonormal/),
    });
  });
  it('stops with CancelledSignal', async () => {
    const ac = new AbortController();
    ac.abort();
    const m = new Uint8Array(24).fill(1);
    await compareLabelmaps(vol(m), vol(m), { signal: ac.signal }).then(
      () => expect.unreachable(),
      (e: unknown) => expect(isCancelled(e)).toBe(true),
    );
  });
});

describe('pairing and output helpers', () => {
  const root = mkdtempSync(join(tmpdir(), 'delineate-pair-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  it('strips image extensions and refuses two files for one case', async () => {
    expect(caseName('/x/la_001.nii.gz')).toBe('la_001');
    expect(caseName('la_001.seg.nrrd')).toBe('la_001.seg');
    mkdirSync(join(root, 'p'));
    mkdirSync(join(root, 'r'));
    for (const f of ['a.nii.gz', 'b.nrrd', 'notes.txt']) writeFileSync(join(root, 'p', f), '');
    for (const f of ['a.nii.gz', 'c.mha']) writeFileSync(join(root, 'r', f), '');
    const { pairs, predOnly, refOnly } = await pairCases(join(root, 'p'), join(root, 'r'));
    expect(pairs.map((p) => p.case)).toEqual(['a']);
    expect(predOnly.map((p) => p.case)).toEqual(['b']);
    expect(refOnly.map((p) => p.case)).toEqual(['c']);
    writeFileSync(join(root, 'p', 'a.nrrd'), '');
    await expect(pairCases(join(root, 'p'), join(root, 'r'))).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/two files for case 'a'/) });
  });
  it('label lists and non-finite numbers', () => {
    expect(parseLabelList('3,1-2, 7')).toEqual([1, 2, 3, 7]);
    expect(() => parseLabelList('0')).toThrow(/within 1/);
    expect(() => parseLabelList('a')).toThrow(/not a label/);
    expect(JSON.stringify({ a: NaN, b: Infinity, c: 1 }, nonFiniteAsString)).toBe('{"a":"NaN","b":"Infinity","c":1}');
    expect([NaN, -Infinity, 0.1].map(csvNumber)).toEqual(['NaN', '-Infinity', '0.1']);
  });
});
