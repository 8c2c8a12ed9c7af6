/**
 * 'mesh.build' and 'mesh.export' through the compute dispatcher, in-process, on the real core and real data: the
 * expert tumour mask of a TCIA glioblastoma study (NIfTI) on the grid of its T1 post-contrast image. The surfaces
 * must be exactly what core's meshSegments gives for the same labelmap and options (same metrics, same vertices),
 * travel through the RPC codec as typed arrays, and the export must write the files and the sidecar atomically,
 * reuse the previewed build, and leave nothing behind when a write fails.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentationData } from '../../../main/common/api';
import { isCancelled } from '../../../main/common/errors';
import type { MeshSegmentsResult } from '../../../main/common/mesh';
import type { MeshBuildResult, MeshExportResult } from '../../../main/common/mesh-service';
import type { Progress } from '../../../main/common/progress';
import { decodeMessage, encodeMessage } from '../../../main/common/rpc';
import type { Labelmap, VolumeInfo } from '../../../main/common/volume';
import { core } from '../../../main/compute/core';
import type { HandlerOptions } from '../../../main/compute/server';
import { ComputeService } from '../../../main/compute/service';
import { readImageFile } from '../../../main/core/io/index';
import { labelmapFromVolume, meshSegments } from '../../../main/core/mesh/index';
import { dataPath, hasData } from '../../helpers/data';
import { rejection } from '../../helpers/errors';

const DIR = 'tcia-brain-tumor-progression/nifti/PGBM-003_03-29-1995';
const IMAGE = `${DIR}/PGBM-003_03-29-1995_T1post.nii.gz`;
const MASK = `${DIR}/PGBM-003_03-29-1995_MaskTumor.nii.gz`;

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'delineate-mesh-svc-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function opts(progress: Progress[] = [], signal = new AbortController().signal): HandlerOptions {
  return { signal, onProgress: (p) => progress.push(p) };
}

describe.skipIf(!hasData(IMAGE, MASK))('compute service: mesh.build / mesh.export on a real tumour mask', () => {
  let service: ComputeService;
  let info: VolumeInfo;
  let labelmap: Labelmap;
  let data: SegmentationData;
  let reference: MeshSegmentsResult;
  const segments = [{ value: 1, name: 'tumour', color: [230, 80, 80] as [number, number, number], layer: 0 }];

  beforeAll(async () => {
    service = new ComputeService({ transport: 'web', version: 'test-1.2.3', userDataDir: tempDir(), nativeDialogs: false }, core);
    const scan = (await service.handle('volumes.scan', { path: dataPath(IMAGE) }, opts())) as { volumes: VolumeInfo[] };
    info = scan.volumes[0]!;
    const maskVolume = await readImageFile(dataPath(MASK));
    labelmap = labelmapFromVolume(maskVolume, MASK, [{ value: 1, name: 'tumour', color: [230, 80, 80] }]);
    // The mask is on the image's grid (the test depends on it: the service meshes on the image's grid).
    expect(labelmap.size).toEqual(info.size);
    labelmap.originMm.forEach((o, a) => expect(o).toBeCloseTo(info.originMm[a]!, 3));
    labelmap.direction.forEach((d, a) => expect(d).toBeCloseTo(info.direction[a]!, 6));
    labelmap.spacingMm.forEach((s, a) => expect(s).toBeCloseTo(info.spacingMm[a]!, 5));
    // Mesh on exactly the grid the service uses (the image's), so vertices can be compared bit for bit.
    labelmap = { ...labelmap, size: [...info.size], spacingMm: [...info.spacingMm], originMm: [...info.originMm], direction: [...info.direction] };
    data = { dataType: labelmap.dataType, labels: labelmap.data, segments };
    reference = await meshSegments(labelmap, { smoothing: 0.5, decimate: 0, space: 'LPS' });
    expect(reference.meshes).toHaveLength(1);
  }, 120_000);

  it('builds the same surface as core meshSegments (metrics and vertices), with progress in segments', async () => {
    const progress: Progress[] = [];
    const r = (await service.handle('mesh.build', { volumeId: info.id, ...data, smoothing: 0.5 }, opts(progress))) as MeshBuildResult;
    expect(r.surfaces).toHaveLength(1);
    const s = r.surfaces[0]!;
    const m = reference.meshes[0]!;
    expect(s.value).toBe(1);
    expect(s.name).toBe('tumour');
    expect(s.color).toEqual([230, 80, 80]);
    expect(s.metrics).toEqual(m.metrics);
    expect(s.voxels).toEqual(m.voxels);
    expect(s.positions).toBeInstanceOf(Float32Array);
    expect(s.indices).toBeInstanceOf(Uint32Array);
    expect(Array.from(s.positions)).toEqual(Array.from(m.positions));
    expect(Array.from(s.indices)).toEqual(Array.from(m.indices));
    // Quality of the real mask's surface: closed, manifold, within 2 % of the voxel volume.
    expect(s.metrics.closed).toBe(true);
    expect(s.metrics.manifold).toBe(true);
    expect(Math.abs(s.volumeRelativeDifference)).toBeLessThan(0.02);
    expect(s.metrics.triangleCount).toBe(s.indices.length / 3);
    expect(r.parameters.space).toBe('LPS');
    expect(progress.some((p) => p.stage === 'mesh' && p.total === 1)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ stage: 'mesh', done: 1, total: 1 });
  }, 60_000);

  it('carries the surfaces through the RPC codec as typed arrays', async () => {
    const r = (await service.handle('mesh.build', { volumeId: info.id, ...data, smoothing: 0.5 }, opts())) as MeshBuildResult;
    expect(r.seconds).toBe(0); // the same labels and options: the last build is reused
    const decoded = decodeMessage(encodeMessage({ t: 'res', id: 7, result: r })) as { t: 'res'; result: MeshBuildResult };
    const s = decoded.result.surfaces[0]!;
    expect(s.positions).toBeInstanceOf(Float32Array);
    expect(s.normals).toBeInstanceOf(Float32Array);
    expect(s.indices).toBeInstanceOf(Uint32Array);
    expect(Array.from(s.positions)).toEqual(Array.from(r.surfaces[0]!.positions));
    expect(Array.from(s.indices)).toEqual(Array.from(r.surfaces[0]!.indices));
    expect(s.metrics).toEqual(r.surfaces[0]!.metrics);
  }, 60_000);

  it('RAS vertices are the LPS ones with x and y negated; decimation matches core too', async () => {
    const ras = (await service.handle('mesh.build', { volumeId: info.id, ...data, space: 'RAS' }, opts())) as MeshBuildResult;
    const lps = reference.meshes[0]!.positions;
    const p = ras.surfaces[0]!.positions;
    expect(p.length).toBe(lps.length);
    for (let i = 0; i < p.length; i += 3) {
      expect(p[i]).toBeCloseTo(-lps[i]!, 3);
      expect(p[i + 1]).toBeCloseTo(-lps[i + 1]!, 3);
      expect(p[i + 2]).toBeCloseTo(lps[i + 2]!, 3);
    }
    expect(ras.parameters.space).toBe('RAS');
    const dec = (await service.handle('mesh.build', { volumeId: info.id, ...data, smoothing: 0.2, decimate: 0.5 }, opts())) as MeshBuildResult;
    const coreDec = await meshSegments(labelmap, { smoothing: 0.2, decimate: 0.5 });
    expect(dec.surfaces[0]!.metrics).toEqual(coreDec.meshes[0]!.metrics);
    expect(dec.surfaces[0]!.metrics.triangleCount).toBeLessThan(reference.meshes[0]!.metrics.triangleCount);
  }, 60_000);

  it('exports binary STL per segment with the sidecar, writing exactly the previewed mesh', async () => {
    const out = join(tempDir(), 'meshes');
    await service.handle('mesh.build', { volumeId: info.id, ...data, smoothing: 0.5, decimate: 0 }, opts());
    // The 3D view's surfaces rebuilt in between (other options): the previewed build is still kept.
    await service.handle('mesh.build', { volumeId: info.id, ...data, smoothing: 0.5, decimate: 0.5 }, opts());
    const progress: Progress[] = [];
    const r = (await service.handle('mesh.export', { volumeId: info.id, ...data, smoothing: 0.5, decimate: 0, outputDir: out, format: 'stl' }, opts(progress))) as MeshExportResult;
    expect(r.reusedBuild).toBe(true);
    expect(r.coordinateSystem).toBe('LPS');
    expect(r.files).toHaveLength(2);
    expect(r.files[0]).toBe(join(out, 'PGBM-003_03-29-1995_T1post_1_tumour.stl'));
    expect(r.sidecarPath).toBe(join(out, 'PGBM-003_03-29-1995_T1post.mesh.json'));
    expect(r.files[1]).toBe(r.sidecarPath);
    expect(readdirSync(out).sort()).toEqual(['PGBM-003_03-29-1995_T1post.mesh.json', 'PGBM-003_03-29-1995_T1post_1_tumour.stl']); // no temporaries left
    const stl = readFileSync(r.files[0]!);
    const m = reference.meshes[0]!;
    expect(stl.readUInt32LE(80)).toBe(m.metrics.triangleCount);
    expect(stl.length).toBe(84 + 50 * m.metrics.triangleCount);
    // First triangle's first vertex is the reference mesh's vertex (float32, LPS mm).
    const v0 = 3 * m.indices[0]!;
    expect(stl.readFloatLE(84 + 12)).toBe(m.positions[v0]);
    expect(stl.readFloatLE(84 + 16)).toBe(m.positions[v0 + 1]);
    expect(stl.readFloatLE(84 + 20)).toBe(m.positions[v0 + 2]);
    const sidecar = JSON.parse(readFileSync(r.sidecarPath, 'utf8')) as {
      coordinateSystem: string;
      units: string;
      format: string;
      encoding: string;
      createdBy: string;
      source: { file: string; size: number[] };
      segments: { value: number; name: string; color: number[]; metrics: unknown; file: string }[];
      parameters: { smoothing: { factor: number }; decimation: { targetReduction: number } };
    };
    expect(sidecar).toMatchObject({ coordinateSystem: 'LPS', units: 'mm', format: 'stl', encoding: 'binary', createdBy: 'Delineate test-1.2.3' });
    expect(sidecar.source.file).toBe(dataPath(IMAGE));
    expect(sidecar.source.size).toEqual(info.size);
    expect(sidecar.segments).toHaveLength(1);
    expect(sidecar.segments[0]).toMatchObject({ value: 1, name: 'tumour', color: [230, 80, 80], file: 'PGBM-003_03-29-1995_T1post_1_tumour.stl' });
    expect(sidecar.segments[0]!.metrics).toEqual(m.metrics);
    expect(sidecar.parameters.smoothing.factor).toBe(0.5);
    expect(sidecar.parameters.decimation.targetReduction).toBe(0);
    expect(r.segments[0]!.metrics).toEqual(m.metrics);
    expect(progress.at(-1)).toMatchObject({ stage: 'write', done: 1, total: 1 });
  }, 60_000);

  it('exports merged OBJ in RAS (meshing again when the options differ from the last build)', async () => {
    const out = tempDir();
    const r = (await service.handle('mesh.export', { volumeId: info.id, ...data, space: 'RAS', outputDir: out, format: 'obj', merge: true }, opts())) as MeshExportResult;
    expect(r.reusedBuild).toBe(false);
    expect(r.coordinateSystem).toBe('RAS');
    expect(readdirSync(out).sort()).toEqual(['PGBM-003_03-29-1995_T1post.mesh.json', 'PGBM-003_03-29-1995_T1post.obj']);
    const obj = readFileSync(join(out, 'PGBM-003_03-29-1995_T1post.obj'), 'utf8');
    const first = /^v (\S+) (\S+) (\S+)$/m.exec(obj)!;
    const lps = reference.meshes[0]!.positions;
    expect(Number(first[1])).toBeCloseTo(-lps[0]!, 3);
    expect(Number(first[2])).toBeCloseTo(-lps[1]!, 3);
    expect(Number(first[3])).toBeCloseTo(lps[2]!, 3);
  }, 60_000);

  it('leaves nothing behind when a write fails part-way, and refuses an output folder it cannot create', async () => {
    const out = tempDir();
    // A folder where the sidecar should go: the mesh file is renamed into place first, then the sidecar's rename
    // fails — the whole set must be rolled back.
    mkdirSync(join(out, 'PGBM-003_03-29-1995_T1post.mesh.json'));
    const e = await rejection(service.handle('mesh.export', { volumeId: info.id, ...data, outputDir: out, format: 'stl' }, opts()));
    expect(e.code).toBe('IO');
    expect(readdirSync(out)).toEqual(['PGBM-003_03-29-1995_T1post.mesh.json']);
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const e2 = await rejection(service.handle('mesh.export', { volumeId: info.id, ...data, outputDir: join(file, 'sub'), format: 'stl' }, opts()));
    expect(e2.code).toBe('IO');
    expect(e2.message).toContain(join(file, 'sub'));
    expect(existsSync(join(file, 'sub'))).toBe(false);
  }, 60_000);

  it('refuses bad params with errors naming the field, an empty selection with INPUT, and honours cancel', async () => {
    const base = { volumeId: info.id, ...data };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ...base, labels: data.labels.slice(0, 10) }, 'USAGE', 'params.labels'],
      [{ ...base, smoothing: 1.5 }, 'USAGE', 'params.smoothing'],
      [{ ...base, smoothing: '0.5' }, 'PROTOCOL', 'params.smoothing'],
      [{ ...base, decimate: 1 }, 'USAGE', 'params.decimate'],
      [{ ...base, space: 'lps' }, 'USAGE', 'params.space'],
      [{ ...base, values: [] }, 'USAGE', 'params.values'],
      [{ ...base, values: [0] }, 'USAGE', 'params.values'],
      [{ ...base, outputDir: '/tmp' }, 'PROTOCOL', 'params.outputDir'],
      [{ ...base, volumeId: 'nope' }, 'NOT_FOUND', 'params.volumeId'],
    ];
    for (const [params, code, subject] of cases) {
      const e = await rejection(service.handle('mesh.build', params, opts()));
      expect([e.code, e.subject]).toEqual([code, subject]);
    }
    const exportCases: [Record<string, unknown>, string, string][] = [
      [{ ...base, outputDir: 'relative/dir', format: 'stl' }, 'USAGE', 'params.outputDir'],
      [{ ...base, outputDir: tempDir(), format: 'fbx' }, 'USAGE', 'params.format'],
      [{ ...base, outputDir: tempDir(), format: 'stl', merge: 'yes' }, 'PROTOCOL', 'params.merge'],
    ];
    for (const [params, code, subject] of exportCases) {
      const e = await rejection(service.handle('mesh.export', params, opts()));
      expect([e.code, e.subject]).toEqual([code, subject]);
    }
    const empty = tempDir();
    const e = await rejection(service.handle('mesh.export', { ...base, values: [2], outputDir: empty, format: 'stl' }, opts()));
    expect(e.code).toBe('INPUT');
    expect(e.message).toContain('label 2');
    expect(readdirSync(empty)).toEqual([]);
    const built = (await service.handle('mesh.build', { ...base, values: [2] }, opts())) as MeshBuildResult;
    expect(built.surfaces).toEqual([]);
    expect(built.skipped.map((s) => s.value)).toEqual([2]);

    const ac = new AbortController();
    ac.abort();
    const cancelled = await service.handle('mesh.build', { ...base, smoothing: 0.3 }, opts([], ac.signal)).then(
      () => 'finished',
      (err: unknown) => (isCancelled(err) ? 'cancelled' : err),
    );
    expect(cancelled).toBe('cancelled');
  }, 60_000);
});
