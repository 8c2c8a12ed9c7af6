/**
 * Segmentation files on real data:
 * - dcmqi's DICOM SEGs of a 3-slice CT read onto that series and compared voxel for voxel with the 3D Slicer label
 *   maps of the same segmentations (including three partially overlapping segments);
 * - Delineate's own exports (DICOM SEG, .seg.nrrd, NIfTI + sidecar) of a tumour segmentation on the oblique TCIA
 *   T1 post-contrast MR: reopened onto the series exactly, checked against what highdicom/pydicom, slicerio/pynrrd
 *   and nibabel read from the same files (fixture test/fixtures/seg/exports-check.json, made by
 *   test/reference/seg/check_exports.py), and validated with dicom3tools' dciodvfy (errors fail) and dcmtk's dcmdump.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ijkToLps, transformPoint } from '../../../main/common/geometry';
import type { Segmentation } from '../../../main/common/segmentation';
import type { Vec3 } from '../../../main/common/volume';
import { scanPath } from '../../../main/core/io/index';
import { type OpenReference, encodeDicomSeg, openSegmentation, referenceFromVolumeInfo, readDicomSeg, readLabelmap, readSourceSeries, writeFileAtomic } from '../../../main/core/seg/index';
import { PROJECT_ROOT, dataPath, hasData } from '../../helpers/data';
import { STUDY, writeExports } from '../../reference/seg/exports';

const DCMQI = 'dicom-conformance/dcmqi_ct3slice_nrrd_seg';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'delineate-seg-int-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function maskOf(seg: Segmentation, value: number): Uint8Array {
  const s = seg.segments.find((x) => x.value === value)!;
  const l = seg.layers[s.layer]!;
  const out = new Uint8Array(l.length);
  for (let i = 0; i < l.length; i++) out[i] = l[i] === value ? 1 : 0;
  return out;
}

function centroidLps(seg: Segmentation, value: number): { count: number; centroid: Vec3 } {
  const m = maskOf(seg, value);
  const [nx, ny] = seg.size;
  const sum: Vec3 = [0, 0, 0];
  let count = 0;
  for (let p = 0; p < m.length; p++)
    if (m[p]) {
      sum[0] += p % nx;
      sum[1] += Math.floor(p / nx) % ny;
      sum[2] += Math.floor(p / (nx * ny));
      count++;
    }
  return { count, centroid: transformPoint(ijkToLps(seg), [sum[0] / count, sum[1] / count, sum[2] / count]) };
}

function referenceOf(src: Awaited<ReturnType<typeof readSourceSeries>>, name: string): OpenReference {
  return { grid: src.grid, seriesInstanceUid: src.seriesInstanceUid, frameOfReferenceUid: src.frameOfReferenceUid, name };
}

/** dciodvfy's report: errors and warnings (lines starting with "Error"/"Warning"). */
function dciodvfy(path: string): { errors: string[]; warnings: string[] } {
  const r = spawnSync('dciodvfy', [path], { encoding: 'utf8' });
  if (r.error) throw r.error;
  const lines = `${r.stdout}\n${r.stderr}`.split('\n');
  return { errors: lines.filter((l) => /^Error/.test(l)), warnings: lines.filter((l) => /^Warning/.test(l)) };
}

function toolAvailable(tool: string): boolean {
  const ok = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  if (!ok && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`${tool} is not installed (CI=true: this check must run)`);
  return ok;
}

describe.skipIf(!hasData(DCMQI))('dcmqi CT 3-slice: DICOM SEG vs 3D Slicer label maps', () => {
  it('liver.dcm and partial_overlaps.dcm land on the CT grid exactly where the Slicer label maps are', async () => {
    const ct = (await scanPath(dataPath(DCMQI, 'ct-3slice'))).volumes;
    expect(ct.length).toBe(1);
    const src = await readSourceSeries(ct[0]!);
    const ref = referenceOf(src, 'ct-3slice');
    const liver = await readDicomSeg(dataPath(DCMQI, 'liver.dcm'), ref);
    expect(liver.warnings).toEqual([]);
    expect(liver.segmentation.segments.map((s) => [s.value, s.name, s.code?.meaning])).toEqual([[1, 'Liver', 'Liver']]);
    // dcmqi stored Slicer's liver colour (221, 130, 101) as CIELab 41661\41167\40792.
    liver.segmentation.segments[0]!.color.forEach((c, i) => expect(Math.abs(c - [221, 130, 101][i]!)).toBeLessThanOrEqual(1));
    const liverMap = await readLabelmap(dataPath(DCMQI, 'liver_seg.nrrd'), { reference: { grid: src.grid, name: 'ct-3slice' } });
    const a = maskOf(liver.segmentation, 1);
    const b = liverMap.segmentation.layers[0]!;
    let n = 0;
    let liverDiff = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== (b[i] === 1 ? 1 : 0)) liverDiff++;
      n += a[i]!;
    }
    expect(liverDiff).toBe(0);
    expect(n).toBe(107098);

    const overlaps = await readDicomSeg(dataPath(DCMQI, 'partial_overlaps.dcm'), ref);
    expect(overlaps.segmentation.segments.length).toBe(5);
    expect(overlaps.segmentation.layers.length).toBeGreaterThan(1); // overlapping segments kept, in layers
    // Slicer exported the 5 segments into three label maps (values = segment numbers): 1, 4, 5 | 2 | 3.
    const files: [string, number[]][] = [
      ['partial_overlaps-1.nrrd', [1, 4, 5]],
      ['partial_overlaps-2.nrrd', [2]],
      ['partial_overlaps-3.nrrd', [3]],
    ];
    let overlapVoxels = 0;
    const union = new Uint8Array(a.length);
    for (const [file, values] of files) {
      const lm = (await readLabelmap(dataPath(DCMQI, file), { reference: { grid: src.grid, name: 'ct-3slice' } })).segmentation.layers[0]!;
      for (const v of values) {
        const m = maskOf(overlaps.segmentation, v);
        let diff = 0;
        let count = 0;
        for (let i = 0; i < m.length; i++) {
          if ((lm[i] === v ? 1 : 0) !== m[i]) diff++;
          if (m[i]) {
            count++;
            if (union[i]) overlapVoxels++;
            union[i] = 1;
          }
        }
        expect(diff, `${file} value ${v}`).toBe(0);
        expect(count, `${file} value ${v}`).toBeGreaterThan(0);
      }
    }
    expect(overlapVoxels).toBeGreaterThan(0);
    // Without the CT series, the grid is rebuilt from the frames: same size and origin, same voxels.
    const alone = await readDicomSeg(dataPath(DCMQI, 'liver.dcm'));
    expect(alone.segmentation.size).toEqual(src.grid.size);
    alone.segmentation.originMm.forEach((x, c) => expect(x).toBeCloseTo(src.grid.originMm[c]!, 3));
    expect(Buffer.from(maskOf(alone.segmentation, 1)).equals(Buffer.from(a))).toBe(true);
  });

  it('our SEG of the dcmqi segments passes dciodvfy without errors and round-trips', async () => {
    if (!toolAvailable('dciodvfy')) return;
    const src = await readSourceSeries((await scanPath(dataPath(DCMQI, 'ct-3slice'))).volumes[0]!);
    const ref = referenceOf(src, 'ct-3slice');
    const overlaps = (await readDicomSeg(dataPath(DCMQI, 'partial_overlaps.dcm'), ref)).segmentation;
    const path = join(dir, 'ct-overlaps.dcm');
    await writeFileAtomic(path, encodeDicomSeg(overlaps, src).bytes);
    const v = dciodvfy(path);
    expect(v.errors).toEqual([]);
    console.log(`dciodvfy warnings (ct-3slice SEG):\n${v.warnings.join('\n') || '(none)'}`);
    const back = await openSegmentation(path, ref);
    for (const s of overlaps.segments) expect(Buffer.from(maskOf(back.segmentation, s.value)).equals(Buffer.from(maskOf(overlaps, s.value)))).toBe(true);
  });
});

const ENHANCED = 'dicom-conformance/niivue_dicom/enh_multiframe_mr.dcm';

describe.skipIf(!hasData(ENHANCED))('DICOM SEG on an enhanced multi-frame source', () => {
  it('references source frames by ReferencedFrameNumber, passes dciodvfy and round-trips', async () => {
    const scan = await scanPath(dataPath(ENHANCED));
    const src = await readSourceSeries(scan.volumes[0]!);
    expect(src.slices.length).toBe(src.grid.size[2]);
    expect(src.slices.every((s) => s.frameNumber !== undefined && s.sopInstanceUid === src.slices[0]!.sopInstanceUid)).toBe(true);
    expect(new Set(src.slices.map((s) => s.frameNumber)).size).toBe(src.slices.length);
    const n = src.grid.size[0] * src.grid.size[1] * src.grid.size[2];
    const layer = new Uint8Array(n);
    for (let i = 0; i < n; i += 3) layer[i] = 1;
    const seg: Segmentation = { ...src.grid, dataType: 'uint8', layers: [layer], segments: [{ value: 1, name: 'Every third voxel', color: [10, 200, 30], layer: 0 }] };
    const path = join(dir, 'enhanced-seg.dcm');
    const bytes = encodeDicomSeg(seg, src).bytes;
    await writeFileAtomic(path, bytes);
    // Frame k's source is frame number (1-based) of the one instance, in the order the io planner sorted them.
    if (!toolAvailable('dcmdump')) return;
    const text = execFileSync('dcmdump', ['+P', '0008,1160', path], { encoding: 'utf8' });
    expect(text.trim().split('\n').map((l) => Number(/\[(\d+)\]/.exec(l)![1]))).toEqual(src.slices.map((s) => s.frameNumber));
    if (toolAvailable('dciodvfy')) expect(dciodvfy(path).errors).toEqual([]);
    const back = await openSegmentation(path, referenceOf(src, 'enhanced MR'));
    expect(Buffer.from(back.segmentation.layers[0]!).equals(Buffer.from(layer))).toBe(true);
  });
});

describe.skipIf(!hasData(`${STUDY}/T1post`, `${STUDY}/MaskTumor`, DCMQI))('exports of a tumour segmentation on the oblique TCIA MR', () => {
  it('reopen exactly, match highdicom/slicerio/nibabel, pass dciodvfy and dcmdump, refuse another series', async () => {
    const e = await writeExports(dir);
    const fixture = JSON.parse(await readFile(join(PROJECT_ROOT, 'test/fixtures/seg/exports-check.json'), 'utf8'));
    const seg = e.segmentation;
    const ref = referenceOf(e.source, 'T1post');
    // The reference built from the scan's VolumeInfo alone is the same.
    const fromInfo = referenceFromVolumeInfo((await scanPath(dataPath(STUDY, 'T1post'))).volumes[0]!);
    expect([fromInfo.grid, fromInfo.seriesInstanceUid, fromInfo.frameOfReferenceUid]).toEqual([ref.grid, ref.seriesInstanceUid, ref.frameOfReferenceUid]);

    // The SEG is byte-for-byte the file the Python readers saw.
    const segBytes = await readFile(e.segPath);
    expect(createHash('sha256').update(segBytes).digest('hex')).toBe(fixture.dicom_seg.sha256);
    const d = fixture.dicom_seg;
    expect(d.referenced_series).toEqual([e.source.seriesInstanceUid]);
    expect(d.referenced_instances).toBe(e.source.slices.length);
    expect(d.frame_of_reference_uid).toBe(e.source.frameOfReferenceUid);
    expect(d.segments_overlap).toBe('YES');
    for (const [i, s] of seg.segments.entries()) {
      const mine = centroidLps(seg, s.value);
      const hd = d.segments[i];
      expect(hd.label).toBe(s.name);
      expect(hd.voxel_count).toBe(mine.count);
      hd.centroid_lps_mm.forEach((x: number, c: number) => expect(Math.abs(x - mine.centroid[c]!)).toBeLessThan(1e-3));
      hd.highdicom_rgb.forEach((x: number, c: number) => expect(Math.abs(x - s.color[c]!)).toBeLessThanOrEqual(1));
      const sl = fixture.slicer_seg.segments[i];
      expect([sl.name, sl.label_value, sl.layer]).toEqual([s.name, s.value, s.layer]);
      expect(sl.voxel_count).toBe(mine.count);
      sl.centroid_lps_mm.forEach((x: number, c: number) => expect(Math.abs(x - mine.centroid[c]!)).toBeLessThan(1e-3));
      sl.color.forEach((x: number, c: number) => expect(Math.abs(x * 255 - s.color[c]!)).toBeLessThan(0.02)); // 4 decimals in the fixture
    }
    expect(d.segments[0].type).toEqual(seg.segments[0]!.code);
    expect(d.segments[1].algorithm_name).toBe('Delineate sphere brush');
    expect(fixture.slicer_seg.space).toBe('left-posterior-superior');
    expect(fixture.slicer_seg.sizes).toEqual([2, ...seg.size]);
    const t = centroidLps(seg, 1);
    expect(fixture.nifti.voxel_counts['1']).toBe(t.count);
    fixture.nifti.centroid_lps_mm['1'].forEach((x: number, c: number) => expect(Math.abs(x - t.centroid[c]!)).toBeLessThan(1e-3));
    expect(fixture.nifti.sidecar_names).toEqual({ '1': 'Enhancing tumour' });

    // Reopen each export onto the series: identical voxels (overlap kept in the SEG and .seg.nrrd).
    for (const path of [e.segPath, e.slicerPath]) {
      const r = await openSegmentation(path, ref);
      expect(r.warnings).toEqual([]);
      expect(r.segmentation.segments.map((s) => [s.value, s.name])).toEqual(seg.segments.map((s) => [s.value, s.name]));
      for (const s of seg.segments) expect(Buffer.from(maskOf(r.segmentation, s.value)).equals(Buffer.from(maskOf(seg, s.value))), `${path} segment ${s.value}`).toBe(true);
    }
    const nii = await openSegmentation(e.niftiPath, ref);
    expect(Buffer.from(nii.segmentation.layers[0]!).equals(Buffer.from(seg.layers[0]!))).toBe(true);

    // Validators.
    if (toolAvailable('dciodvfy')) {
      const v = dciodvfy(e.segPath);
      expect(v.errors).toEqual([]);
      console.log(`dciodvfy warnings (T1post SEG):\n${v.warnings.join('\n') || '(none)'}`);
    }
    if (toolAvailable('dcmdump')) expect(() => execFileSync('dcmdump', ['-q', e.segPath], { stdio: 'pipe' })).not.toThrow();

    // The same SEG re-encoded by dcmtk as Implicit VR Little Endian, with defined and with undefined lengths.
    if (toolAvailable('dcmconv'))
      for (const lengths of ['+e', '-e']) {
        const implicit = join(dir, `implicit${lengths}.dcm`);
        execFileSync('dcmconv', ['+ti', lengths, e.segPath, implicit], { stdio: 'pipe' });
        const r = await openSegmentation(implicit, ref);
        expect(r.segmentation.segments.map((s) => [s.value, s.name, s.color, s.code])).toEqual((await openSegmentation(e.segPath, ref)).segmentation.segments.map((s) => [s.value, s.name, s.color, s.code]));
        for (const s of seg.segments) expect(Buffer.from(maskOf(r.segmentation, s.value)).equals(Buffer.from(maskOf(seg, s.value))), `implicit ${lengths} segment ${s.value}`).toBe(true);
      }

    // A SEG for another series (dcmqi's CT liver) opened on the MR: a clear error naming both UIDs.
    await expect(openSegmentation(dataPath(DCMQI, 'liver.dcm'), ref)).rejects.toThrow(
      new RegExp(`references series 1\\.2\\.392\\.200103\\.20080913\\.113635\\.1\\.2009\\.6\\.22\\.21\\.43\\.10\\.23430\\.1, but the open series T1post is ${e.source.seriesInstanceUid.replace(/\./g, '\\.')}`),
    );
    // A labelmap of another grid (the CT's Slicer label map) on the MR: GEOMETRY naming both.
    await expect(openSegmentation(dataPath(DCMQI, 'liver_seg.nrrd'), ref)).rejects.toThrow(/liver_seg\.nrrd is on another grid than T1post \(size 512×512×3 vs 260×320×24\)/);
  });
});
