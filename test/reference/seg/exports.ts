/**
 * The segmentation exports that the integration tests check and that check_exports.py reads with other tools'
 * readers (highdicom/pydicom, pynrrd/slicerio, nibabel): on the real oblique T1 post-contrast MR of PGBM-001
 * (04-02-1992), segment 1 = the expert tumour mask (MaskTumor series), segment 2 = a 12 mm sphere around the
 * tumour's centroid that overlaps it (so the exports must keep overlapping segments in layers).
 *
 * Deterministic: fixed UIDs and date, so the DICOM SEG's bytes are reproducible.
 *
 *   npx tsx test/reference/seg/exports.ts <out-folder>    writes seg.dcm, seg.seg.nrrd, tumour.nii.gz (+ sidecar)
 */
import { join } from 'node:path';
import type { Segmentation } from '../../../main/common/segmentation';
import { ijkToLps, transformPoint } from '../../../main/common/geometry';
import type { Vec3 } from '../../../main/common/volume';
import { applyDelta, paintSphere } from '../../../main/core/edit/index';
import { readSingleVolume, scanPath } from '../../../main/core/io/index';
import { type SourceSeries, encodeDicomSeg, readSourceSeries, writeFileAtomic, writeLabelmap, writeSlicerSeg } from '../../../main/core/seg/index';
import { dataPath } from '../../helpers/data';

export const STUDY = 'tcia-brain-tumor-progression/dicom/PGBM-001_04-02-1992';
export const FIXED = { uids: { series: '2.25.100', instance: '2.25.101', dimensionOrganization: '2.25.102' }, now: new Date(Date.UTC(2026, 0, 1, 12, 0, 0)) };

export interface Exports {
  source: SourceSeries;
  segmentation: Segmentation;
  segPath: string;
  slicerPath: string;
  niftiPath: string;
}

/** Build the two-segment segmentation on the T1post grid. */
export async function buildSegmentation(): Promise<{ source: SourceSeries; segmentation: Segmentation }> {
  const scan = await scanPath(dataPath(STUDY, 'T1post'));
  const source = await readSourceSeries(scan.volumes[0]!);
  const { volume: mask } = await readSingleVolume(dataPath(STUDY, 'MaskTumor'));
  const n = mask.data.length;
  const tumour = new Uint8Array(n);
  const sum: Vec3 = [0, 0, 0];
  let count = 0;
  const [nx, ny] = mask.size;
  for (let p = 0; p < n; p++)
    if (mask.data[p]! > 0) {
      tumour[p] = 1;
      sum[0] += p % nx;
      sum[1] += Math.floor(p / nx) % ny;
      sum[2] += Math.floor(p / (nx * ny));
      count++;
    }
  const centreMm = transformPoint(ijkToLps(source.grid), [sum[0] / count, sum[1] / count, sum[2] / count]);
  const margin = new Uint8Array(n);
  applyDelta(margin, paintSphere(margin, source.grid, { centersMm: [centreMm], radiusMm: 12, value: 2 }));
  const segmentation: Segmentation = {
    ...source.grid,
    dataType: 'uint8',
    layers: [tumour, margin],
    segments: [
      {
        value: 1,
        name: 'Enhancing tumour',
        color: [216, 101, 79],
        layer: 0,
        category: { scheme: 'SCT', value: '49755003', meaning: 'Morphologically Altered Structure' },
        code: { scheme: 'SCT', value: '108369006', meaning: 'Neoplasm' },
        algorithmType: 'MANUAL',
      },
      { value: 2, name: 'Margin 12 mm', color: [111, 184, 210], layer: 1, algorithmType: 'SEMIAUTOMATIC', algorithmName: 'Delineate sphere brush' },
    ],
  };
  return { source, segmentation };
}

/** Write the three exports into `folder`. */
export async function writeExports(folder: string): Promise<Exports> {
  const { source, segmentation } = await buildSegmentation();
  const segPath = join(folder, 'seg.dcm');
  const slicerPath = join(folder, 'seg.seg.nrrd');
  const niftiPath = join(folder, 'tumour.nii.gz');
  await writeFileAtomic(segPath, encodeDicomSeg(segmentation, source, { ...FIXED, seriesDescription: 'Tumour segmentation', contentCreatorName: 'Delineate^Test' }).bytes);
  await writeSlicerSeg(segmentation, slicerPath);
  await writeLabelmap({ ...segmentation, layers: [segmentation.layers[0]!], segments: [segmentation.segments[0]!] }, niftiPath);
  return { source, segmentation, segPath, slicerPath, niftiPath };
}

if (process.argv[1] && /exports\.ts$/.test(process.argv[1])) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: tsx test/reference/seg/exports.ts <out-folder>');
    process.exit(2);
  }
  const e = await writeExports(out);
  console.error(`wrote ${e.segPath}, ${e.slicerPath}, ${e.niftiPath}`);
}
