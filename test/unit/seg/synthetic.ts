/**
 * Synthetic single-frame CT series for the segmentation tests, written with the project's own DICOM encoder
 * (Explicit VR Little Endian, CT Image Storage, 16-bit pixels): small grids with exact, known geometry.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Vec3 } from '../../../main/common/volume';
import { el, encodePart10, newUid } from '../../../main/core/seg/index';

export interface SyntheticSeries {
  folder: string;
  seriesUid: string;
  studyUid: string;
  frameOfReferenceUid: string;
  instanceUids: string[];
}

/**
 * Write `slices` files of `cols`×`rows` pixels into `folder`, slice k at `origin + k·spacing[2]·normal` with the
 * row/column directions of `iop` (file names shuffled so that readers must sort by position). Pixel value = k.
 */
export async function writeSyntheticSeries(
  folder: string,
  opts: { cols: number; rows: number; slices: number; spacingMm: Vec3; originMm: Vec3; iop?: [number, number, number, number, number, number]; patientName?: string },
): Promise<SyntheticSeries> {
  await mkdir(folder, { recursive: true });
  const iop = opts.iop ?? [1, 0, 0, 0, 1, 0];
  const n: Vec3 = [iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]];
  const seriesUid = newUid();
  const studyUid = newUid();
  const frameOfReferenceUid = newUid();
  const instanceUids: string[] = [];
  for (let k = 0; k < opts.slices; k++) {
    const sop = newUid();
    instanceUids.push(sop);
    const pos = [0, 1, 2].map((r) => opts.originMm[r]! + n[r]! * opts.spacingMm[2] * k);
    const pixels = new Uint8Array(opts.cols * opts.rows * 2);
    const dv = new DataView(pixels.buffer);
    for (let p = 0; p < opts.cols * opts.rows; p++) dv.setInt16(p * 2, k, true);
    const ds = [
      el(0x0008, 0x0005, 'CS', 'ISO_IR 100'),
      el(0x0008, 0x0008, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']),
      el(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
      el(0x0008, 0x0018, 'UI', sop),
      el(0x0008, 0x0020, 'DA', '20200102'),
      el(0x0008, 0x0030, 'TM', '101010'),
      el(0x0008, 0x0050, 'SH', 'ACC1'),
      el(0x0008, 0x0060, 'CS', 'CT'),
      el(0x0008, 0x0090, 'PN', ''),
      el(0x0008, 0x103e, 'LO', 'synthetic'),
      el(0x0010, 0x0010, 'PN', opts.patientName ?? 'Test^Patient'),
      el(0x0010, 0x0020, 'LO', 'P1'),
      el(0x0010, 0x0030, 'DA', ''),
      el(0x0010, 0x0040, 'CS', 'O'),
      el(0x0018, 0x0050, 'DS', opts.spacingMm[2]),
      el(0x0020, 0x000d, 'UI', studyUid),
      el(0x0020, 0x000e, 'UI', seriesUid),
      el(0x0020, 0x0010, 'SH', 'S1'),
      el(0x0020, 0x0011, 'IS', 2),
      el(0x0020, 0x0013, 'IS', k + 1),
      el(0x0020, 0x0032, 'DS', pos),
      el(0x0020, 0x0037, 'DS', iop),
      el(0x0020, 0x0052, 'UI', frameOfReferenceUid),
      el(0x0020, 0x1040, 'LO', ''),
      el(0x0028, 0x0002, 'US', 1),
      el(0x0028, 0x0004, 'CS', 'MONOCHROME2'),
      el(0x0028, 0x0010, 'US', opts.rows),
      el(0x0028, 0x0011, 'US', opts.cols),
      el(0x0028, 0x0030, 'DS', [opts.spacingMm[1], opts.spacingMm[0]]),
      el(0x0028, 0x0100, 'US', 16),
      el(0x0028, 0x0101, 'US', 16),
      el(0x0028, 0x0102, 'US', 15),
      el(0x0028, 0x0103, 'US', 1),
      el(0x0028, 0x1050, 'DS', 40),
      el(0x0028, 0x1051, 'DS', 400),
      el(0x0028, 0x1052, 'DS', 0),
      el(0x0028, 0x1053, 'DS', 1),
      el(0x7fe0, 0x0010, 'OW', pixels),
    ];
    const name = `im${String((k * 7919) % 1000).padStart(3, '0')}_${k}.dcm`;
    await writeFile(join(folder, name), encodePart10(ds, '1.2.840.10008.5.1.4.1.1.2', sop, { classUid: '2.25.1', versionName: 'TEST' }));
  }
  return { folder, seriesUid, studyUid, frameOfReferenceUid, instanceUids };
}
