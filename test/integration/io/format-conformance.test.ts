/**
 * NIfTI / NRRD / MetaImage reading (../shared/data/format-conformance) and writing. Geometry from itk-wasm is
 * checked against the test's own NIfTI reader (RAS affine → LPS), and the 48 voxel orientations of one brain
 * are checked to be the same physical image, voxel by voxel.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { orientationCode } from '../../../main/common/geometry';
import type { Volume } from '../../../main/common/volume';
import { readImageFile, scanPath, writeVolume } from '../../../main/core/io/index';
import { dataPath, hasData } from '../../helpers/data';
import { compareWithReference, readNiftiReference } from './reference';

const tmp = mkdtempSync(join(tmpdir(), 'delineate-format-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ORIENT = 'format-conformance/niivue_nifti_space_48_orientations';

describe.skipIf(!hasData(ORIENT))('48 voxel orientations of one brain', () => {
  const files = hasData(ORIENT) ? readdirSync(dataPath(ORIENT)).filter((f) => f.endsWith('.nii.gz')).sort() : [];
  it('has all 48', () => expect(files).toHaveLength(48));
  const ras = hasData(ORIENT) ? readNiftiReference(dataPath(ORIENT, 'RAS.nii.gz')) : undefined;
  it.each(files)('%s: ITK geometry = its own affine in LPS, and every voxel equals RAS.nii.gz at the same point', async (name) => {
    const vol = await readImageFile(dataPath(ORIENT, name));
    // (a) itk-wasm's LPS geometry is the file's own affine converted by our independent reader.
    const self = compareWithReference(vol, readNiftiReference(dataPath(ORIENT, name)));
    expect(self.maxCornerErrorMm).toBeLessThan(1e-3);
    expect(self.mismatched).toBe(0);
    // (b) the same physical image as RAS.nii.gz, voxel for voxel.
    const cmp = compareWithReference(vol, ras!);
    expect(cmp.maxCornerErrorMm).toBeLessThan(1e-3);
    expect(cmp.compared).toBe(64 * 79 * 67);
    expect(cmp.mismatched).toBe(0);
    // The voxel order named by the file is the one we carry (NIfTI names where axes point TO, in RAS letters;
    // ITK's code names where they come FROM, in the same letters): e.g. RAS.nii.gz → 'LPI'.
    const opposite: Record<string, string> = { R: 'L', L: 'R', A: 'P', P: 'A', S: 'I', I: 'S' };
    const expected = name.slice(0, 3).split('').map((c) => opposite[c]).join('');
    expect(orientationCode(vol.direction)).toBe(expected);
  });
});

describe.skipIf(!hasData('format-conformance/niivue_flair_nii_nrrd'))('the same FLAIR as NIfTI and NRRD', () => {
  it('has the same oblique geometry and identical voxels', async () => {
    const nii = await readImageFile(dataPath('format-conformance/niivue_flair_nii_nrrd/FLAIR.nii.gz'));
    const nrrd = await readImageFile(dataPath('format-conformance/niivue_flair_nii_nrrd/FLAIR.nrrd'));
    expect(nrrd.size).toEqual(nii.size);
    expect(nrrd.dataType).toBe(nii.dataType);
    for (let c = 0; c < 3; c++) {
      expect(nrrd.spacingMm[c]).toBeCloseTo(nii.spacingMm[c]!, 4);
      expect(nrrd.originMm[c]).toBeCloseTo(nii.originMm[c]!, 3);
    }
    nrrd.direction.forEach((d, i) => expect(d).toBeCloseTo(nii.direction[i]!, 5));
    expect(Math.min(...[0, 4, 8].map((i) => Math.abs(nii.direction[i]!)))).toBeLessThan(0.999); // oblique
    expect(Buffer.from(nrrd.data.buffer, nrrd.data.byteOffset, nrrd.data.byteLength).equals(Buffer.from(nii.data.buffer, nii.data.byteOffset, nii.data.byteLength))).toBe(true);
    const cmp = compareWithReference(nii, readNiftiReference(dataPath('format-conformance/niivue_flair_nii_nrrd/FLAIR.nii.gz')));
    expect(cmp.maxCornerErrorMm).toBeLessThan(1e-3);
    expect(cmp.mismatched).toBe(0);
  });
});

describe.skipIf(!hasData('format-conformance/niivue_misc', 'format-conformance/itk_kmeans_t1'))('MetaImage and small edge cases', () => {
  it('compressed MHA: geometry as in its text header', async () => {
    const path = dataPath('format-conformance/niivue_misc/mha.mha');
    const header = readFileSync(path).subarray(0, 1024).toString('latin1');
    const field = (k: string) => new RegExp(`^${k} = (.*)$`, 'm').exec(header)![1]!.trim().split(/\s+/).map(Number);
    const vol = await readImageFile(path);
    expect(vol.size).toEqual(field('DimSize'));
    expect(vol.dataType).toBe('int16'); // MET_SHORT
    vol.spacingMm.forEach((s, i) => expect(s).toBeCloseTo(field('ElementSpacing')[i]!, 6));
    vol.originMm.forEach((s, i) => expect(s).toBeCloseTo(field('Offset')[i]!, 6));
    // MetaImage TransformMatrix is column-major (each triple is one axis): with this diagonal one it is direct.
    const tm = field('TransformMatrix');
    expect(vol.direction).toEqual([tm[0], tm[3], tm[6], tm[1], tm[4], tm[7], tm[2], tm[5], tm[8]]);
    expect(orientationCode(vol.direction)).toBe('RPI');
  });

  it.each([
    ['niivue_misc/low_res.nii.gz', [7, 5, 3]],
    ['itk_kmeans_t1/KmeansTest_T1UCharRaw.nii.gz', [128, 128, 62]],
    ['itk_kmeans_t1/KmeansTest_T1KmeansPrelimSegmentation.nii.gz', [128, 128, 62]],
  ] as const)('%s reads with its own affine and voxels', async (rel, size) => {
    const path = dataPath('format-conformance', rel);
    const vol = await readImageFile(path);
    expect(vol.size).toEqual(size);
    const cmp = compareWithReference(vol, readNiftiReference(path));
    expect(cmp.maxCornerErrorMm).toBeLessThan(1e-3);
    expect(cmp.mismatched).toBe(0);
  });

  it('minimal.nii.gz (no qform, no sform): ITK convention, identity LPS direction at the origin, pixdim spacing', async () => {
    const vol = await readImageFile(dataPath('format-conformance/niivue_misc/minimal.nii.gz'));
    expect(vol.size).toEqual([64, 64, 10]);
    expect(vol.spacingMm).toEqual([3, 3, 3]);
    expect(vol.originMm).toEqual([0, 0, 0]);
    expect(vol.direction).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('KmeansTest T1 is LSA as PROVENANCE says', async () => {
    const vol = await readImageFile(dataPath('format-conformance/itk_kmeans_t1/KmeansTest_T1UCharRaw.nii.gz'));
    // NIfTI "LSA" (axes point to L, S, A) = ITK code "RIP".
    expect(orientationCode(vol.direction)).toBe('RIP');
  });

  it('scanning the folder lists every image file as a volume and the licence as skipped', async () => {
    const scan = await scanPath(dataPath('format-conformance/niivue_misc'));
    expect(scan.volumes.map((v) => v.source.split('/').pop()).sort()).toEqual(['chris_t1.nii.gz', 'low_res.nii.gz', 'mha.mha', 'minimal.nii.gz']);
    const t1 = scan.volumes.find((v) => v.source.endsWith('chris_t1.nii.gz'))!;
    expect(t1.size).toEqual([188, 256, 190]);
  });
});

describe('detached headers (.mhd + .raw, .nhdr + .raw)', () => {
  it('reads both, and lists the data file as skipped', async () => {
    const dir = mkdtempSync(join(tmp, 'detached'));
    const values = Int16Array.from({ length: 24 }, (_, i) => i * 10 - 50);
    writeFileSync(join(dir, 'data.raw'), Buffer.from(values.buffer));
    writeFileSync(
      join(dir, 'a.mhd'),
      'ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nTransformMatrix = 0 1 0 -1 0 0 0 0 1\n' +
        'Offset = 1 2 3\nElementSpacing = 0.5 1.5 2.5\nDimSize = 2 3 4\nElementType = MET_SHORT\nElementDataFile = data.raw\n',
    );
    writeFileSync(
      join(dir, 'b.nhdr'),
      'NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 2 3 4\n' +
        'space directions: (0,0.5,0) (-1.5,0,0) (0,0,2.5)\nspace origin: (1,2,3)\nencoding: raw\nendian: little\ndata file: data.raw\n',
    );
    for (const name of ['a.mhd', 'b.nhdr']) {
      const vol = await readImageFile(join(dir, name));
      expect(vol.size).toEqual([2, 3, 4]);
      expect(Array.from(vol.data)).toEqual(Array.from(values));
      expect(vol.originMm).toEqual([1, 2, 3]);
      vol.spacingMm.forEach((x, i) => expect(x).toBeCloseTo([0.5, 1.5, 2.5][i]!, 9));
      // Column i of the direction is the first axis: +P for both files (MetaImage TransformMatrix lists axes).
      expect(vol.direction.map((x) => x + 0)).toEqual([0, -1, 0, 1, 0, 0, 0, 0, 1]);
    }
    const scan = await scanPath(dir);
    expect(scan.volumes.map((v) => v.source.split('/').pop()).sort()).toEqual(['a.mhd', 'b.nhdr']);
    expect(scan.skipped).toEqual([{ path: join(dir, 'data.raw'), reason: 'raw data file (read through its header file, if any)' }]);
  });
});

describe.skipIf(!hasData('format-conformance/niivue_flair_nii_nrrd'))('writeVolume', () => {
  const flair = () => readImageFile(dataPath('format-conformance/niivue_flair_nii_nrrd/FLAIR.nii.gz'));
  const sameVoxels = (a: Volume, b: Volume) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

  it.each(['.nii.gz', '.nii', '.nrrd', '.mha'])('round-trips geometry and voxels through %s, atomically', async (ext) => {
    const vol = await flair();
    const dir = mkdtempSync(join(tmp, 'w'));
    const out = join(dir, `flair${ext}`);
    await writeVolume(vol, out);
    expect(readdirSync(dir)).toEqual([`flair${ext}`]); // no temporary file left behind
    const back = await readImageFile(out);
    expect(back.size).toEqual(vol.size);
    expect(back.dataType).toBe(vol.dataType);
    expect(sameVoxels(back, vol)).toBe(true);
    for (let c = 0; c < 3; c++) {
      expect(back.spacingMm[c]).toBeCloseTo(vol.spacingMm[c]!, 5);
      expect(back.originMm[c]).toBeCloseTo(vol.originMm[c]!, 4);
    }
    back.direction.forEach((d, i) => expect(d).toBeCloseTo(vol.direction[i]!, 5));
    if (ext.startsWith('.nii')) {
      // Independent check of the LPS → RAS conversion on write.
      const cmp = compareWithReference(vol, readNiftiReference(out));
      expect(cmp.maxCornerErrorMm).toBeLessThan(1e-3);
      expect(cmp.mismatched).toBe(0);
    }
  });

  it('refuses other extensions with USAGE and a missing folder with IO, writing nothing', async () => {
    const vol = await flair();
    await expect(writeVolume(vol, join(tmp, 'x.png'))).rejects.toMatchObject({ code: 'USAGE' });
    await expect(writeVolume(vol, join(tmp, 'x.mhd'))).rejects.toMatchObject({ code: 'USAGE' });
    await expect(writeVolume(vol, join(tmp, 'missing-folder', 'x.nii.gz'))).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('missing-folder') });
    expect(existsSync(join(tmp, 'x.png'))).toBe(false);
    expect(existsSync(join(tmp, 'missing-folder'))).toBe(false);
  });

  it('writes int16 CT-like data and float32 with their types', async () => {
    for (const dataType of ['int16', 'float32'] as const) {
      const data = dataType === 'int16' ? Int16Array.from({ length: 24 }, (_, i) => i * 100 - 1024) : Float32Array.from({ length: 24 }, (_, i) => i / 3);
      const vol: Volume = { size: [2, 3, 4], spacingMm: [0.5, 0.75, 2], originMm: [-10, 20, 30], direction: [0, 0, 1, 1, 0, 0, 0, 1, 0], dataType, data };
      const out = join(tmp, `small-${dataType}.nii.gz`);
      await writeVolume(vol, out);
      const back = await readImageFile(out);
      expect(back.dataType).toBe(dataType);
      expect(Array.from(back.data)).toEqual(Array.from(data));
      expect(back.direction).toEqual(vol.direction);
      back.originMm.forEach((o, i) => expect(o).toBeCloseTo(vol.originMm[i]!, 5));
    }
  });
});
