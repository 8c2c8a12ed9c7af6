/**
 * Autosave and crash recovery through the compute dispatcher (issue 5), on the real core and a synthetic series
 * written to a temporary folder: a "crash" is a ComputeService dropped without saving (no dispose); a new service on
 * the same user-data folder scans the same file (a new volume id) and recovers the segmentation voxel for voxel.
 * Also: an explicit save removes the autosave, discard removes it, a torn write (crash before the rename) leaves
 * the previous autosave intact, a damaged file is reported (not thrown at the renderer) so it can be discarded, the
 * source image is never written, and uint16 labels round-trip.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentationData } from '../../../main/common/api';
import type { VolumeInfo } from '../../../main/common/volume';
import { AUTOSAVE_DIR, AutosaveStore, autosaveKey } from '../../../main/compute/autosave';
import { core } from '../../../main/compute/core';
import type { HandlerOptions } from '../../../main/compute/server';
import { ComputeService } from '../../../main/compute/service';
import { writeVolume } from '../../../main/core/io/index';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'delineate-autosave-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const opts = (): HandlerOptions => ({ signal: new AbortController().signal, onProgress: () => {} });
const SIZE: [number, number, number] = [24, 20, 12];
const N = SIZE[0] * SIZE[1] * SIZE[2];

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A deterministic labelmap with three segments and scattered voxels (not compressible to nothing). */
function labelsFor(seed: number): Uint8Array {
  const l = new Uint8Array(N);
  let x = seed;
  for (let i = 0; i < N; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const r = x >>> 24;
    l[i] = r < 180 ? 0 : r < 220 ? 1 : r < 250 ? 2 : 7;
  }
  return l;
}

const segments = [
  { value: 1, name: 'tumour core', color: [230, 80, 80] as [number, number, number], layer: 0 },
  { value: 2, name: 'oedema', color: [80, 200, 120] as [number, number, number], layer: 0, algorithmType: 'MANUAL' as const },
  { value: 7, name: 'necrosis', color: [90, 140, 240] as [number, number, number], layer: 0 },
];

describe('autosave and crash recovery through the compute service', () => {
  const image = join(tempDir(), 'series.nrrd');
  let imageHash = '';
  const userData = tempDir();
  const config = { transport: 'web' as const, version: 'test', userDataDir: userData, nativeDialogs: false };

  async function open(service: ComputeService): Promise<VolumeInfo> {
    const scan = (await service.handle('volumes.scan', { path: image }, opts())) as { volumes: VolumeInfo[] };
    expect(scan.volumes).toHaveLength(1);
    return scan.volumes[0]!;
  }

  beforeAll(async () => {
    const data = new Int16Array(N);
    for (let i = 0; i < N; i++) data[i] = (i * 37) % 1000 - 200;
    await writeVolume(
      { size: SIZE, spacingMm: [0.9, 0.9, 2.5], originMm: [-10, 20, 5], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'int16', data },
      image,
    );
    imageHash = sha(image);
  }, 60_000);

  it('recovers an unsaved segmentation voxel for voxel after the session is lost', async () => {
    const before = new ComputeService(config, core);
    const info = await open(before);
    expect(await before.handle('autosave.find', { volumeId: info.id }, opts())).toBeNull();
    const edited: SegmentationData = { dataType: 'uint8', labels: labelsFor(1), segments };
    const first = (await before.handle('autosave.write', { volumeId: info.id, origin: 'brain-tumour-t1c (fast)', ...edited, labels: edited.labels.slice() }, opts())) as { savedAtMs: number };
    // A later autosave replaces the first.
    const later: SegmentationData = { ...edited, labels: labelsFor(2) };
    const second = (await before.handle('autosave.write', { volumeId: info.id, origin: 'brain-tumour-t1c (fast)', ...later, labels: later.labels.slice() }, opts())) as { savedAtMs: number };
    expect(second.savedAtMs).toBeGreaterThanOrEqual(first.savedAtMs);
    // "Crash": the service is dropped — no save, no dispose. A new one starts on the same user-data folder.
    const after = new ComputeService(config, core);
    const info2 = await open(after);
    const found = (await after.handle('autosave.find', { volumeId: info2.id }, opts())) as { savedAtMs: number; origin: string; segmentCount: number; labelledVoxels: number };
    expect(found).toMatchObject({ savedAtMs: second.savedAtMs, origin: 'brain-tumour-t1c (fast)', segmentCount: 3 });
    expect(found.labelledVoxels).toBe(Array.from(later.labels).filter((v) => v !== 0).length);
    const back = (await after.handle('autosave.recover', { volumeId: info2.id }, opts())) as SegmentationData & { savedAtMs: number };
    expect(back.dataType).toBe('uint8');
    expect(back.labels).toBeInstanceOf(Uint8Array);
    expect(back.labels.length).toBe(N);
    let diff = 0;
    for (let i = 0; i < N; i++) if (back.labels[i] !== later.labels[i]) diff++;
    expect(diff).toBe(0);
    expect(back.segments).toEqual(segments);
    // The source image is never written.
    expect(sha(image)).toBe(imageHash);
    // Recovering does not remove the autosave (a second crash before saving still recovers).
    expect(await after.handle('autosave.find', { volumeId: info2.id }, opts())).not.toBeNull();
  }, 60_000);

  it('an explicit save removes the autosave; discard removes it too', async () => {
    const service = new ComputeService(config, core);
    const info = await open(service);
    const seg: SegmentationData = { dataType: 'uint8', labels: labelsFor(3), segments };
    await service.handle('autosave.write', { volumeId: info.id, origin: 'new', ...seg, labels: seg.labels.slice() }, opts());
    expect(await service.handle('autosave.find', { volumeId: info.id }, opts())).not.toBeNull();
    const out = join(tempDir(), 'saved.seg.nrrd');
    await service.handle('segmentation.save', { volumeId: info.id, path: out, format: 'slicer-seg', ...seg, labels: seg.labels.slice() }, opts());
    expect(existsSync(out)).toBe(true);
    expect(await service.handle('autosave.find', { volumeId: info.id }, opts())).toBeNull();
    await expect(service.handle('autosave.recover', { volumeId: info.id }, opts())).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await service.handle('autosave.write', { volumeId: info.id, origin: 'new', ...seg, labels: seg.labels.slice() }, opts());
    expect(await service.handle('autosave.discard', { volumeId: info.id }, opts())).toEqual({ discarded: true });
    expect(await service.handle('autosave.discard', { volumeId: info.id }, opts())).toEqual({ discarded: false });
    expect(await service.handle('autosave.find', { volumeId: info.id }, opts())).toBeNull();
    expect(sha(image)).toBe(imageHash);
  }, 60_000);

  it('writes, saves and discards of one series apply in the order they were asked', async () => {
    const service = new ComputeService(config, core);
    const info = await open(service);
    const seg: SegmentationData = { dataType: 'uint8', labels: labelsFor(4), segments };
    const out = join(tempDir(), 'ordered.seg.nrrd');
    // Sent back to back without waiting (as the renderer may): the save, asked last, wins.
    const w = service.handle('autosave.write', { volumeId: info.id, origin: 'x', ...seg, labels: seg.labels.slice() }, opts());
    const s = service.handle('segmentation.save', { volumeId: info.id, path: out, format: 'slicer-seg', ...seg, labels: seg.labels.slice() }, opts());
    await Promise.all([w, s]);
    expect(await service.handle('autosave.find', { volumeId: info.id }, opts())).toBeNull();
  }, 60_000);

  it('a crash in the middle of a write leaves the previous autosave readable', async () => {
    const service = new ComputeService(config, core);
    const info = await open(service);
    const seg: SegmentationData = { dataType: 'uint8', labels: labelsFor(5), segments };
    await service.handle('autosave.write', { volumeId: info.id, origin: 'kept', ...seg, labels: seg.labels.slice() }, opts());
    // What a crash before the rename leaves: a half-written temporary file next to the autosave.
    const dir = join(userData, AUTOSAVE_DIR);
    const key = readdirSync(dir).find((f) => f.endsWith('.autosave'))!.replace('.autosave', '');
    const tmp = join(dir, `${key}.autosave.99999.deadbeef.tmp`);
    writeFileSync(tmp, Buffer.from('DLNAUTO1\x10\x00\x00\x00{"version":1,'));
    const restarted = new ComputeService(config, core);
    const info2 = await open(restarted);
    const back = (await restarted.handle('autosave.recover', { volumeId: info2.id }, opts())) as SegmentationData & { origin: string };
    expect(back.origin).toBe('kept');
    expect(Buffer.from(back.labels).equals(Buffer.from(seg.labels))).toBe(true);
    // Old leftovers are cleaned when a compute process starts; fresh ones (maybe a write in flight) are left.
    const store = new AutosaveStore(userData);
    expect(await store.cleanTemporary()).toBe(0);
    utimesSync(tmp, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    expect(await store.cleanTemporary()).toBe(1);
    expect(existsSync(tmp)).toBe(false);
  }, 60_000);

  it('reports a damaged autosave so it can be discarded', async () => {
    const service = new ComputeService(config, core);
    const info = await open(service);
    const seg: SegmentationData = { dataType: 'uint8', labels: labelsFor(6), segments };
    await service.handle('autosave.write', { volumeId: info.id, origin: 'x', ...seg, labels: seg.labels.slice() }, opts());
    const store = new AutosaveStore(userData);
    const path = store.pathOf(info);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 40)); // truncated: the gzip stream is cut
    const found = (await service.handle('autosave.find', { volumeId: info.id }, opts())) as { problem?: string };
    expect(found).toMatchObject({ origin: 'x' }); // the header is intact: only reading the voxels finds the damage
    expect(found.problem).toBeUndefined();
    const e = await service.handle('autosave.recover', { volumeId: info.id }, opts()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'INPUT' });
    expect(String((e as Error).message)).toContain(path);
    writeFileSync(path, Buffer.from('not an autosave at all'));
    const f2 = (await service.handle('autosave.find', { volumeId: info.id }, opts())) as { problem?: string };
    expect(f2?.problem).toMatch(/damaged/);
    expect(await service.handle('autosave.discard', { volumeId: info.id }, opts())).toEqual({ discarded: true });
  }, 60_000);

  it('round-trips uint16 labels and refuses labels of the wrong size', async () => {
    const service = new ComputeService(config, core);
    const info = await open(service);
    const labels = new Uint16Array(N);
    for (let i = 0; i < N; i += 7) labels[i] = 300 + (i % 5);
    const segs = [300, 301, 302, 303, 304].map((value) => ({ value, name: `s${value}`, color: [1, 2, 3] as [number, number, number], layer: 0 }));
    await service.handle('autosave.write', { volumeId: info.id, origin: 'u16', dataType: 'uint16', labels: labels.slice(), segments: segs }, opts());
    const back = (await service.handle('autosave.recover', { volumeId: info.id }, opts())) as SegmentationData;
    expect(back.labels).toBeInstanceOf(Uint16Array);
    expect(Array.from(back.labels)).toEqual(Array.from(labels));
    await expect(
      service.handle('autosave.write', { volumeId: info.id, origin: 'x', dataType: 'uint8', labels: new Uint8Array(N - 1), segments: [] }, opts()),
    ).rejects.toMatchObject({ code: 'USAGE', subject: 'params.labels' });
    await expect(service.handle('autosave.write', { volumeId: info.id, dataType: 'uint8', labels: new Uint8Array(N), segments: [] }, opts())).rejects.toMatchObject({
      code: 'PROTOCOL',
      subject: 'params.origin',
    });
    await service.handle('autosave.discard', { volumeId: info.id }, opts());
  }, 60_000);

  it('keys autosaves by series: another grid or source does not see them', () => {
    const base: VolumeInfo = {
      id: 'a',
      source: '/data/ct',
      modality: 'CT',
      description: '',
      size: [2, 2, 2],
      spacingMm: [1, 1, 1],
      originMm: [0, 0, 0],
      direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      dataType: 'int16',
      files: [],
      warnings: [],
      study: { seriesInstanceUid: '1.2.3' },
    };
    const k = autosaveKey(base);
    expect(autosaveKey({ ...base, id: 'b~2' })).toBe(k); // the volume id is not part of the key
    expect(autosaveKey({ ...base, source: '/data/mr' })).not.toBe(k);
    expect(autosaveKey({ ...base, study: { seriesInstanceUid: '1.2.4' } })).not.toBe(k);
    expect(autosaveKey({ ...base, size: [2, 2, 3] })).not.toBe(k);
    expect(statSync(image).size).toBeGreaterThan(0);
  });
});
