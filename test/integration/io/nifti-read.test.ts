/**
 * The direct NIfTI reader (main/core/io/nifti-read.ts) against itk-wasm on every NIfTI file in ../shared/data: where
 * it takes a file, the Volume is the one itk-wasm gives, voxel bytes and geometry bit for bit (and its header-only
 * read the same geometry and voxel type); it takes the common
 * ones (sform files of TotalSegmentator, the PGBM studies, the head CT) and leaves to itk-wasm the cases whose rules
 * are ITK's (qform files, intensity scaling, big-endian, 2-D/4-D). Edited headers check each refusal.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { readImageNode } from '@itk-wasm/image-io';
import { describe, expect, it } from 'vitest';
import type { Volume } from '../../../main/common/volume';
import { readImageFile, readImageFileHeader } from '../../../main/core/io/index';
import { volumeFromItkImage } from '../../../main/core/io/itk';
import { readNiftiDirect, readNiftiHeaderDirect, volumeFromNifti1 } from '../../../main/core/io/nifti-read';
import { dataPath, hasData } from '../../helpers/data';

const PGBM = 'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_T1post.nii.gz';

const sameVolume = (a: Volume, b: Volume): boolean =>
  a.dataType === b.dataType &&
  [a.size, a.spacingMm, a.originMm, a.direction].every((x, k) => {
    const y = [b.size, b.spacingMm, b.originMm, b.direction][k]!;
    return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  }) &&
  Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

describe.skipIf(!hasData('tcia-brain-tumor-progression', 'totalseg-example', 'format-conformance'))('direct NIfTI reader = itk-wasm', () => {
  const files = execFileSync('find', [dataPath(), '-name', '*.nii', '-o', '-name', '*.nii.gz'], { encoding: 'utf8' }).trim().split('\n').sort();

  it('every NIfTI file in the data: the same Volume as itk-wasm where taken; the common ones are taken', { timeout: 600_000 }, async () => {
    const taken: string[] = [];
    for (const f of files) {
      const direct = await readNiftiDirect(f);
      if (!direct) continue;
      taken.push(f);
      const image = await readImageNode(f);
      const itk = volumeFromItkImage(image, f);
      expect(sameVolume(direct, itk), f).toBe(true);
      // The header alone (folder scans, readImageFileHeader) gives the same grid and voxel type.
      const header = await readNiftiHeaderDirect(f);
      expect(header && sameVolume({ ...header, data: itk.data }, itk), f).toBe(true);
    }
    const rel = taken.map((f) => f.slice(dataPath().length + 1));
    // Files whose geometry is a scanner-anatomical sform (or an sform alone): taken.
    for (const f of [PGBM, 'totalseg-example/example_ct.nii.gz', 'invesalius-cranium-ct/cranium_ct.nii.gz', 'meshnet-onnx-gwm/t1_crop.nii.gz']) expect(rel).toContain(f);
    // ITK's own rules: a qform with an aligned sform (ITK takes the qform), scaled intensities (float32 in ITK).
    for (const f of ['format-conformance/niivue_flair_nii_nrrd/FLAIR.nii.gz', 'format-conformance/niivue_nifti_space_48_orientations/RAS.nii.gz']) expect(rel).not.toContain(f);
    expect(taken.length).toBeGreaterThanOrEqual(40);
  });

  it('readImageFile / readImageFileHeader give the direct reader’s Volume / geometry for a file it takes', async () => {
    const viaApi = await readImageFile(dataPath(PGBM));
    const image = await readImageNode(dataPath(PGBM));
    const itk = volumeFromItkImage(image, PGBM);
    expect(sameVolume(viaApi, itk)).toBe(true);
    const header = await readImageFileHeader(dataPath(PGBM));
    expect(sameVolume({ ...header, data: itk.data }, itk)).toBe(true);
  });

  it('refuses what it does not read as ITK would: scaling, forms, endianness, dimensions, types, truncation', () => {
    const original = gunzipSync(readFileSync(dataPath(PGBM)));
    expect(volumeFromNifti1(original)).toBeDefined();
    const edited = (edit: (b: Buffer) => void): Volume | undefined => {
      const b = Buffer.from(original);
      edit(b);
      return volumeFromNifti1(b);
    };
    expect(edited((b) => b.writeFloatLE(2, 112))).toBeUndefined(); // scl_slope 2
    expect(edited((b) => b.writeFloatLE(-1024, 116))).toBeUndefined(); // scl_inter
    expect(edited((b) => b.writeFloatLE(0, 112))).toBeDefined(); // slope 0 = unset
    expect(edited((b) => b.writeInt16LE(2, 254))).toBeUndefined(); // aligned sform beside a qform: ITK's choice
    expect(edited((b) => b.writeInt16LE(0, 254))).toBeUndefined(); // qform only
    expect(edited((b) => (b.writeInt16LE(0, 252), b.writeInt16LE(2, 254)))).toBeDefined(); // sform only
    expect(edited((b) => b.writeInt32BE(348, 0))).toBeUndefined(); // big-endian
    expect(edited((b) => b.writeInt16LE(4, 40))).toBeUndefined(); // 4-D
    expect(edited((b) => b.writeInt16LE(1024, 70))).toBeUndefined(); // int64
    expect(edited((b) => b.writeFloatLE(b.readFloatLE(280) * 1.01, 280))).toBeUndefined(); // column length ≠ pixdim
    expect(edited((b) => b.writeFloatLE(b.readFloatLE(280) + 0.01, 284))).toBeUndefined(); // columns not orthogonal
    expect(edited((b) => b.write('ni1\0', 344, 'latin1'))).toBeUndefined(); // .hdr/.img pair
    expect(edited((b) => (b[123] = (b[123]! & ~7) | 1))).toBeUndefined(); // lengths in metres: ITK scales them
    expect(edited((b) => (b[123] = (b[123]! & ~7) | 3))).toBeUndefined(); // microns
    expect(edited((b) => (b[123] = b[123]! & ~7))).toBeDefined(); // unspecified: mm, as ITK
    expect(edited((b) => b.writeInt16LE(1005, 68))).toBeUndefined(); // symmetric-matrix intent
    expect(volumeFromNifti1(original.subarray(0, original.length - 1))).toBeUndefined(); // truncated
  });
});
