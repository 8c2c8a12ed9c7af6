/**
 * The DICOM scanner and decoder on synthetic files with known content (./dicom-writer): every encoding the
 * parser handles, nested sequences, large headers, and the series rules (sort, split, spacing, gaps, rescale).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ijkToLps, transformPoint } from '../../../main/common/geometry';
import type { Vec3 } from '../../../main/common/volume';
import { decodeRleFrame } from '../../../main/core/io/dicom/pixels';
import type { DicomHeader } from '../../../main/core/io/dicom/header';
import { isCancelled } from '../../../main/common/errors';
import type { Progress } from '../../../main/common/progress';
import { clearScanCache, readVolume, scanPath } from '../../../main/core/io/index';
import { type El, slice, writeDicom } from './dicom-writer';

const tmp = mkdtempSync(join(tmpdir(), 'delineate-unit-dicom-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function folder(files: Record<string, Buffer | string>): string {
  const d = join(tmp, `case${n++}`);
  mkdirSync(d);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(d, name), data);
  return d;
}

describe('encodings', () => {
  const pixels = [-1000, -1, 0, 1, 300, 32767];
  it.each([
    ['explicit VR little endian', '1.2.840.10008.1.2.1'],
    ['implicit VR little endian', '1.2.840.10008.1.2'],
    ['explicit VR big endian', '1.2.840.10008.1.2.2'],
    ['deflated explicit VR little endian', '1.2.840.10008.1.2.1.99'],
  ] as const)('%s: header fields and voxels', async (_name, ts) => {
    const d = folder({ 'a.dcm': slice({ sopUid: '1.1', position: [10, 20, 30], pixels }, ts) });
    const scan = await scanPath(d);
    expect(scan.skipped).toEqual([]);
    expect(scan.volumes).toHaveLength(1);
    const v = scan.volumes[0]!;
    expect(v.size).toEqual([3, 2, 1]);
    expect(v.originMm).toEqual([10, 20, 30]);
    expect(v.spacingMm.slice(0, 2)).toEqual([0.5, 0.5]);
    expect(v.modality).toBe('CT');
    expect(v.study?.patientName).toBe('Test Patient');
    const vol = await readVolume(v);
    expect(vol.dataType).toBe('int16');
    expect(Array.from(vol.data)).toEqual(pixels);
  });

  it('a file without preamble and meta group (implicit VR) is still DICOM', async () => {
    const withMeta = slice({ sopUid: '1.2', position: [0, 0, 0], pixels: [1, 2, 3, 4, 5, 6] }, '1.2.840.10008.1.2');
    // Strip preamble + meta: the dataset starts at the first (0008,xxxx) element.
    const start = withMeta.indexOf(Buffer.from([0x08, 0x00, 0x16, 0x00]));
    const d = folder({ 'old.dcm': withMeta.subarray(start) });
    const scan = await scanPath(d);
    expect(scan.volumes).toHaveLength(1);
    expect(Array.from((await readVolume(scan.volumes[0]!)).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a header larger than the first read (200 kB private blob before the pixels)', async () => {
    const els: El[] = [
      { tag: [0x0008, 0x0018], vr: 'UI', value: '1.3' },
      { tag: [0x0008, 0x0060], vr: 'CS', value: 'MR' },
      { tag: [0x0020, 0x000e], vr: 'UI', value: '1.3.1' },
      { tag: [0x0020, 0x0032], vr: 'DS', value: '0\\0\\0' },
      { tag: [0x0020, 0x0037], vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
      { tag: [0x0029, 0x0010], vr: 'LO', value: 'ACME' },
      { tag: [0x0029, 0x1010], vr: 'OB', value: new Uint8Array(200_000).fill(7) },
      { tag: [0x0028, 0x0010], vr: 'US', value: [1] },
      { tag: [0x0028, 0x0011], vr: 'US', value: [2] },
      { tag: [0x0028, 0x0100], vr: 'US', value: [16] },
      { tag: [0x0028, 0x0103], vr: 'US', value: [0] },
      { tag: [0x7fe0, 0x0010], vr: 'OW', value: new Uint8Array([1, 0, 2, 0]) },
    ];
    const d = folder({ big: writeDicom(els, { transferSyntax: '1.2.840.10008.1.2.1' }) });
    const scan = await scanPath(d);
    expect(scan.volumes).toHaveLength(1);
    expect(Array.from((await readVolume(scan.volumes[0]!)).data)).toEqual([1, 2]);
  });

  it('RLE frames decode (PackBits literal and replicate runs, two byte segments)', () => {
    const values = [0x0102, 0x0102, 0x0102, 0x0102, 0x7f00, 0x0001];
    const hi = values.map((v) => v >> 8);
    const lo = values.map((v) => v & 0xff);
    // Segment 1 (high bytes): replicate 1 ×4, then literal [0x7f, 0x00]; segment 2 (low bytes): literal 6.
    const seg1 = [(-3 & 0xff), hi[0]!, 1, hi[4]!, hi[5]!];
    const seg2 = [5, ...lo];
    const header = new Uint8Array(64);
    const dv = new DataView(header.buffer);
    dv.setUint32(0, 2, true);
    dv.setUint32(4, 64, true);
    dv.setUint32(8, 64 + seg1.length, true);
    const frame = Buffer.concat([header, Uint8Array.from(seg1), Uint8Array.from(seg2)]);
    const h = { rows: 2, columns: 3, bitsAllocated: 16 } as DicomHeader;
    const out = decodeRleFrame(frame, h, 'x.dcm');
    expect(Array.from(new Uint16Array(out.buffer, out.byteOffset, 6))).toEqual(values);
    expect(() => decodeRleFrame(frame.subarray(0, 70), h, 'x.dcm')).toThrow(/x\.dcm: RLE segment 2 ends after 0 of 6 pixels/);
  });
});

describe('non-image files', () => {
  it('are skipped with a reason', async () => {
    const seg = writeDicom(
      [
        { tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.66.4' },
        { tag: [0x0008, 0x0018], vr: 'UI', value: '9.9' },
        { tag: [0x0028, 0x0010], vr: 'US', value: [1] },
        { tag: [0x0028, 0x0011], vr: 'US', value: [1] },
        { tag: [0x7fe0, 0x0010], vr: 'OB', value: new Uint8Array([1, 0]) },
      ],
      { transferSyntax: '1.2.840.10008.1.2.1', sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4' },
    );
    const sr = writeDicom([{ tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.88.22' }], { transferSyntax: '1.2.840.10008.1.2.1' });
    const other = writeDicom([{ tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.3.4' }, { tag: [0x0010, 0x0010], vr: 'PN', value: 'X' }], { transferSyntax: '1.2.840.10008.1.2.1' });
    const d = folder({ 'seg.dcm': seg, 'sr.dcm': sr, 'other.dcm': other, 'notes.txt': 'hello', 'empty.dcm': '' });
    const scan = await scanPath(d);
    expect(scan.volumes).toEqual([]);
    const reasons = Object.fromEntries(scan.skipped.map((s) => [s.path.split('/').pop(), s.reason]));
    expect(reasons).toEqual({
      'seg.dcm': 'segmentation object',
      'sr.dcm': 'structured report (no pixel data)',
      'other.dcm': 'DICOM without pixel data (SOP class 1.2.3.4)',
      'notes.txt': 'not DICOM and not a NIfTI/NRRD/MetaImage file',
      'empty.dcm': 'not DICOM and not a NIfTI/NRRD/MetaImage file',
    });
  });
});

const z = (k: number, extra: Partial<Parameters<typeof slice>[0]> = {}) =>
  slice({ sopUid: `2.${k}.${extra.echo ?? 0}.${extra.seriesUid ?? ''}`, position: [0, 0, k], pixels: [k, k, k, k, k, k], ...extra });

describe('series rules', () => {
  it('sorts by position along the normal, not by file name or InstanceNumber', async () => {
    const files: Record<string, Buffer> = {};
    const zs = [3, 0, 4, 1, 2];
    zs.forEach((k, i) => (files[`f${i}.dcm`] = slice({ sopUid: `3.${k}`, position: [0, 0, k * 2.5], pixels: Array(6).fill(k), instance: 10 - i })));
    const scan = await scanPath(folder(files));
    const v = scan.volumes[0]!;
    expect(v.size).toEqual([3, 2, 5]);
    expect(v.spacingMm[2]).toBeCloseTo(2.5, 9);
    expect(v.originMm).toEqual([0, 0, 0]);
    expect(v.warnings).toEqual([]);
    const vol = await readVolume(v);
    expect([0, 1, 2, 3, 4].map((k) => vol.data[k * 6])).toEqual([0, 1, 2, 3, 4]);
  });

  it('oblique: k follows row × column cosines and origin is the first slice along it', async () => {
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const orientation: [number, number, number, number, number, number] = [1, 0, 0, 0, c, -s];
    const normal: Vec3 = [0, s, c];
    const files: Record<string, Buffer> = {};
    for (const k of [2, 0, 1]) {
      const p: Vec3 = [5, 7 + 4 * k * normal[1], -3 + 4 * k * normal[2]];
      files[`s${k}`] = slice({ sopUid: `4.${k}`, position: p, orientation, pixels: Array(6).fill(k) });
    }
    const v = (await scanPath(folder(files))).volumes[0]!;
    expect(v.spacingMm[2]).toBeCloseTo(4, 9);
    const expected = [1, 0, 0, 0, c, s, 0, -s, c];
    v.direction.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 12));
    const last = transformPoint(ijkToLps(v), [0, 0, 2]);
    expect(last[1]).toBeCloseTo(7 + 8 * s, 9);
    expect(last[2]).toBeCloseTo(-3 + 8 * c, 9);
  });

  it('a missing slice is reported at scan and refused at read, naming the files', async () => {
    const files: Record<string, Buffer> = {};
    for (const k of [0, 1, 2, 4, 5]) files[`m${k}.dcm`] = z(k);
    const d = folder(files);
    const v = (await scanPath(d)).volumes[0]!;
    expect(v.warnings).toEqual([`1 missing slice(s): gap of 2 mm between ${join(d, 'm2.dcm')} and ${join(d, 'm4.dcm')} where slices are 1 mm apart`]);
    await expect(readVolume(v)).rejects.toMatchObject({ code: 'GEOMETRY', subject: join(d, 'm4.dcm') });
  });

  it('uneven steps are a warning and the mean step is the spacing', async () => {
    const files: Record<string, Buffer> = {};
    for (const [i, p] of [0, 1, 2, 3.4].entries()) files[`u${i}.dcm`] = slice({ sopUid: `5.${i}`, position: [0, 0, p] });
    const v = (await scanPath(folder(files))).volumes[0]!;
    expect(v.spacingMm[2]).toBeCloseTo(3.4 / 3, 9);
    expect(v.warnings).toEqual(['uneven slice spacing: steps from 1 to 1.4 mm (mean 1.133 mm used)']);
    await expect(readVolume(v)).resolves.toBeDefined();
  });

  it('a sheared stack (gantry tilt) is read with a warning', async () => {
    const files: Record<string, Buffer> = {};
    for (const k of [0, 1, 2]) files[`g${k}`] = slice({ sopUid: `12.${k}`, position: [0, 0.8 * k, 2 * k] });
    const v = (await scanPath(folder(files))).volumes[0]!;
    expect(v.spacingMm[2]).toBeCloseTo(2, 9);
    expect(v.warnings).toEqual(['slice positions drift 1.6 mm in-plane (gantry tilt or sheared stack); the grid assumes no shear']);
  });

  it('hidden files and folders are listed as skipped, not read; symbolic-link loops end', async () => {
    const d = folder({ 'a.dcm': z(0), '.DS_Store': 'x' });
    mkdirSync(join(d, '.git'));
    writeFileSync(join(d, '.git', 'a.dcm'), z(0));
    const { symlinkSync } = await import('node:fs');
    symlinkSync(d, join(d, 'loop'));
    const scan = await scanPath(d);
    expect(scan.volumes).toHaveLength(1);
    expect(scan.skipped).toEqual([
      { path: join(d, '.DS_Store'), reason: 'hidden file' },
      { path: join(d, '.git'), reason: 'hidden folder (not searched)' },
    ]);
  });

  it('splits a series by orientation, matrix size and pixel spacing', async () => {
    const files = {
      'ax.dcm': slice({ sopUid: '6.1', position: [0, 0, 0] }),
      'cor.dcm': slice({ sopUid: '6.2', position: [0, 0, 0], orientation: [1, 0, 0, 0, 0, -1] }),
      'sag.dcm': slice({ sopUid: '6.3', position: [0, 0, 0], orientation: [0, 1, 0, 0, 0, -1] }),
      'big.dcm': slice({ sopUid: '6.4', position: [0, 0, 5], rows: 3, columns: 3, pixels: Array(9).fill(1) }),
      'fine.dcm': slice({ sopUid: '6.5', position: [0, 0, 6], spacing: [0.25, 0.25] }),
    };
    const scan = await scanPath(folder(files));
    expect(scan.volumes).toHaveLength(5);
    expect(new Set(scan.volumes.map((v) => v.id)).size).toBe(5);
    expect(scan.volumes.map((v) => /\[(\w+) \d\/5\]/.exec(v.description)?.[1]).sort()).toEqual(['axial', 'axial', 'axial', 'coronal', 'sagittal']);
  });

  it('separates echoes that share slice positions', async () => {
    const files: Record<string, Buffer> = {};
    for (const k of [0, 1, 2]) for (const echo of [1, 2]) files[`e${echo}-${k}`] = z(k, { echo, pixels: Array(6).fill(echo) });
    const scan = await scanPath(folder(files));
    expect(scan.volumes).toHaveLength(2);
    for (const v of scan.volumes) {
      expect(v.size[2]).toBe(3);
      expect(v.warnings).toEqual([]);
      const echo = Number(/echo=(\d)/.exec(v.description)![1]);
      expect(new Set((await readVolume(v)).data)).toEqual(new Set([echo]));
    }
  });

  it('the same instance twice (copied files) is read once, with a note', async () => {
    const a = z(0);
    const d = folder({ 'x0.dcm': a, 'x1.dcm': z(1) });
    mkdirSync(join(d, 'copy'));
    writeFileSync(join(d, 'copy', 'x0.dcm'), a);
    const v = (await scanPath(d)).volumes[0]!;
    expect(v.size[2]).toBe(2);
    expect(v.warnings).toEqual([`1 duplicate file(s) with the same SOP Instance UID ignored: ${join(d, 'x0.dcm')}`]);
  });

  it('rescale: CT intercept → int16 HU; a fractional slope → float32', async () => {
    const ct = (await scanPath(folder({ c: slice({ sopUid: '7.1', position: [0, 0, 0], pixels: [0, 1024, 2000, -10, 5, 6], intercept: -1024, slope: 1 }) }))).volumes[0]!;
    expect(ct.dataType).toBe('int16');
    expect(Array.from((await readVolume(ct)).data)).toEqual([-1024, 0, 976, -1034, -1019, -1018]);
    const pet = (await scanPath(folder({ p: slice({ sopUid: '7.2', position: [0, 0, 0], pixels: [0, 1, 2, 3, 4, 5], slope: 0.5, intercept: 1 }) }))).volumes[0]!;
    expect(pet.dataType).toBe('float32');
    expect(Array.from((await readVolume(pet)).data)).toEqual([1, 1.5, 2, 2.5, 3, 3.5]);
  });

  it('values beyond int16 after the intercept are saturated, with a warning', async () => {
    const v = (await scanPath(folder({ s: slice({ sopUid: '7.3', position: [0, 0, 0], pixels: [32767, 32000, 0, -32768, 5, 6], intercept: 1024, slope: 1 }) }))).volumes[0]!;
    expect(v.dataType).toBe('int16');
    expect(Array.from((await readVolume(v)).data)).toEqual([32767, 32767, 1024, -31744, 1029, 1030]);
    expect(v.warnings).toEqual(['2 voxel value(s) outside the int16 range were saturated']);
  });

  it('enhanced multi-frame: per-frame positions in nested (implicit VR, defined-length) sequences', async () => {
    const frame = (z: number): El[] => [
      { tag: [0x0020, 0x9113], vr: 'SQ', items: [[{ tag: [0x0020, 0x0032], vr: 'DS', value: `0\\0\\${z}` }]] },
      { tag: [0x0020, 0x9111], vr: 'SQ', items: [[{ tag: [0x0020, 0x9056], vr: 'SH', value: '1' }]] },
    ];
    const els: El[] = [
      { tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4.1' },
      { tag: [0x0008, 0x0018], vr: 'UI', value: '8.1' },
      { tag: [0x0008, 0x0060], vr: 'CS', value: 'MR' },
      { tag: [0x0020, 0x000e], vr: 'UI', value: '8.1.1' },
      { tag: [0x0028, 0x0008], vr: 'IS', value: '3' },
      { tag: [0x0028, 0x0010], vr: 'US', value: [1] },
      { tag: [0x0028, 0x0011], vr: 'US', value: [2] },
      { tag: [0x0028, 0x0100], vr: 'US', value: [16] },
      { tag: [0x0028, 0x0103], vr: 'US', value: [0] },
      {
        tag: [0x5200, 0x9229],
        vr: 'SQ',
        undefinedLength: true,
        items: [
          [
            { tag: [0x0020, 0x9116], vr: 'SQ', items: [[{ tag: [0x0020, 0x0037], vr: 'DS', value: '1\\0\\0\\0\\1\\0' }]] },
            { tag: [0x0028, 0x9110], vr: 'SQ', items: [[{ tag: [0x0028, 0x0030], vr: 'DS', value: '0.7\\0.9' }]] },
          ],
        ],
      },
      // Frames stored out of order along z: 4, 0, 2.
      { tag: [0x5200, 0x9230], vr: 'SQ', items: [frame(4), frame(0), frame(2)] },
      { tag: [0x7fe0, 0x0010], vr: 'OW', value: new Uint8Array([4, 0, 4, 0, 0, 0, 0, 0, 2, 0, 2, 0]) },
    ];
    const d = folder({ enh: writeDicom(els, { transferSyntax: '1.2.840.10008.1.2' }) });
    const v = (await scanPath(d)).volumes[0]!;
    expect(v.size).toEqual([2, 1, 3]);
    expect(v.spacingMm).toEqual([0.9, 0.7, 2]);
    expect(Array.from((await readVolume(v)).data)).toEqual([0, 0, 2, 2, 4, 4]);
  });
});

describe('legacy multi-frame', () => {
  it('places frames along the normal at SpacingBetweenSlices', async () => {
    const els: El[] = [
      { tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.20' },
      { tag: [0x0008, 0x0018], vr: 'UI', value: '11.1' },
      { tag: [0x0008, 0x0060], vr: 'CS', value: 'NM' },
      { tag: [0x0018, 0x0088], vr: 'DS', value: '2' },
      { tag: [0x0020, 0x000e], vr: 'UI', value: '11.1.1' },
      { tag: [0x0020, 0x0032], vr: 'DS', value: '1\\2\\3' },
      { tag: [0x0020, 0x0037], vr: 'DS', value: '1\\0\\0\\0\\0\\-1' },
      { tag: [0x0028, 0x0008], vr: 'IS', value: '3' },
      { tag: [0x0028, 0x0010], vr: 'US', value: [1] },
      { tag: [0x0028, 0x0011], vr: 'US', value: [1] },
      { tag: [0x0028, 0x0100], vr: 'US', value: [8] },
      { tag: [0x0028, 0x0103], vr: 'US', value: [0] },
      { tag: [0x7fe0, 0x0010], vr: 'OB', value: new Uint8Array([10, 20, 30]) },
    ];
    const v = (await scanPath(folder({ nm: writeDicom(els, { transferSyntax: '1.2.840.10008.1.2.1' }) }))).volumes[0]!;
    expect(v.size).toEqual([1, 1, 3]);
    expect(v.spacingMm[2]).toBeCloseTo(2, 9);
    // Coronal: row +x, column −z, normal = row × column = +y (posterior).
    expect(v.direction.map((x) => x + 0)).toEqual([1, 0, 0, 0, 0, 1, 0, -1, 0]);
    expect(v.originMm).toEqual([1, 2, 3]);
    expect(v.dataType).toBe('uint8');
    expect(Array.from((await readVolume(v)).data)).toEqual([10, 20, 30]);
  });
});

describe('jobs', () => {
  it('reports progress in files and stops on cancel', async () => {
    const files: Record<string, Buffer> = {};
    for (const k of [0, 1, 2, 3]) files[`p${k}.dcm`] = slice({ sopUid: `9.${k}`, position: [0, 0, k], seriesUid: '9.9' });
    const d = folder(files);
    const events: Progress[] = [];
    const scan = await scanPath(d, { onProgress: (p) => events.push(p) });
    expect(events[0]).toEqual({ stage: 'scan', done: 0, total: 4 });
    expect(events.at(-1)).toMatchObject({ stage: 'scan', done: 4, total: 4 });
    const reads: Progress[] = [];
    await readVolume(scan.volumes[0]!, { onProgress: (p) => reads.push(p) });
    expect(reads.map((p) => p.done)).toEqual([0, 1, 2, 3, 4]);
    const ac = new AbortController();
    ac.abort();
    const err = await scanPath(d, { signal: ac.signal }).catch((e: unknown) => e);
    expect(isCancelled(err)).toBe(true);
    const err2 = await readVolume(scan.volumes[0]!, { signal: ac.signal }).catch((e: unknown) => e);
    expect(isCancelled(err2)).toBe(true);
  });

  it('reads a volume from its listed info alone (new process), and says so when its files changed', async () => {
    const files: Record<string, Buffer> = {};
    for (const k of [0, 1, 2]) files[`r${k}.dcm`] = slice({ sopUid: `10.${k}`, position: [0, 0, 2 * k], seriesUid: '10.9', pixels: Array(6).fill(k) });
    const d = folder(files);
    const info = JSON.parse(JSON.stringify((await scanPath(d)).volumes[0]));
    clearScanCache();
    const vol = await readVolume(info);
    expect([0, 1, 2].map((k) => vol.data[k * 6])).toEqual([0, 1, 2]);
    clearScanCache();
    rmSync(join(d, 'r1.dcm'));
    await expect(readVolume(info)).rejects.toMatchObject({ code: 'NOT_FOUND', subject: join(d, 'r1.dcm') });
  });
});
