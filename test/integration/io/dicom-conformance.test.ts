/**
 * DICOM reading against real data and dcm2niix references (../shared/data/dicom-conformance, tcia-brain-tumor-
 * progression, totalseg-example). Geometry is compared through physical LPS positions (the reference NIfTI
 * affine is converted RAS→LPS by the test's own reader, not by itk-wasm); voxels are compared one by one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDicomHeader } from '../../../main/core/io/dicom/header';
import { readVolume, scanPath } from '../../../main/core/io/index';
import { dataPath, hasData } from '../../helpers/data';
import { compareWithReference, hasCommand, readNiftiReference, runDcm2niix } from './reference';

const tmp = mkdtempSync(join(tmpdir(), 'delineate-dicom-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TS_EXPECTED: Record<number, string> = {
  1: '1.2.840.10008.1.2.1',
  2: '1.2.840.10008.1.2',
  3: '1.2.840.10008.1.2.2',
  4: '1.2.840.10008.1.2.5',
  5: '1.2.840.10008.1.2.4.70',
  6: '1.2.840.10008.1.2.4.70', // README says .80; the file header says .70 (see PROVENANCE.txt)
  7: '1.2.840.10008.1.2.4.80',
  8: '1.2.840.10008.1.2.4.80',
  9: '1.2.840.10008.1.2.4.90',
};

describe.skipIf(!hasData('dicom-conformance/dcm_qa_ts'))('dcm_qa_ts: one Siemens mosaic in 9 transfer syntaxes vs dcm2niix', () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
    it(`${n}.dcm (${TS_EXPECTED[n]}) matches Ref/${n}.nii in geometry and every voxel`, async () => {
      const file = dataPath('dicom-conformance/dcm_qa_ts/In', `${n}.dcm`);
      const h = await readDicomHeader(file);
      expect(h.kind).toBe('image');
      if (h.kind === 'image') expect(h.header.transferSyntax).toBe(TS_EXPECTED[n]);
      const scan = await scanPath(file);
      expect(scan.volumes).toHaveLength(1);
      const info = scan.volumes[0]!;
      expect(info.size).toEqual([64, 64, 35]); // mosaic 384×384 unpacked into 35 slices of 64×64
      const vol = await readVolume(info);
      const ref = readNiftiReference(dataPath('dicom-conformance/dcm_qa_ts/Ref', `${n}.nii`));
      const cmp = compareWithReference(vol, ref);
      expect(cmp.maxCornerErrorMm).toBeLessThan(0.01);
      expect(cmp.compared).toBe(64 * 64 * 35);
      expect(cmp.mismatched).toBe(0);
    });
  }
});

describe.skipIf(!hasData('dicom-conformance/pydicom_testfiles'))('pydicom MR_small in every syntax decodes to the same voxels', () => {
  const variants = [
    'MR_small_implicit.dcm',
    'MR_small_bigendian.dcm',
    'MR_small_expb.dcm',
    'MR_small_RLE.dcm',
    'MR_small_jp2klossless.dcm',
    'MR_small_jpeg_ls_lossless.dcm',
    'MR_small_padded.dcm',
  ];
  it.each(variants)('%s equals MR_small.dcm (explicit LE)', async (name) => {
    const base = (await scanPath(dataPath('dicom-conformance/pydicom_testfiles/MR_small.dcm'))).volumes[0]!;
    const baseVol = await readVolume(base);
    const scan = await scanPath(dataPath('dicom-conformance/pydicom_testfiles', name));
    expect(scan.volumes).toHaveLength(1);
    const v = scan.volumes[0]!;
    expect(v.size).toEqual(base.size);
    expect(v.originMm).toEqual(base.originMm);
    expect(v.direction).toEqual(base.direction);
    const vol = await readVolume(v);
    expect(vol.dataType).toBe('int16');
    expect(Array.from(vol.data)).toEqual(Array.from(baseVol.data));
  });
});

describe.skipIf(!hasData('dicom-conformance/niivue_dicom'))('enhanced multi-frame MR and a 3-slice series vs dcm2niix run now', () => {
  it.skipIf(!hasCommand('dcm2niix'))('enh_multiframe_mr.dcm: per-frame positions give the dcm2niix grid and voxels', async () => {
    const out = join(tmp, 'enh');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    const refs = runDcm2niix(dataPath('dicom-conformance/niivue_dicom'), out);
    const scan = await scanPath(dataPath('dicom-conformance/niivue_dicom'));
    expect(scan.volumes).toHaveLength(2);
    const enh = scan.volumes.find((v) => v.files.some((f) => f.endsWith('enh_multiframe_mr.dcm')))!;
    expect(enh.size).toEqual([64, 64, 6]);
    expect(enh.spacingMm[2]).toBeCloseTo(2.4, 3);
    const mpr = scan.volumes.find((v) => v !== enh)!;
    expect(mpr.files).toHaveLength(3);
    for (const [info, pattern] of [
      [enh, /REST1/],
      [mpr, /t1_mpr/],
    ] as const) {
      const refPath = refs.find((r) => pattern.test(r));
      expect(refPath, `dcm2niix output for ${info.description}`).toBeDefined();
      const cmp = compareWithReference(await readVolume(info), readNiftiReference(refPath!));
      expect(cmp.maxCornerErrorMm).toBeLessThan(0.01);
      expect(cmp.mismatched).toBe(0);
    }
  });
});

describe.skipIf(!hasData('dicom-conformance/niivue_dicom', 'tcia-brain-tumor-progression/dicom'))('the same images recompressed with DCMTK decode identically', () => {
  const enh = () => dataPath('dicom-conformance/niivue_dicom/enh_multiframe_mr.dcm');
  it.skipIf(!hasCommand('dcmcrle') || !hasCommand('dcmcjpls') || !hasCommand('dcmcjpeg'))(
    'enhanced multi-frame MR as RLE, JPEG-LS and JPEG lossless (per-frame fragments)',
    async () => {
      const base = await readVolume((await scanPath(enh())).volumes[0]!);
      for (const [tool, args, ts] of [
        ['dcmcrle', [], '1.2.840.10008.1.2.5'],
        ['dcmcjpls', [], '1.2.840.10008.1.2.4.80'],
        ['dcmcjpeg', ['+e1'], '1.2.840.10008.1.2.4.70'],
      ] as const) {
        const out = join(tmp, `enh-${tool}.dcm`);
        execFileSync(tool, [...args, enh(), out]);
        const h = await readDicomHeader(out);
        expect(h.kind === 'image' && h.header.transferSyntax).toBe(ts);
        const scan = await scanPath(out);
        const vol = await readVolume(scan.volumes[0]!);
        expect(scan.volumes[0]!.originMm).toEqual((await scanPath(enh())).volumes[0]!.originMm);
        expect(Buffer.from(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength).equals(Buffer.from(base.data.buffer, base.data.byteOffset, base.data.byteLength))).toBe(true);
      }
    },
  );

  it.skipIf(!hasCommand('dcmcjpls'))('a 22-slice series as JPEG-LS, files in non-anatomical order, batch-decoded in slice order', async () => {
    const src = dataPath('tcia-brain-tumor-progression/dicom/PGBM-003_03-29-1995/T1post');
    const dir = join(tmp, 'jls-series');
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(src)) execFileSync('dcmcjpls', [join(src, f), join(dir, f)]);
    const base = await readVolume((await scanPath(src)).volumes[0]!);
    const scan = await scanPath(dir);
    expect(scan.volumes).toHaveLength(1);
    const vol = await readVolume(scan.volumes[0]!);
    expect(Buffer.from(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength).equals(Buffer.from(base.data.buffer, base.data.byteOffset, base.data.byteLength))).toBe(true);
  });
});

describe.skipIf(!hasData('dicom-conformance/pydicom_testfiles/dicomdirtests/98892003/MR2'))('3-plane localizer series', () => {
  it('splits each series of a real 3-plane scout into axial, coronal and sagittal volumes', async () => {
    const scan = await scanPath(dataPath('dicom-conformance/pydicom_testfiles/dicomdirtests/98892003/MR2'));
    // Two scout series (1 file each plane) + one FAST LOCALIZER slice.
    const pilots = scan.volumes.filter((v) => v.description.startsWith('T/S/C RF FAST PILOT'));
    expect(pilots).toHaveLength(6);
    const bySeries = new Map<string, string[]>();
    for (const v of pilots) {
      const key = v.study!.seriesInstanceUid!;
      bySeries.set(key, [...(bySeries.get(key) ?? []), /axial|coronal|sagittal/.exec(v.description)![0]]);
    }
    expect(bySeries.size).toBe(2);
    for (const planes of bySeries.values()) expect(planes.sort()).toEqual(['axial', 'coronal', 'sagittal']);
    // Each plane's normal is the expected LPS axis (third direction column).
    for (const v of pilots) {
      const n = [v.direction[2], v.direction[5], v.direction[8]].map((x) => Math.round(Math.abs(x)));
      const plane = /axial|coronal|sagittal/.exec(v.description)![0];
      expect(n).toEqual(plane === 'axial' ? [0, 0, 1] : plane === 'coronal' ? [0, 1, 0] : [1, 0, 0]);
    }
    expect(new Set(scan.volumes.map((v) => v.id)).size).toBe(scan.volumes.length);
  });
});

describe.skipIf(!hasData('dicom-conformance'))('skipped and broken files', () => {
  it('lists DICOM SEG as "segmentation object", DICOMDIR and non-DICOM files as skipped with reasons', async () => {
    const scan = await scanPath(dataPath('dicom-conformance/dcmqi_ct3slice_nrrd_seg'));
    const reasons = new Map(scan.skipped.map((s) => [s.path.split('/').pop()!, s.reason]));
    expect(reasons.get('liver.dcm')).toBe('segmentation object');
    expect(reasons.get('partial_overlaps.dcm')).toBe('segmentation object');
    expect(reasons.get('LICENSE.BSD-3.txt')).toMatch(/not DICOM/);
    // The CT series and the 8 label-map NRRDs on its grid are volumes.
    const ct = scan.volumes.find((v) => v.modality === 'CT')!;
    expect(ct.size).toEqual([512, 512, 3]);
    expect(scan.volumes.filter((v) => v.source.endsWith('.nrrd'))).toHaveLength(8);
    const dicomdir = await scanPath(dataPath('dicom-conformance/pydicom_testfiles/dicomdirtests/DICOMDIR'));
    expect(dicomdir.volumes).toHaveLength(0);
    expect(dicomdir.skipped[0]!.reason).toMatch(/DICOMDIR/);
  });

  it('a truncated DICOM (MR_truncated.dcm) is listed as broken, naming the problem', async () => {
    const file = dataPath('dicom-conformance/pydicom_testfiles/MR_truncated.dcm');
    const scan = await scanPath(file);
    expect(scan.volumes).toHaveLength(0);
    expect(scan.skipped).toEqual([{ path: file, reason: expect.stringMatching(/broken DICOM: pixel data is truncated/) }]);
  });

  it('the CT in ct-3slice matches its Slicer label map grid (NRRD, LPS) exactly', async () => {
    const scan = await scanPath(dataPath('dicom-conformance/dcmqi_ct3slice_nrrd_seg'));
    const ct = scan.volumes.find((v) => v.modality === 'CT')!;
    const seg = scan.volumes.find((v) => v.source.endsWith('liver_seg.nrrd'))!;
    expect(ct.size).toEqual(seg.size);
    for (let c = 0; c < 3; c++) {
      expect(ct.spacingMm[c]).toBeCloseTo(seg.spacingMm[c]!, 4);
      expect(ct.originMm[c]).toBeCloseTo(seg.originMm[c]!, 3);
    }
    ct.direction.forEach((d, i) => expect(d).toBeCloseTo(seg.direction[i]!, 6));
    const vol = await readVolume(ct);
    expect(vol.dataType).toBe('int16');
    let min = Infinity;
    for (const v of vol.data) min = Math.min(min, v);
    expect(min).toBeLessThan(-1000); // HU: air, rescale intercept -1024 applied
  });
});

describe.skipIf(!hasData('tcia-brain-tumor-progression/dicom', 'tcia-brain-tumor-progression/nifti'))(
  'TCIA oblique, gapped, unsorted MR series vs their dcm2niix NIfTI',
  () => {
    const cases = [
      ['PGBM-001_04-02-1992', 'T1post'],
      ['PGBM-001_04-02-1992', 'FLAIRreg'],
      ['PGBM-001_04-02-1992', 'MaskTumor'],
      ['PGBM-001_11-19-1991', 'T1post'],
      ['PGBM-003_03-29-1995', 'T1post'],
      ['PGBM-003_03-29-1995', 'MaskTumor'],
    ] as const;
    it.each(cases)('%s %s', async (study, series) => {
      const scan = await scanPath(dataPath('tcia-brain-tumor-progression/dicom', study, series));
      expect(scan.volumes).toHaveLength(1);
      const info = scan.volumes[0]!;
      expect(info.warnings).toEqual([]);
      // Oblique: the slice normal is tilted away from every LPS axis.
      expect(Math.max(Math.abs(info.direction[2]), Math.abs(info.direction[5]), Math.abs(info.direction[8]))).toBeLessThan(0.9999);
      const vol = await readVolume(info);
      const ref = readNiftiReference(dataPath('tcia-brain-tumor-progression/nifti', study, `${study}_${series}.nii.gz`));
      const cmp = compareWithReference(vol, ref);
      expect(cmp.maxCornerErrorMm).toBeLessThan(0.01);
      expect(cmp.mismatched).toBe(0);
    });
  },
);

describe.skipIf(!hasData('tcia-brain-tumor-progression/dicom', 'tcia-brain-tumor-progression/nifti'))('delineate convert', () => {
  it('writes an oblique DICOM series to .nii.gz that matches dcm2niix in geometry and voxels', async () => {
    const { main } = await import('../../../main/cli/index');
    const out = join(tmp, 'convert.nii.gz');
    let stdout = '';
    let stderr = '';
    const code = await main(['convert', dataPath('tcia-brain-tumor-progression/dicom/PGBM-003_03-29-1995/T1post'), out], {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      isTTY: false,
      signal: new AbortController().signal,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ output: out, size: [280, 320, 22], dataType: 'uint16', warnings: [] });
    // Both files read by the test's own NIfTI reader: same physical grid, same voxels.
    const ours = readNiftiReference(out);
    const ref = readNiftiReference(dataPath('tcia-brain-tumor-progression/nifti/PGBM-003_03-29-1995/PGBM-003_03-29-1995_T1post.nii.gz'));
    const asVolume = {
      size: ours.size,
      spacingMm: [0, 1, 2].map((c) => Math.hypot(ours.ijkToLps[c]!, ours.ijkToLps[4 + c]!, ours.ijkToLps[8 + c]!)) as [number, number, number],
      originMm: [ours.ijkToLps[3]!, ours.ijkToLps[7]!, ours.ijkToLps[11]!] as [number, number, number],
      direction: [0, 1, 2].flatMap((r) => [0, 1, 2].map((c) => ours.ijkToLps[r * 4 + c]! / Math.hypot(ours.ijkToLps[c]!, ours.ijkToLps[4 + c]!, ours.ijkToLps[8 + c]!))) as never,
      dataType: 'float64' as const,
      data: ours.values,
    };
    const cmp = compareWithReference(asVolume, ref);
    expect(cmp.maxCornerErrorMm).toBeLessThan(0.01);
    expect(cmp.mismatched).toBe(0);
  });
});

describe.skipIf(!hasData('totalseg-example/example_ct_dicom', 'totalseg-example/dcm2niix_ref'))('TotalSegmentator CT: JPEG 2000, overlapping slices', () => {
  it('matches dcm2niix in geometry and HU voxels', async () => {
    const scan = await scanPath(dataPath('totalseg-example/example_ct_dicom'));
    expect(scan.volumes).toHaveLength(1);
    const info = scan.volumes[0]!;
    expect(info.size).toEqual([512, 512, 20]);
    expect(info.spacingMm[2]).toBeCloseTo(2, 4); // from positions, not SliceThickness (3 mm)
    expect(info.dataType).toBe('int16');
    const vol = await readVolume(info);
    const cmp = compareWithReference(vol, readNiftiReference(dataPath('totalseg-example/dcm2niix_ref/example_ct_dicom_dcm2niix.nii.gz')));
    expect(cmp.maxCornerErrorMm).toBeLessThan(0.01);
    expect(cmp.mismatched).toBe(0);
  });
});
