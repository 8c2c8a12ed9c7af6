/** Sharding (`--shard i/n`) and case discovery by file name (nnU-Net channel suffixes, lists). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverCases, parseShard, safeCaseId, selectShard } from '../../../main/core/batch/index';

describe('parseShard', () => {
  it('parses 0-based i/n', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3 / 4 ')).toEqual({ index: 3, count: 4 });
  });
  it.each(['4/4', '1/0', '-1/3', 'a/b', '2', '1/2/3', ''])('rejects %j with a USAGE error naming --shard', (text) => {
    expect(() => parseShard(text)).toThrow(expect.objectContaining({ code: 'USAGE', subject: '--shard' }));
  });
});

describe('selectShard', () => {
  const ids = Array.from({ length: 23 }, (_, k) => ({ id: `case_${String((k * 7) % 23).padStart(3, '0')}` }));
  it.each([1, 2, 3, 5, 23, 40])('n = %i: shards are disjoint, cover every case, differ in size by at most one', (n) => {
    const shards = Array.from({ length: n }, (_, i) => selectShard(ids, { index: i, count: n }).map((c) => c.id));
    const all = shards.flat();
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual(ids.map((c) => c.id).sort());
    const sizes = shards.map((s) => s.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });
  it('is round robin over ids sorted by code unit, whatever the input order', () => {
    const a = selectShard(ids, { index: 1, count: 3 }).map((c) => c.id);
    const b = selectShard([...ids].reverse(), { index: 1, count: 3 }).map((c) => c.id);
    expect(a).toEqual(b);
    expect(a.slice(0, 3)).toEqual(['case_001', 'case_004', 'case_007']);
    // Code-unit order, not locale order: upper case sorts before lower case.
    expect(selectShard([{ id: 'b' }, { id: 'B' }, { id: 'a' }], { index: 0, count: 3 })).toEqual([{ id: 'B' }]);
  });
});

describe('discoverCases (by name; files are not read)', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'delineate-cases-'));
    const folder = join(root, 'imagesTs');
    mkdirSync(folder);
    for (const f of ['BraTS_001_0000.nii.gz', 'BraTS_001_0001.nii.gz', 'BraTS_002_0001.nii.gz', 'BraTS_002_0000.nii.gz', 'lone.nrrd', 'gap_0000.nii', 'gap_0002.nii', 'notes.txt', '.hidden_0000.nii.gz'])
      writeFileSync(join(folder, f), '');
    writeFileSync(
      join(root, 'list.txt'),
      ['# cohort', '', 'imagesTs/BraTS_001_0000.nii.gz\timagesTs/BraTS_001_0001.nii.gz', 'imagesTs/lone.nrrd', `${join(root, 'imagesTs', 'gap_0000.nii')}`, 'nowhere/x.txt', ''].join('\n'),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('groups an nnU-Net folder by case id and channel suffix, sorted, and flags a missing channel', async () => {
    const c = await discoverCases(join(root, 'imagesTs'));
    expect(c.kind).toBe('folder');
    expect(c.cases.map((x) => x.id)).toEqual(['BraTS_001', 'BraTS_002', 'gap', 'lone']);
    const b2 = c.cases[1]!;
    expect(b2.inputs.map((i) => i.path.split('/').pop())).toEqual(['BraTS_002_0000.nii.gz', 'BraTS_002_0001.nii.gz']);
    expect(b2.problems).toEqual([]);
    expect(c.cases[2]!.problems.join()).toMatch(/channel 0001 is missing/);
    expect(c.skipped.map((s) => [s.path.split('/').pop(), s.reason])).toEqual([
      ['.hidden_0000.nii.gz', 'hidden file'],
      ['notes.txt', expect.stringContaining('not an image file')],
    ]);
  });

  it('reads a text list: tab-separated channels, relative paths, comments; bad lines become failing cases', async () => {
    const c = await discoverCases(join(root, 'list.txt'));
    expect(c.kind).toBe('list');
    expect(c.cases.map((x) => x.id)).toEqual(['BraTS_001', 'gap', 'lone', 'x.txt']);
    expect(c.cases[0]!.inputs.map((i) => i.path)).toEqual([join(root, 'imagesTs', 'BraTS_001_0000.nii.gz'), join(root, 'imagesTs', 'BraTS_001_0001.nii.gz')]);
    expect(c.cases[3]!.problems.join()).toMatch(/list\.txt:6: .*nowhere\/x\.txt is neither an image file/);
  });

  it('errors clearly on a missing input and on an empty folder', async () => {
    await expect(discoverCases(join(root, 'missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(discoverCases(empty)).rejects.toMatchObject({ code: 'INPUT', message: expect.stringContaining('no cases found') });
  });

  it('makes safe ids', () => {
    expect(safeCaseId('PGBM 001/1992^T1 post')).toBe('PGBM_001_1992_T1_post');
    expect(safeCaseId('../..')).toBe('case');
  });
});
