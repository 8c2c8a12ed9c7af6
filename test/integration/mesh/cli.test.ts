/**
 * `delineate mesh` end to end on small NIfTI files written here: the happy path (files, sidecar, JSON summary),
 * formats and flags, and the bad inputs of issue 6 — empty segment, one-voxel segment, border-touching segment,
 * non-integer "labelmap", unwritable output folder — each a clear message or a correct mesh, never a half-written file.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Volume } from '../../../main/common/volume';
import { main } from '../../../main/cli/index';
import type { CliIo } from '../../../main/cli/io';
import { writeVolume } from '../../../main/core/io/index';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'delineate-mesh-cli-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), isTTY: false, signal: new AbortController().signal };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** 12×10×8 labelmap, spacing 0.5×0.6×2 mm: label 1 a block touching the i = 0 border, label 2 one voxel, label 4 a block. */
async function writeLabels(name: string, dataType: 'uint8' | 'float32' = 'uint8', fractional = false): Promise<string> {
  const size: [number, number, number] = [12, 10, 8];
  const data = dataType === 'uint8' ? new Uint8Array(960) : new Float32Array(960);
  const at = (i: number, j: number, k: number): number => i + 12 * (j + 10 * k);
  for (let k = 1; k < 7; k++) for (let j = 1; j < 9; j++) for (let i = 0; i < 4; i++) data[at(i, j, k)] = 1;
  data[at(6, 5, 4)] = 2;
  for (let k = 2; k < 6; k++) for (let j = 2; j < 7; j++) for (let i = 8; i < 11; i++) data[at(i, j, k)] = 4;
  if (fractional) data[at(9, 3, 3)] = 2.5;
  const vol: Volume = { size, spacingMm: [0.5, 0.6, 2], originMm: [-3, 4, 10], direction: [1, 0, 0, 0, -1, 0, 0, 0, 1], dataType, data };
  const path = join(dir, name);
  await writeVolume(vol, path);
  return path;
}

describe('delineate mesh', () => {
  it('writes one STL per segment and the sidecar, and prints a JSON summary', async () => {
    const labels = await writeLabels('case.nii.gz');
    const out = join(dir, 'out1');
    const r = await cli('mesh', labels, '--output', out, '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ coordinateSystem: 'LPS', units: 'mm' });
    expect((await readdir(out)).sort()).toEqual(['case.mesh.json', 'case_1_Segment_1.stl', 'case_2_Segment_2.stl', 'case_4_Segment_4.stl']);
    const byValue = new Map<number, { metrics: { closed: boolean; manifold: boolean; triangleCount: number; boundsMm: number[] }; voxels: { voxelCount: number } }>(
      summary.segments.map((s: { value: number }) => [s.value, s]),
    );
    // One voxel: a valid closed mesh.
    expect(byValue.get(2)!.metrics).toMatchObject({ closed: true, manifold: true });
    expect(byValue.get(2)!.voxels.voxelCount).toBe(1);
    // Touching the border at i = 0: closed thanks to the padding, and it reaches x = origin − half a voxel
    // (−3.25 mm; windowed-sinc smoothing overshoots a flat cap's rim by up to a third of a voxel, as VTK's does).
    expect(byValue.get(1)!.metrics).toMatchObject({ closed: true, manifold: true });
    expect(Math.abs(byValue.get(1)!.metrics.boundsMm[0]! + 3.25)).toBeLessThan(0.5 / 3);
    const sidecar = JSON.parse(await readFile(join(out, 'case.mesh.json'), 'utf8'));
    expect(sidecar.source.file).toBe(labels);
    const stl = await readFile(join(out, 'case_4_Segment_4.stl'));
    expect(stl.readUInt32LE(80)).toBe(byValue.get(4)!.metrics.triangleCount);
  });

  it('honours --labels, --format obj, --space ras, --merge, --decimate and --label-names', async () => {
    const labels = await writeLabels('named.nii.gz');
    const table = join(dir, 'names.json');
    await writeFile(table, JSON.stringify([{ value: 4, name: 'left kidney', color: [10, 20, 30] }]));
    const out = join(dir, 'out2');
    const r = await cli('mesh', labels, '-o', out, '--labels', '1,4', '--format', 'obj', '--space', 'ras', '--merge', '--decimate', '0.3', '--label-names', table, '--json');
    expect(r.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['named.mesh.json', 'named.obj']);
    const s = JSON.parse(r.stdout);
    expect(s.coordinateSystem).toBe('RAS');
    expect(s.segments.map((x: { name: string }) => x.name)).toEqual(['Segment 1', 'left kidney']);
    const obj = await readFile(join(out, 'named.obj'), 'utf8');
    expect(obj).toContain('o left_kidney');
    // RAS: x = −LPS x. The label-1 block spans LPS x −3.25…−1.25, so RAS x is positive.
    expect(s.segments[0].metrics.boundsMm[0]).toBeGreaterThan(0);
  });

  it('skips an empty segment with a message and no file, and fails when nothing is left to mesh', async () => {
    const labels = await writeLabels('empty.nii.gz');
    const out = join(dir, 'out3');
    const partly = await cli('mesh', labels, '-o', out, '--labels', '2,3', '--json');
    expect(partly.code).toBe(0);
    expect(partly.stderr).toMatch(/label 3 \(Segment 3\) has no voxels/);
    expect(JSON.parse(partly.stdout).skipped).toHaveLength(1);
    expect((await readdir(out)).sort()).toEqual(['empty.mesh.json', 'empty_2_Segment_2.stl']);
    const none = await cli('mesh', labels, '-o', join(dir, 'out4'), '--labels', '3');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nothing to mesh \(label 3 \(Segment 3\) has no voxels/);
    await expect(readdir(join(dir, 'out4'))).rejects.toThrow();
  });

  it('rejects a non-integer "labelmap" with a message naming the file and voxel', async () => {
    const labels = await writeLabels('float.nii.gz', 'float32', true);
    const r = await cli('mesh', labels, '-o', join(dir, 'out5'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/float\.nii\.gz: not a labelmap — voxel \(9, 3, 3\) holds a non-integer value \(2\.5\)/);
    await expect(readdir(join(dir, 'out5'))).rejects.toThrow();
    // Whole-number floats are a labelmap.
    const ok = await cli('mesh', await writeLabels('float-ok.nii.gz', 'float32'), '-o', join(dir, 'out6'), '--labels', '2');
    expect(ok.code).toBe(0);
  });

  it('fails with an IO message and writes nothing when the output folder cannot be used', async () => {
    const labels = await writeLabels('io.nii.gz');
    const blocker = join(dir, 'not-a-folder');
    await writeFile(blocker, 'x');
    const r = await cli('mesh', labels, '-o', join(blocker, 'meshes'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Cannot write to .*not-a-folder/);
  });

  it('answers bad flags with usage (exit 2)', async () => {
    const labels = await writeLabels('usage.nii.gz');
    expect((await cli('mesh', labels)).code).toBe(2);
    expect((await cli('mesh', labels, '-o', dir, '--format', 'vtk')).code).toBe(2);
    expect((await cli('mesh', labels, '-o', dir, '--smoothing', '3')).code).toBe(2);
    expect((await cli('mesh', labels, '-o', dir, '--labels', 'a')).code).toBe(2);
    expect((await cli('mesh', join(dir, 'missing.nii.gz'), '-o', dir)).code).toBe(1);
  });
});
