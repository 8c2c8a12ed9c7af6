/**
 * Bad input to the engine and the CLI: every failure is a DelineateError naming the model, field or file, and the
 * CLI leaves no output file behind (failure or cancel). Uses the small golden CT network (patch 48×48×32) on
 * small synthetic volumes, so each run is one tile.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DelineateError, isCancelled } from '../../../main/common/errors';
import type { Volume } from '../../../main/common/volume';
import { main } from '../../../main/cli/index';
import type { CliIo } from '../../../main/cli/io';
import { segment } from '../../../main/core/inference/engine';
import { writeVolume, readImageFile } from '../../../main/core/io';
import { loadModel, takeVerifiedFoldBytes } from '../../../main/core/models/registry';
import { PROJECT_ROOT } from '../../helpers/data';

const FIXTURE = `${PROJECT_ROOT}/test/fixtures/engine/totalseg-ct`;
const tmp = mkdtempSync(join(tmpdir(), 'delineate-bad-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ctVolume(size: [number, number, number], spacing: [number, number, number] = [3, 3, 3]): Volume {
  const data = new Int16Array(size[0] * size[1] * size[2]);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 2000) - 1000;
  return { size, spacingMm: spacing, originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'int16', data };
}

/** A copy of the fixture model whose manifest is changed by `edit`. */
function modelCopy(name: string, edit: (m: Record<string, unknown>) => void): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  copyFileSync(join(FIXTURE, 'fold_0.onnx'), join(dir, 'fold_0.onnx'));
  const m = JSON.parse(readFileSync(join(FIXTURE, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

async function expectError(p: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected an error').toBeInstanceOf(DelineateError);
  expect((e as DelineateError).code).toBe(code);
  expect((e as DelineateError).message).toMatch(text);
}

function captureIo(signal = new AbortController().signal): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', isTTY: false, signal, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

describe('engine: bad input', () => {
  it('a volume smaller than the patch is padded as nnU-Net does and segments on its own grid', async () => {
    const model = await loadModel(FIXTURE);
    const v = ctVolume([20, 17, 9]);
    const res = await segment(model, [v], { device: 'cpu', tta: false });
    expect(res.labels.size).toEqual([20, 17, 9]);
    expect(res.stats.tiles).toBe(1);
    expect(res.stats.paddedShape).toEqual([48, 48, 32]);
  });
  it('the wrong number of channels names the model', async () => {
    const model = await loadModel(FIXTURE);
    await expectError(segment(model, [ctVolume([8, 8, 8]), ctVolume([8, 8, 8])], { device: 'cpu' }), 'INPUT', /golden-totalseg-ct takes 1 input channel/);
  });
  it('channels on different grids name the channel', async () => {
    const dir = modelCopy('two-channel', (m) => {
      const ch = (m.channels as unknown[])[0];
      m.channels = [ch, ch];
    });
    const model = await loadModel(dir);
    await expectError(segment(model, [ctVolume([8, 8, 8]), ctVolume([8, 8, 8], [3, 3, 2])], { device: 'cpu', inputNames: ['a.nii.gz', 'b.nii.gz'] }), 'GEOMETRY', /b\.nii\.gz.*spacing/);
  });
  it('NaN voxels name the file', async () => {
    const model = await loadModel(FIXTURE);
    const v: Volume = { ...ctVolume([8, 8, 8]), dataType: 'float32', data: new Float32Array(512).fill(1) };
    (v.data as Float32Array)[100] = NaN;
    await expectError(segment(model, [v], { device: 'cpu', inputNames: ['scan.nii.gz'] }), 'INPUT', /scan\.nii\.gz: the image contains NaN/);
  });
  it('an ONNX input name that disagrees with the manifest names the field', async () => {
    const model = await loadModel(modelCopy('bad-input-name', (m) => ((m.onnx as { inputName: string }).inputName = 'image')));
    await expectError(segment(model, [ctVolume([8, 8, 8])], { device: 'cpu' }), 'MODEL', /onnx\.inputName is 'image'/);
  });
  it('a patch size that disagrees with the ONNX input names patchSize', async () => {
    const model = await loadModel(modelCopy('bad-patch', (m) => (m.patchSize = [48, 48, 16])));
    await expectError(segment(model, [ctVolume([8, 8, 8])], { device: 'cpu' }), 'MODEL', /patchSize\[2\]/);
  });
  it('a class count that disagrees with the ONNX output names the output', async () => {
    const dir = modelCopy('bad-classes', (m) => {
      const o = m.output as { labels: unknown[] };
      o.labels.push({ value: 2, name: 'extra', color: [1, 2, 3] });
    });
    await expectError(loadModel(dir).then((model) => segment(model, [ctVolume([8, 8, 8])], { device: 'cpu' })), 'MODEL', /output 'output' has 2 channels, but manifest\.json output lists 3/);
  });
  it('a fold file whose SHA-256 differs from the manifest is refused', async () => {
    const dir = modelCopy('bad-sha', (m) => ((m.folds as { sha256: string }[])[0]!.sha256 = '0'.repeat(64)));
    await expectError(loadModel(dir), 'MODEL', /SHA-256 .* folds\[0\]\.sha256/);
  });

  it('loadModel hands the bytes it verified to the engine once, and only for the very same file', async () => {
    const dir = modelCopy('verified-bytes', () => {});
    const { folds } = await loadModel(dir);
    const path = folds[0]!.path;
    const st = statSync(path, { bigint: true });
    const bytes = takeVerifiedFoldBytes(path, st);
    expect(bytes && Buffer.compare(bytes, readFileSync(path))).toBe(0);
    expect(takeVerifiedFoldBytes(path, st)).toBeUndefined(); // once
    // Verified again (from the hash cache, no read): nothing to hand out; a touched file is read, hashed and handed out anew.
    await loadModel(dir);
    expect(takeVerifiedFoldBytes(path, st)).toBeUndefined();
    const later = new Date(Date.now() + 5000);
    utimesSync(path, later, later);
    await loadModel(dir);
    expect(takeVerifiedFoldBytes(path, st)).toBeUndefined(); // the old identity
    expect(takeVerifiedFoldBytes(path, statSync(path, { bigint: true }))).toBeDefined();
  });

  it('a fold file changed after it was verified is hashed again and refused (the per-process hash cache keys on size, times and inode)', async () => {
    const dir = modelCopy('changed-after-load', () => {});
    const first = await loadModel(dir);
    const path = first.folds[0]!.path;
    const bytes = readFileSync(path);
    // Same size, one byte different, written in place: only the modification time and the content change.
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(path, bytes);
    await expectError(loadModel(dir), 'MODEL', /SHA-256 .* folds\[0\]\.sha256/);
  });
  it('an invalid manifest names the file and the field', async () => {
    const dir = modelCopy('bad-manifest', (m) => (m.patchSize = [48, 0, 32]));
    await expectError(loadModel(dir), 'MANIFEST', /manifest\.json: patchSize\[1\] must be a positive integer/);
  });
  it('cancelling between tiles throws CancelledSignal', async () => {
    const model = await loadModel(FIXTURE);
    const ac = new AbortController();
    const e = await segment(model, [ctVolume([60, 60, 40])], {
      device: 'cpu',
      tta: false,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.stage === 'inference' && p.done === 1) ac.abort();
      },
    }).catch((err: unknown) => err);
    expect(isCancelled(e)).toBe(true);
  });
});

describe('CLI segment and models', () => {
  it('segment writes the label map and prints JSON; models --json lists the bundled models', async () => {
    const input = join(tmp, 'ct.nii.gz');
    await writeVolume(ctVolume([30, 25, 12]), input);
    const out = join(tmp, 'labels.nii.gz');
    const io = captureIo();
    const probs = join(tmp, 'probs.nii.gz');
    const code = await main(['segment', input, '--model', FIXTURE, '--output', out, '--no-tta', '--device', 'cpu', '--probabilities', probs], io);
    expect(code, io.err).toBe(0);
    const summary = JSON.parse(io.out) as { output: string; model: string; labels: { value: number; voxels: number }[]; tiles: number };
    expect(summary.model).toBe('golden-totalseg-ct');
    expect(summary.labels.reduce((s, l) => s + l.voxels, 0)).toBe(30 * 25 * 12);
    const labels = await readImageFile(out);
    expect(labels.size).toEqual([30, 25, 12]);
    // Probabilities: one float32 volume per class, summing to 1, argmax = the label.
    const p0 = await readImageFile(join(tmp, 'probs_0.nii.gz'));
    const p1 = await readImageFile(join(tmp, 'probs_1.nii.gz'));
    for (const i of [0, 777, 4321, labels.data.length - 1]) {
      expect(p0.data[i]! + p1.data[i]!).toBeCloseTo(1, 5);
      expect(labels.data[i]).toBe(p1.data[i]! > p0.data[i]! ? 1 : 0);
    }

    const io2 = captureIo();
    expect(await main(['models', '--json'], io2)).toBe(0);
    const list = JSON.parse(io2.out) as { models: { id: string; available: boolean; problems?: string[] }[] };
    const mesh = list.models.find((m) => m.id === 'meshnet-gwm');
    expect(mesh).toBeDefined();
    if (!existsSync(`${PROJECT_ROOT}/native-models/meshnet-gwm/model.onnx`)) {
      expect(mesh!.available).toBe(false);
      expect(mesh!.problems![0]).toMatch(/model\.onnx: fold 0 ONNX file is missing/);
    }
  });
  it('a failing or cancelled segment leaves no output file', async () => {
    const input = join(tmp, 'ct2.nii.gz');
    await writeVolume(ctVolume([70, 60, 40]), input);
    const out = join(tmp, 'never.nii.gz');
    const io = captureIo();
    expect(await main(['segment', input, input, '--model', FIXTURE, '--output', out], io)).toBe(2);
    expect(io.err).toMatch(/takes 1 input/);
    const ac = new AbortController();
    const io2 = captureIo(ac.signal);
    const origErr = io2.stderr;
    io2.stderr = (t: string) => {
      origErr(t);
      if (/inference \d+\/\d+ tiles/.test(t)) ac.abort(); // first progress line (after the first tile)
    };
    const p = main(['segment', input, '--model', FIXTURE, '--output', out, '--no-tta', '--device', 'cpu'], io2);
    expect(await p).toBe(130);
    expect(existsSync(out)).toBe(false);
    expect((await main(['segment', input, '--model', 'no-such-model', '--output', out], captureIo())) ).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
});
