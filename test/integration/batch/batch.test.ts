/**
 * `delineate batch` end to end on a small real cohort (crops of TotalSegmentator's example CT) with the engine's
 * golden test network: a corrupt case in the middle, shards, and a run cancelled mid-case then resumed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/index';
import type { CliIo } from '../../../main/cli/io';
import { type BatchEvent, discoverCases, type RunRecord, runBatch } from '../../../main/core/batch/index';
import { readImageFile, scanPath } from '../../../main/core/io/index';
import { loadModel } from '../../../main/core/models/registry';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';
import { CT, writeCorrupt, writeCtCases } from './cohort';

const MODEL = resolve(PROJECT_ROOT, 'test/fixtures/engine/totalseg-ct');
const TCIA_DICOM = 'tcia-brain-tumor-progression/dicom';
const CT3 = 'dicom-conformance/dcmqi_ct3slice_nrrd_seg/ct-3slice'; // a real 3-slice CT DICOM series

function capture(signal = new AbortController().signal): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), isTTY: false, signal };
  return io;
}
const readRecord = (path: string): RunRecord => JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
const outputs = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.nii.gz')).sort();
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
// Fast settings for two busy cores: no mirroring, one tile per case.
const FAST = ['--model', MODEL, '--no-tta'];

describe.skipIf(!hasData(CT, CT3))('delineate batch', { timeout: 300_000 }, () => {
  let root: string;
  let cohort: string;
  let full: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'delineate-batch-'));
    cohort = join(root, 'imagesTs');
    mkdirSync(cohort);
    // ct0, ct2, ct3 are real CT crops; ct1 (second in id order) is a truncated .nii.gz.
    await writeCtCases(cohort, 4);
    await writeCorrupt(join(cohort, 'ct1_0000.nii.gz'), readFileSync(join(cohort, 'ct1_0000.nii.gz')));
    full = join(root, 'full');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs the cohort, reports the corrupt case by name, finishes the others and exits 1', async () => {
    const io = capture();
    const code = await main(['batch', cohort, ...FAST, '--output', full], io);
    expect(code, io.err).toBe(1);
    const summary = JSON.parse(io.out) as { succeeded: number; failed: number; failures: { case: string; message: string }[] };
    expect(summary).toMatchObject({ cases: 4, succeeded: 3, failed: 1, skippedAsDone: 0 });
    expect(summary.failures.map((f) => f.case)).toEqual(['ct1']);
    expect(summary.failures[0]!.message).toContain('ct1_0000.nii.gz');
    expect(io.err).toMatch(/\[2\/4\] ct1: FAILED — .*ct1_0000\.nii\.gz/);
    expect(io.err).toMatch(/\[4\/4\] ct3: ok/);
    expect(outputs(full)).toEqual(['ct0.nii.gz', 'ct2.nii.gz', 'ct3.nii.gz']);
    expect(readdirSync(full).filter((f) => f.startsWith('.'))).toEqual([]); // no partial files

    const rec = readRecord(join(full, 'run.json'));
    expect(rec.model.id).toBe('golden-totalseg-ct');
    expect(rec.model.files).toEqual([{ fold: 0, file: 'fold_0.onnx', sha256: sha256(join(MODEL, 'fold_0.onnx')) }]);
    expect(rec.settings).toMatchObject({ tta: false, folds: [0], device: 'auto', deviceResolved: 'cpu' });
    expect(rec.tool.version).toBe((JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    expect(rec.summary).toMatchObject({ total: 4, succeeded: 3, failed: 1, pending: 0 });
    expect(rec.cases.ct1).toMatchObject({ status: 'failed', error: { code: expect.any(String), message: expect.stringContaining('ct1_0000.nii.gz') } });
    for (const id of ['ct0', 'ct2', 'ct3']) {
      const c = rec.cases[id]!;
      expect(c).toMatchObject({ status: 'succeeded', output: `${id}.nii.gz`, device: 'cpu', tiles: 1, networkRuns: 1 });
      expect(c.outputBytes).toBe(statSync(join(full, `${id}.nii.gz`)).size);
      expect(c.seconds.total).toBeGreaterThan(0);
      // Every voxel is labelled: counts add up to the 36×36×12 crop.
      expect(Object.values(c.labelCounts!).reduce((a, b) => a + b, 0)).toBe(36 * 36 * 12);
    }
  });

  it('shards 0/2 and 1/2 are disjoint, cover the cohort, and give the same outputs as the whole run', async () => {
    const out = join(root, 'sharded');
    const ids: string[][] = [];
    for (const i of [0, 1]) {
      const io = capture();
      io.isTTY = i === 1; // shard 1 draws the progress bar
      const code = await main(['batch', cohort, ...FAST, '--output', out, '--shard', `${i}/2`], io);
      const rec = readRecord(join(out, `run.shard-${i}-of-2.json`));
      expect(rec.shard).toEqual({ index: i, count: 2 });
      ids.push(Object.keys(rec.cases).sort());
      expect(code).toBe(ids[i]!.includes('ct1') ? 1 : 0);
      if (io.isTTY) expect(io.err).toMatch(/\r\[#*\.*\] case 2\/2 ct3 tiles 1\/1/);
      else expect(io.err).not.toContain('\r');
    }
    // Round robin over sorted ids: ct0, ct2 | ct1, ct3.
    expect(ids).toEqual([
      ['ct0', 'ct2'],
      ['ct1', 'ct3'],
    ]);
    expect(outputs(out)).toEqual(outputs(full));
    for (const f of outputs(out)) expect(sha256(join(out, f)), f).toBe(sha256(join(full, f)));
  });

  it('a run cancelled in the middle of a case records only finished cases; --resume runs only the rest', async () => {
    const out = join(root, 'resumed');
    const model = await loadModel(MODEL);
    const found = await discoverCases(cohort);
    const controller = new AbortController();
    const events: BatchEvent[] = [];
    // Abort as soon as the second real case (ct2) starts its inference.
    const first = await runBatch(found, model, {
      inputPath: cohort,
      outputDir: out,
      engine: { tta: false },
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'case-progress' && e.id === 'ct2') controller.abort();
      },
    });
    expect(first.cancelled).toBe(true);
    expect(Object.fromEntries(Object.entries(first.record.cases).map(([k, v]) => [k, v.status]))).toEqual({ ct0: 'succeeded', ct1: 'failed', ct2: 'cancelled' });
    expect(first.record.summary).toMatchObject({ succeeded: 1, failed: 1, cancelled: 1, pending: 1 });
    expect(readdirSync(out).sort()).toEqual(['ct0.nii.gz', 'run.json']); // nothing half-written for ct2
    const ct0Written = statSync(join(out, 'ct0.nii.gz')).mtimeMs;

    const io = capture();
    const code = await main(['batch', cohort, ...FAST, '--output', out, '--resume'], io);
    expect(code).toBe(1); // ct1 is still corrupt
    expect(JSON.parse(io.out)).toMatchObject({ cases: 4, succeeded: 3, failed: 1, skippedAsDone: 1 });
    expect(io.err).toContain('1 already done (resume), 3 to run');
    expect(io.err).not.toMatch(/ct0: started/);
    expect(io.err).toMatch(/ct2: started/);
    expect(statSync(join(out, 'ct0.nii.gz')).mtimeMs).toBe(ct0Written);
    const rec = readRecord(join(out, 'run.json'));
    expect(rec.cases.ct0!.startedAt).toBe(first.record.cases.ct0!.startedAt);
    for (const f of outputs(out)) expect(sha256(join(out, f)), f).toBe(sha256(join(full, f)));

    // An output that disappeared is not "finished", whatever the record says.
    unlinkSync(join(out, 'ct3.nii.gz'));
    const io2 = capture();
    await main(['batch', cohort, ...FAST, '--output', out, '--resume'], io2);
    expect(io2.err).toMatch(/ct3: ct3\.nii\.gz listed in .*run\.json is missing; running it again/);
    expect(JSON.parse(io2.out)).toMatchObject({ succeeded: 3, skippedAsDone: 2 });
    // Other settings (TTA on) do not reuse the cases.
    const io3 = capture();
    const controller3 = new AbortController();
    controller3.abort();
    await main(['batch', cohort, '--model', MODEL, '--output', out, '--resume'], { ...io3, signal: controller3.signal });
    expect(io3.err).toMatch(/made with other settings/);
  });

  it('runs a text list mixing an image file and a DICOM series folder', async () => {
    const list = join(root, 'cases.txt');
    writeFileSync(list, `# two cases\nimagesTs/ct0_0000.nii.gz\n${dataPath(CT3)}\n`);
    const out = join(root, 'from-list');
    const io = capture();
    const code = await main(['batch', list, ...FAST, '--step', '1', '--output', out], io);
    expect(code, io.err).toBe(0);
    const rec = readRecord(join(out, 'run.json'));
    expect(rec.input.kind).toBe('list');
    expect(Object.keys(rec.cases)).toEqual(['ct-3slice', 'ct0']);
    expect(rec.cases['ct-3slice']).toMatchObject({ status: 'succeeded', inputs: [dataPath(CT3)] });
    expect(rec.settings.tileStepSize).toBe(1);
    const labels = await readImageFile(join(out, 'ct-3slice.nii.gz'));
    const series = (await scanPath(dataPath(CT3))).volumes[0]!;
    expect(labels.size).toEqual(series.size);
    labels.originMm.forEach((v, i) => expect(v).toBeCloseTo(series.originMm[i]!, 3));
  });

  it('rejects bad arguments with usage errors (exit 2)', async () => {
    for (const args of [
      ['batch', cohort, ...FAST, '--output', join(root, 'x'), '--shard', '2/2'],
      ['batch', cohort, ...FAST, '--output', join(root, 'x'), '--device', 'tpu'],
      ['batch', cohort, ...FAST],
      ['batch', cohort, ...FAST, '--output', join(root, 'x'), '--folds', '3'],
    ]) {
      const io = capture();
      expect(await main(args, io), args.join(' ')).toBe(2);
    }
  });
});

describe.skipIf(!hasData(TCIA_DICOM))('batch case discovery in a folder of DICOM studies', () => {
  it('makes one case per series, named patient_study_series, unique and file-name safe', async () => {
    const root = dataPath(TCIA_DICOM);
    const [cohort, scan] = await Promise.all([discoverCases(root), scanPath(root)]);
    expect(cohort.kind).toBe('dicom');
    expect(cohort.cases.length).toBe(scan.volumes.length);
    expect(cohort.cases.length).toBeGreaterThanOrEqual(8);
    const ids = cohort.cases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of cohort.cases) {
      expect(c.id).toMatch(/^[A-Za-z0-9._-]+$/);
      expect(c.inputs).toHaveLength(1);
      expect(c.inputs[0]!.kind).toBe('dicom');
    }
    // Patient and series description come from the headers.
    expect(ids.some((id) => /PGBM-001/.test(id) && /T1post|FLAIR|Mask/i.test(id)), ids.join(', ')).toBe(true);
    expect(ids).toEqual([...ids].sort());
  });
});
