/**
 * Bad input through the public CLI (`info`, `convert`), built in temp folders from copies of real files:
 * truncated files, a folder without images, a non-image file, a NIfTI with a broken header, a series with a missing
 * slice, and an ambiguous folder. Each gives a message naming the file and the problem, and writes nothing.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/index';
import type { CliIo } from '../../../main/cli/io';
import { dataPath, hasData } from '../../helpers/data';
import { hasCommand } from './reference';

const tmp = mkdtempSync(join(tmpdir(), 'delineate-bad-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), isTTY: false, signal: new AbortController().signal };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

function freshDir(name: string): string {
  const d = join(tmp, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

const T1 = 'tcia-brain-tumor-progression/dicom/PGBM-001_04-02-1992/T1post';
const FLAIR = 'format-conformance/niivue_flair_nii_nrrd/FLAIR.nii.gz';

describe.skipIf(!hasData(T1, FLAIR))('bad input gives a clear message naming the file, and writes nothing', () => {
  it('truncated DICOM file', async () => {
    const dir = freshDir('trunc-dcm');
    const src = dataPath(T1, readdirSync(dataPath(T1))[0]!);
    const bytes = readFileSync(src);
    const file = join(dir, 'slice.dcm');
    writeFileSync(file, bytes.subarray(0, bytes.length - 5000));
    const out = freshDir('trunc-dcm-out');
    const r = await cli('convert', file, join(out, 'x.nii.gz'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/pixel data is truncated/);
    expect(readdirSync(out)).toEqual([]);
    const info = await cli('info', file, '--json');
    expect(info.code).toBe(1);
    expect(JSON.parse(info.stdout)).toEqual({ volumes: [], skipped: [{ path: file, reason: expect.stringMatching(/^broken DICOM: pixel data is truncated/) }] });
  });

  it('truncated NIfTI (.nii.gz cut short)', async () => {
    const dir = freshDir('trunc-nii');
    const file = join(dir, 'flair.nii.gz');
    const bytes = readFileSync(dataPath(FLAIR));
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const out = freshDir('trunc-nii-out');
    const r = await cli('convert', file, join(out, 'x.nrrd'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/truncated/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('NIfTI with a broken header (sizeof_hdr zeroed; dim[0] zeroed)', async () => {
    const dir = freshDir('broken-nii');
    const raw = gunzipSync(readFileSync(dataPath(FLAIR)));
    const a = Buffer.from(raw);
    a.writeInt32LE(0, 0);
    writeFileSync(join(dir, 'a.nii'), a);
    const b = Buffer.from(raw);
    b.writeInt16LE(0, 40);
    writeFileSync(join(dir, 'b.nii'), b);
    const out = freshDir('broken-nii-out');
    for (const [name, problem] of [
      ['a.nii', /broken NIfTI header: sizeof_hdr is 0/],
      ['b.nii', /broken NIfTI header: dim\[0\] is 0/],
    ] as const) {
      const r = await cli('convert', join(dir, name), join(out, 'x.nii.gz'));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(join(dir, name));
      expect(r.stderr).toMatch(problem);
    }
    expect(readdirSync(out)).toEqual([]);
  });

  it('folder with no images', async () => {
    const dir = freshDir('empty');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'readme.txt'), 'nothing to see\n');
    const out = freshDir('empty-out');
    const info = await cli('info', dir, '--json');
    expect(info.code).toBe(1);
    expect(info.stderr).toContain(`${dir}: no image volumes found`);
    expect(JSON.parse(info.stdout).skipped).toEqual([{ path: join(dir, 'sub', 'readme.txt'), reason: 'not DICOM and not a NIfTI/NRRD/MetaImage file' }]);
    const r = await cli('convert', dir, join(out, 'x.nii.gz'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dir}: no image volumes found`);
    expect(readdirSync(out)).toEqual([]);
  });

  it('a file that is not an image', async () => {
    const dir = freshDir('notimage');
    const file = join(dir, 'report.pdf');
    writeFileSync(file, '%PDF-1.4 not really\n');
    const out = freshDir('notimage-out');
    const r = await cli('convert', file, join(out, 'x.nii.gz'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/not DICOM/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('a series with a missing slice: info warns, convert refuses naming the files around the gap', async () => {
    const dir = freshDir('missing');
    cpSync(dataPath(T1), dir, { recursive: true });
    // Find the slice in the middle of the stack (by position, as the reader sorts) and remove it.
    const scan = JSON.parse((await cli('info', dir, '--json')).stdout);
    const files: string[] = scan.volumes[0].files;
    expect(files).toHaveLength(24);
    rmSync(files[12]!);
    const info = await cli('info', dir, '--json');
    expect(info.code).toBe(0);
    const v = JSON.parse(info.stdout).volumes[0];
    expect(v.size).toEqual([260, 320, 23]);
    expect(v.warnings.join(' ')).toMatch(/1 missing slice\(s\): gap of 13 mm between .* where slices are 6\.5 mm apart/);
    const out = freshDir('missing-out');
    const r = await cli('convert', dir, join(out, 'x.nii.gz'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(files[13]!);
    expect(r.stderr).toContain(files[11]!);
    expect(r.stderr).toMatch(/slice\(s\) missing/);
    expect(readdirSync(out)).toEqual([]);
  });

  it.skipIf(!hasCommand('dcmodify'))('uneven slice positions are a warning, and the volume is still read', async () => {
    const dir = freshDir('uneven');
    cpSync(dataPath(T1), dir, { recursive: true });
    const scan = JSON.parse((await cli('info', dir, '--json')).stdout);
    const files: string[] = scan.volumes[0].files;
    // Move the last slice 2 mm further along the normal (6.5 → 8.5 mm step: not a multiple, so not "missing").
    const d = scan.volumes[0].direction as number[];
    const o = execFileSync('dcmdump', ['+P', '0020,0032', files[23]!], { encoding: 'utf8' });
    const ipp = /\[([^\]]+)\]/.exec(o)![1]!.split('\\').map(Number);
    const moved = [0, 1, 2].map((r) => ipp[r]! + 2 * d[r * 3 + 2]!);
    execFileSync('dcmodify', ['-nb', '-m', `(0020,0032)=${moved.join('\\')}`, files[23]!]);
    const info = JSON.parse((await cli('info', dir, '--json')).stdout);
    expect(info.volumes[0].warnings.join(' ')).toMatch(/uneven slice spacing: steps from 6\.5 to 8\.5 mm/);
    const out = freshDir('uneven-out');
    const r = await cli('convert', dir, join(out, 'x.nii'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: uneven slice spacing/);
    expect(readdirSync(out)).toEqual(['x.nii']);
  });

  it('several volumes and no --series: USAGE error listing the ids; --series picks one', async () => {
    const dir = dataPath('tcia-brain-tumor-progression/dicom/PGBM-001_04-02-1992');
    const out = freshDir('multi-out');
    const r = await cli('convert', dir, join(out, 'x.nii.gz'));
    expect(r.code).toBe(2);
    const scan = JSON.parse((await cli('info', dir, '--json')).stdout);
    expect(scan.volumes).toHaveLength(3);
    for (const v of scan.volumes) expect(r.stderr).toContain(v.id);
    expect(readdirSync(out)).toEqual([]);
    const mask = scan.volumes.find((v: { description: string }) => v.description === 'Mask_Tumor');
    const ok = await cli('convert', dir, join(out, 'mask.nii.gz'), '--series', mask.id);
    expect(ok.code).toBe(0);
    const summary = JSON.parse(ok.stdout);
    expect(summary).toMatchObject({ output: join(out, 'mask.nii.gz'), id: mask.id, size: [260, 320, 24], dataType: 'uint16' });
    expect(readdirSync(out)).toEqual(['mask.nii.gz']);
    const none = await cli('convert', dir, join(out, 'y.nii.gz'), '--series', 'nope');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no volume with id nope/);
  });

  it('bad output extension is a USAGE error before anything is read', async () => {
    const r = await cli('convert', dataPath(FLAIR), join(tmp, 'x.png'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/output must end in \.nii\.gz, \.nii, \.nrrd, \.mha/);
  });

  it('info --json prints exactly the documented fields', async () => {
    const dir = freshDir('one');
    copyFileSync(dataPath(FLAIR), join(dir, 'flair.nii.gz'));
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const r = await cli('info', dir, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(['volumes', 'skipped']);
    expect(Object.keys(j.volumes[0])).toEqual(['id', 'source', 'modality', 'description', 'size', 'spacingMm', 'originMm', 'direction', 'dataType', 'files', 'warnings']);
    expect(j.volumes[0].direction).toHaveLength(9);
    expect(j.skipped).toEqual([{ path: join(dir, 'notes.txt'), reason: 'not DICOM and not a NIfTI/NRRD/MetaImage file' }]);
    const human = await cli('info', dir);
    expect(human.stdout).toMatch(/^id\s+mod\s+size/);
    expect(human.stdout).toContain('124×160×140');
  });
});
