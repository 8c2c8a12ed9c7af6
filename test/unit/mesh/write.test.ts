/**
 * Mesh file encoders (parsed back here byte by byte) and the atomic set write with its sidecar.
 */
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Labelmap } from '../../../main/common/volume';
import { encodeObj, encodePly, encodeStlAscii, encodeStlBinary, meshSegments, writeMeshFiles } from '../../../main/core/mesh/index';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'delineate-mesh-'));
  dirs.push(d);
  return d;
}

function twoLabels(): Labelmap {
  const size: [number, number, number] = [12, 8, 8];
  const data = new Uint8Array(12 * 8 * 8);
  for (let k = 2; k < 6; k++) for (let j = 2; j < 6; j++) for (let i = 1; i < 11; i++) data[i + 12 * (j + 8 * k)] = i < 6 ? 1 : 2;
  return { size, spacingMm: [1, 1, 2], originMm: [10, 20, 30], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'uint8', data, segments: [{ value: 2, name: 'right part', color: [255, 0, 0] }] };
}

describe('encoders', async () => {
  const { meshes } = await meshSegments(twoLabels(), { smoothing: 0 });
  const m = meshes[0]!;

  it('binary STL: header, count, and 50-byte records with unit facet normals and exact float32 vertices', () => {
    const bytes = encodeStlBinary([m], 'solid-looking header');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const nt = m.indices.length / 3;
    expect(bytes.length).toBe(84 + 50 * nt);
    expect(new TextDecoder().decode(bytes.subarray(0, 5))).not.toBe('solid');
    expect(dv.getUint32(80, true)).toBe(nt);
    const t = 5;
    const o = 84 + 50 * t;
    expect(Math.hypot(dv.getFloat32(o, true), dv.getFloat32(o + 4, true), dv.getFloat32(o + 8, true))).toBeCloseTo(1, 6);
    const a = m.indices[3 * t]!;
    expect(dv.getFloat32(o + 12, true)).toBe(m.positions[3 * a]);
    expect(dv.getFloat32(o + 20, true)).toBe(m.positions[3 * a + 2]);
  });

  it('ASCII STL, OBJ and PLY carry the same triangles', () => {
    const nt = m.indices.length / 3;
    const stl = new TextDecoder().decode(encodeStlAscii([m]));
    expect(stl.startsWith('solid Segment_1\n')).toBe(true);
    expect(stl.match(/facet normal/g)!.length).toBe(nt);
    const obj = new TextDecoder().decode(encodeObj([m], ['coordinate system LPS, units mm']));
    expect(obj.startsWith('# coordinate system LPS, units mm\no Segment_1\n')).toBe(true);
    expect(obj.match(/^f /gm)!.length).toBe(nt);
    expect(obj.match(/^vn /gm)!.length).toBe(m.positions.length / 3);
    const plyA = new TextDecoder().decode(encodePly([m], ['LPS mm'], true));
    expect(plyA).toContain(`element vertex ${m.positions.length / 3}\n`);
    expect(plyA).toContain(`element face ${nt}\n`);
    const ply = encodePly([m], ['LPS mm'], false);
    const headerEnd = new TextDecoder().decode(ply).indexOf('end_header\n') + 'end_header\n'.length;
    expect(ply.length).toBe(headerEnd + 27 * (m.positions.length / 3) + 13 * nt);
    const dv = new DataView(ply.buffer, ply.byteOffset);
    expect(dv.getFloat32(headerEnd, true)).toBe(m.positions[0]);
    const faces = headerEnd + 27 * (m.positions.length / 3);
    expect(dv.getUint8(faces)).toBe(3);
    expect(dv.getInt32(faces + 1, true)).toBe(m.indices[0]);
  });
});

describe('writeMeshFiles', () => {
  it('writes one file per segment plus the sidecar, and nothing else', async () => {
    const dir = join(await tmp(), 'new', 'folder');
    const lm = twoLabels();
    const result = await meshSegments(lm);
    const out = await writeMeshFiles(result, { outputDir: dir, format: 'stl', sourceFile: '/data/case.nii.gz', sourceGrid: lm });
    expect((await readdir(dir)).sort()).toEqual(['case.mesh.json', 'case_1_Segment_1.stl', 'case_2_right_part.stl']);
    const sidecar = JSON.parse(await readFile(out.sidecarPath, 'utf8'));
    expect(sidecar).toMatchObject({ coordinateSystem: 'LPS', units: 'mm', format: 'stl', encoding: 'binary', merged: false });
    expect(sidecar.source).toMatchObject({ file: '/data/case.nii.gz', spacingMm: [1, 1, 2], originMm: [10, 20, 30] });
    expect(sidecar.parameters.smoothing).toMatchObject({ factor: 0.5, iterations: 20, passBand: 0.01 });
    expect(sidecar.segments.map((s: { name: string; color: number[]; file: string }) => [s.name, s.color, s.file])).toEqual([
      ['Segment 1', [128, 174, 128], 'case_1_Segment_1.stl'],
      ['right part', [255, 0, 0], 'case_2_right_part.stl'],
    ]);
    expect(sidecar.segments[0].metrics).toMatchObject({ closed: true, manifold: true, eulerCharacteristic: 2 });
    const stl = await readFile(join(dir, 'case_2_right_part.stl'));
    expect(stl.readUInt32LE(80)).toBe(sidecar.segments[1].metrics.triangleCount);
  });

  it('merges every segment into one file on request', async () => {
    const dir = await tmp();
    const lm = twoLabels();
    const out = await writeMeshFiles(await meshSegments(lm), { outputDir: dir, format: 'ply', merge: true, sourceFile: 'x/seg.nrrd', sourceGrid: lm });
    expect((await readdir(dir)).sort()).toEqual(['seg.mesh.json', 'seg.ply']);
    expect(out.sidecar.segments.every((s) => s.file === 'seg.ply')).toBe(true);
  });

  it('fails with IO and leaves nothing behind when the folder cannot be created or a file cannot be placed', async () => {
    const base = await tmp();
    const lm = twoLabels();
    const result = await meshSegments(lm);
    await writeFile(join(base, 'a-file'), 'x');
    await expect(writeMeshFiles(result, { outputDir: join(base, 'a-file', 'sub'), format: 'stl', sourceFile: 'c.nii', sourceGrid: lm })).rejects.toMatchObject({ code: 'IO' });
    // A folder squatting on the second file's name: the rename fails after the first file was placed.
    const dir = join(base, 'out');
    await mkdir(join(dir, 'c_2_right_part.stl'), { recursive: true });
    await expect(writeMeshFiles(result, { outputDir: dir, format: 'stl', sourceFile: 'c.nii', sourceGrid: lm })).rejects.toMatchObject({ code: 'IO' });
    expect(await readdir(dir)).toEqual(['c_2_right_part.stl']);
  });

  it('refuses to write an empty result', async () => {
    const lm = twoLabels();
    await expect(writeMeshFiles({ meshes: [], skipped: [], parameters: (await meshSegments(lm)).parameters }, { outputDir: await tmp(), format: 'stl', sourceFile: 'c.nii', sourceGrid: lm })).rejects.toMatchObject({ code: 'INPUT' });
  });
});
