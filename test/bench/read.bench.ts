/**
 * Reading speed against dcm2niix, in the same run:
 *  - a 300-slice CT series (512×512, implicit VR LE) built from the 3 real GE CT slices of dcmqi's ct-3slice,
 *    replicated with rewritten positions and UIDs and written in shuffled file order: Delineate's scan + read
 *    (and scan + read + write .nii) vs `dcm2niix` converting the same folder;
 *  - the 20-slice JPEG 2000 CT of TotalSegmentator: scan + read vs dcm2niix;
 *  - reading the resulting NIfTI (.nii and .nii.gz) vs just inflating the .nii.gz with zlib (a floor).
 * Each figure is the median of several runs; the file cache is warm for both sides.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { T } from '../../main/core/io/dicom/dataset';
import { readImageFile, readVolume, scanPath, writeVolume } from '../../main/core/io/index';
import { dataPath } from '../helpers/data';
import { editDicom } from '../integration/io/dicom-edit';
import type { Bench, BenchResult } from './index';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(runs: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

function buildSeries(dir: string, slices: number): void {
  const src = dataPath('dicom-conformance/dcmqi_ct3slice_nrrd_seg/ct-3slice');
  const files = readdirSync(src).sort().map((f) => readFileSync(join(src, f)));
  const order = Array.from({ length: slices }, (_, i) => i);
  // Deterministic shuffle of file names so that name order is not slice order.
  let seed = 12345;
  for (let i = order.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const series = '1.2.826.0.1.3680043.2.1125.9.300';
  for (let k = 0; k < slices; k++) {
    const bytes = editDicom(
      files[k % files.length]!,
      new Map([
        [T.ImagePositionPatient, `-235.199997\\-226.800003\\${(-126.69 - k).toFixed(6)}`],
        [T.SOPInstanceUID, `${series}.${k + 1}`],
        [T.SeriesInstanceUID, series],
        [T.InstanceNumber, String(k + 1)],
      ]),
    );
    writeFileSync(join(dir, `IM${String(order[k]).padStart(4, '0')}`), bytes);
  }
}

function dcm2niix(input: string, out: string, compress: boolean): void {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  execFileSync('dcm2niix', ['-z', compress ? 'y' : 'n', '-b', 'n', '-f', 'ref', '-o', out, input], { stdio: 'pipe' });
}

const bench: Bench = async (log) => {
  const results: BenchResult[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'delineate-read-bench-'));
  try {
    const ct = join(tmp, 'ct300');
    mkdirSync(ct);
    buildSeries(ct, 300);
    log(`built a 300-slice CT series in ${ct}`);
    // Sanity: one volume of the expected size.
    const scan = await scanPath(ct);
    if (scan.volumes.length !== 1 || scan.volumes[0]!.size[2] !== 300) throw new Error(`expected one 300-slice volume, got ${scan.volumes.map((v) => v.size.join('x'))}`);
    await readVolume(scan.volumes[0]!); // warm-up (module load, file cache)
    dcm2niix(ct, join(tmp, 'ref'), false);

    const runs = 5;
    const scanMs = await time(runs, () => scanPath(ct));
    const scanReadMs = await time(runs, async () => {
      const s = await scanPath(ct);
      await readVolume(s.volumes[0]!);
    });
    const out = join(tmp, 'ours');
    mkdirSync(out);
    const convertMs = await time(runs, async () => {
      const s = await scanPath(ct);
      await writeVolume(await readVolume(s.volumes[0]!), join(out, 'ours.nii'));
    });
    const refMs = await time(runs, () => dcm2niix(ct, join(tmp, 'ref'), false));
    log(`300-slice CT: scan ${scanMs.toFixed(0)} ms, scan+read ${scanReadMs.toFixed(0)} ms, scan+read+write .nii ${convertMs.toFixed(0)} ms; dcm2niix ${refMs.toFixed(0)} ms`);
    results.push({ name: 'scan 300-slice CT (headers only)', value: scanMs, unit: 'ms', reference: { name: 'dcm2niix -z n (full conversion)', value: refMs } });
    results.push({ name: 'scan + read 300-slice CT', value: scanReadMs, unit: 'ms', reference: { name: 'dcm2niix -z n', value: refMs } });
    results.push({ name: 'scan + read + write .nii, 300-slice CT', value: convertMs, unit: 'ms', reference: { name: 'dcm2niix -z n', value: refMs } });

    // JPEG 2000 series (decoded through itk-wasm).
    const j2k = dataPath('totalseg-example/example_ct_dicom');
    const j2kScan = await scanPath(j2k);
    await readVolume(j2kScan.volumes[0]!);
    const j2kMs = await time(3, async () => {
      const s = await scanPath(j2k);
      await readVolume(s.volumes[0]!);
    });
    const j2kRef = await time(3, () => dcm2niix(j2k, join(tmp, 'refj2k'), false));
    log(`20-slice JPEG 2000 CT: scan+read ${j2kMs.toFixed(0)} ms; dcm2niix ${j2kRef.toFixed(0)} ms`);
    results.push({ name: 'scan + read 20-slice JPEG 2000 CT', value: j2kMs, unit: 'ms', reference: { name: 'dcm2niix -z n', value: j2kRef } });

    // NIfTI reading: the 300-slice volume as .nii and .nii.gz.
    const nii = join(tmp, 'ref', 'ref.nii');
    dcm2niix(ct, join(tmp, 'refgz'), true);
    const niigz = join(tmp, 'refgz', 'ref.nii.gz');
    await readImageFile(niigz);
    const niiMs = await time(runs, () => readImageFile(nii));
    const niigzMs = await time(runs, () => readImageFile(niigz));
    const inflateMs = await time(runs, () => gunzipSync(readFileSync(niigz)));
    log(`NIfTI 512×512×300 int16: .nii ${niiMs.toFixed(0)} ms, .nii.gz ${niigzMs.toFixed(0)} ms; zlib inflate alone ${inflateMs.toFixed(0)} ms`);
    results.push({ name: 'read 512×512×300 .nii', value: niiMs, unit: 'ms' });
    results.push({ name: 'read 512×512×300 .nii.gz', value: niigzMs, unit: 'ms', reference: { name: 'zlib gunzip of the same file', value: inflateMs } });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return results;
};

export default bench;
