/**
 * `delineate evaluate` and `delineate stats` end to end through the CLI dispatcher, on real labelmaps from
 * ../shared/data copied into a temporary cohort with a corrupt case, a case on another grid and an unmatched case.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/index';
import { dataPath, hasData } from '../../helpers/data';
import { loadReference, refNumber } from '../../unit/metrics/reference';
import { captureIo as capture } from '../../helpers/cli';

const SEG = 'totalseg-example/example_seg.nii.gz';
const FAST = 'totalseg-example/example_seg_fast.nii.gz';
const FULL = 'totalseg-example/example_seg_fast_force_split.nii.gz';
const CT = 'totalseg-example/example_ct_sm.nii.gz';
const NAMES = 'totalseg-example/label_names_total_and_total_mr.json';

describe.skipIf(!hasData(SEG, FAST, FULL, CT, NAMES))('delineate evaluate / stats CLI', () => {
  let root: string;
  let pred: string;
  let ref: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'delineate-eval-'));
    pred = join(root, 'pred');
    ref = join(root, 'ref');
    mkdirSync(pred);
    mkdirSync(ref);
    copyFileSync(dataPath(FAST), join(pred, 'case_001.nii.gz'));
    copyFileSync(dataPath(SEG), join(ref, 'case_001.nii.gz'));
    writeFileSync(join(pred, 'case_002.nii.gz'), 'this is not a NIfTI file');
    copyFileSync(dataPath(SEG), join(ref, 'case_002.nii.gz'));
    copyFileSync(dataPath(FULL), join(pred, 'case_003.nii.gz'));
    copyFileSync(dataPath(SEG), join(ref, 'case_003.nii.gz'));
    copyFileSync(dataPath(SEG), join(pred, 'case_004.nii.gz'));
    copyFileSync(dataPath(SEG), join(ref, 'case_004.nii.gz'));
    copyFileSync(dataPath(SEG), join(ref, 'case_005.nii.gz')); // reference only
    writeFileSync(join(pred, 'case_006.nii.gz'), readFileSync(dataPath(FAST)).subarray(0, 4000)); // truncated gzip
    copyFileSync(dataPath(SEG), join(ref, 'case_006.nii.gz'));
    writeFileSync(join(pred, 'plans.json'), '{}'); // not an image: ignored
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('evaluates the matched cases, reports the corrupt one, the grid mismatch and the unmatched one', async () => {
    const io = capture();
    const output = join(root, 'report.json');
    const plot = join(root, 'plot.svg');
    const code = await main(['evaluate', '--pred', pred, '--ref', ref, '--output', output, '--plot', plot, '--labels', '1-5,12,13', '--label-names', `${dataPath(NAMES)}#total`], io);
    expect(code).toBe(1); // a case failed
    const summary = JSON.parse(io.out) as Record<string, unknown> & { failed: { case: string; code: string; message: string }[] };
    expect(summary.cases).toBe(5);
    expect(summary.evaluated).toBe(2);
    expect(summary.unmatched).toEqual({ predOnly: [], refOnly: ['case_005'] });
    expect(summary.failed.map((f) => [f.case, f.code])).toEqual([
      ['case_002', 'FORMAT'],
      ['case_003', 'GEOMETRY'],
      ['case_006', 'FORMAT'],
    ]);
    expect(summary.failed[2]!.message).toContain(join(pred, 'case_006.nii.gz'));
    expect(summary.failed[0]!.message).toContain(join(pred, 'case_002.nii.gz'));
    expect(summary.failed[1]!.message).toContain(join(pred, 'case_003.nii.gz'));
    expect(summary.failed[1]!.message).toContain(join(ref, 'case_003.nii.gz'));
    expect(io.err).toMatch(/case 'case_005' has a reference .* but no prediction/);

    const report = JSON.parse(readFileSync(output, 'utf8')) as {
      labels: number[];
      rows: { case: string; label: number; dice: number | string; hd95Mm: number | string; nsd: number | string }[];
      summary: Record<string, Record<string, { mean: number | string; n: number; nNaN: number; nInf: number }>>;
    };
    expect(report.labels).toEqual([1, 2, 3, 4, 5, 12, 13]);
    // case_001 agrees with the MONAI/nnU-Net reference numbers; case_004 is a perfect match.
    const monai = loadReference().real.find((c) => c.name === 'totalseg-normal-vs-fast')!;
    for (const l of [1, 2, 3, 4, 5]) {
      const row = report.rows.find((r) => r.case === 'case_001' && r.label === l)!;
      const want = monai.labels.find((r) => r.label === l)!;
      expect(Math.abs((row.dice as number) - refNumber(want.dice))).toBeLessThan(1e-9);
      expect(Math.abs((row.hd95Mm as number) - refNumber(want.hd95Mm))).toBeLessThan(1e-4);
      expect(Math.abs((row.nsd as number) - refNumber(want.nsd['1.0']!))).toBeLessThan(1e-6);
      expect(report.rows.find((r) => r.case === 'case_004' && r.label === l)).toMatchObject({ dice: 1, hd95Mm: 0, nsd: 1 });
    }
    // Label 13 (one voxel) is in the reference only: Dice 0 and HD95 Infinity for case_001, perfect for case_004.
    expect(report.rows.find((r) => r.case === 'case_001' && r.label === 13)).toMatchObject({ dice: 0, hd95Mm: 'Infinity', nsd: 0 });
    expect(report.rows.find((r) => r.case === 'case_004' && r.label === 13)).toMatchObject({ dice: 1, hd95Mm: 0, nsd: 1 });
    expect(report.summary['13']!.dice).toMatchObject({ mean: 0.5, n: 2, nNaN: 0, nInf: 0 });
    expect(report.summary['13']!.hd95Mm).toMatchObject({ mean: 0, n: 1, nNaN: 0, nInf: 1 });
    // Label 12 is absent from both sides of every case: NaN rows (nnU-Net), left out of the summary.
    expect(report.rows.find((r) => r.case === 'case_001' && r.label === 12)).toMatchObject({ dice: 'NaN', hd95Mm: 'NaN', nsd: 'NaN' });
    expect(report.summary['12']!.dice).toMatchObject({ mean: 'NaN', n: 0, nNaN: 2, nInf: 0 });
    expect(report.summary['1']!.dice!.n).toBe(2);

    const svg = readFileSync(plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('>spleen<');
    expect(svg).toContain('∞ 1');
  });

  it('writes CSV rows, and evaluates two single files', async () => {
    const io = capture();
    const output = join(root, 'one.csv');
    const code = await main(['evaluate', '--pred', join(pred, 'case_001.nii.gz'), '--ref', join(ref, 'case_001.nii.gz'), '--output', output, '--tolerance-mm', '3'], io);
    expect(code).toBe(0);
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^case,label,dice,iou,hd95Mm,hdMm,assdMm,nsd,/);
    const monai = loadReference().real.find((c) => c.name === 'totalseg-normal-vs-fast')!;
    expect(lines).toHaveLength(1 + monai.labels.length);
    const spleen = lines.find((l) => l.startsWith('case_001,1,'))!.split(',');
    expect(Math.abs(Number(spleen[7]) - refNumber(monai.labels[0]!.nsd['3.0']!))).toBeLessThan(1e-6);
    expect(lines.find((l) => l.startsWith('case_001,13,'))).toContain(',Infinity,');
  });

  it('--strict refuses unmatched cases and writes nothing; bad usage exits 2', async () => {
    const io = capture();
    const output = join(root, 'strict.json');
    expect(await main(['evaluate', '--pred', pred, '--ref', ref, '--output', output, '--strict'], io)).toBe(1);
    expect(io.err).toContain('case_005 (reference only)');
    expect(existsSync(output)).toBe(false);
    expect(await main(['evaluate', '--pred', pred, '--ref', ref, '--output', join(root, 'x.txt')], capture())).toBe(2);
    expect(await main(['evaluate', '--pred', pred, '--ref', ref, '--output', output, '--labels', '3-1'], capture())).toBe(2);
    expect(await main(['evaluate', '--pred', pred, '--ref', join(ref, 'case_001.nii.gz'), '--output', output], capture())).toBe(2);
  });

  it('stats --json gives the same numbers as the core, names segments, writes CSV; another grid is refused', async () => {
    const io = capture();
    const csv = join(root, 'stats.csv');
    expect(await main(['stats', dataPath(CT), dataPath(SEG), '--json', '--csv', csv, '--label-names', `${dataPath(NAMES)}#total`], io)).toBe(0);
    const out = JSON.parse(io.out) as { segments: { value: number; name: string; voxelCount: number; intensity: { mean: number } }[]; voxelVolumeMl: number };
    expect(out.voxelVolumeMl).toBeCloseTo(0.027, 12);
    const spleen = out.segments.find((s) => s.value === 1)!;
    expect(spleen.name).toBe('spleen');
    const refStats = JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'metrics', 'stats_reference.json'), 'utf8')) as {
      pairs: { name: string; segments: { value: number; voxelCount: number; intensity: { mean: number } }[] }[];
    };
    const want = refStats.pairs.find((p) => p.name === 'totalseg-ct-sm')!.segments;
    expect(out.segments.map((s) => [s.value, s.voxelCount])).toEqual(want.map((s) => [s.value, s.voxelCount]));
    expect(Math.abs(spleen.intensity.mean - want[0]!.intensity.mean)).toBeLessThan(1e-9);
    expect(readFileSync(csv, 'utf8').split('\n')[1]).toMatch(/^1,spleen,9452,/);

    const bad = capture();
    expect(await main(['stats', dataPath('totalseg-example/example_ct.nii.gz'), dataPath(SEG)], bad)).toBe(1);
    expect(bad.err).toMatch(/example_ct\.nii\.gz and .*example_seg\.nii\.gz are not on the same voxel grid/);
  });
});
