/**
 * The compute dispatcher in-process: params validation (PROTOCOL/USAGE naming the field), volume ids across
 * scans, thumbnails, the recent-items store, fs.list, uploads, progress and cooperative cancel through the
 * ComputeServer. Core is replaced by a small core defined here (synthetic volumes); the real core is exercised by
 * the web host test (host.test.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledSignal, DelineateError, throwIfCancelled } from '../../../main/common/errors';
import type { JobOptions, Progress } from '../../../main/common/progress';
import { decodeMessage, encodeMessage, type RpcMessage } from '../../../main/common/rpc';
import type { FromCompute } from '../../../main/common/supervisor';
import type { ScanResult, Volume, VolumeInfo } from '../../../main/common/volume';
import { MAX_RECENT } from '../../../main/compute/recent';
import { ComputeServer, PROGRESS_INTERVAL_MS } from '../../../main/compute/server';
import { ComputeService, type ServiceCore, validateParams } from '../../../main/compute/service';
import { middleSliceThumbnail } from '../../../main/compute/thumbnail';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'delineate-svc-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A volume whose voxel (i,j,k) = i + 10 j + 100 k, 4×3×5, 1×2×3 mm. */
function gradientVolume(): Volume {
  const size: [number, number, number] = [4, 3, 5];
  const data = new Int16Array(60);
  for (let k = 0; k < 5; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 4; i++) data[i + 4 * (j + 3 * k)] = i + 10 * j + 100 * k;
  return { size, spacingMm: [1, 2, 3], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'int16', data };
}

function infoFor(path: string, id: string): VolumeInfo {
  const v = gradientVolume();
  return { id, source: path, modality: 'OT', description: path, size: v.size, spacingMm: v.spacingMm, originMm: v.originMm, direction: v.direction, dataType: v.dataType, files: [path], warnings: [] };
}

/** Core for these tests: every scanned path holds one volume with id '1'; `slow` paths wait for cancel. */
class TestCore implements ServiceCore {
  scanned: string[] = [];
  async scanPath(path: string, { signal, onProgress }: JobOptions): Promise<ScanResult> {
    this.scanned.push(path);
    if (path.endsWith('slow')) {
      for (let i = 0; i < 1000; i++) {
        throwIfCancelled(signal);
        await new Promise((r) => setTimeout(r, 10));
        onProgress?.({ stage: 'scan', done: i + 1, total: 1000 });
      }
    }
    if (path.endsWith('missing')) throw new DelineateError('NOT_FOUND', `No such file or folder: ${path}`, { subject: path });
    onProgress?.({ stage: 'scan', done: 1, total: 1 });
    return { volumes: [infoFor(path, '1')], skipped: [{ path: `${path}/notes.txt`, reason: 'not an image' }] };
  }
  read: string[] = [];
  async readVolume(info: VolumeInfo): Promise<Volume> {
    if (!info.files.every((f) => f.startsWith('/'))) throw new Error('relative');
    this.read.push(info.id);
    return gradientVolume();
  }
}

function makeService(core: ServiceCore = new TestCore(), userDataDir = tempDir()) {
  return new ComputeService({ transport: 'web', version: '9.9.9', userDataDir, nativeDialogs: false, dataRoot: '/data' }, core, 'linux');
}

const noop = { signal: new AbortController().signal, onProgress: () => {} };

async function errorOf(p: Promise<unknown>): Promise<DelineateError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DelineateError) return e;
    throw e;
  }
  throw new Error('expected a DelineateError');
}

describe('params validation', () => {
  it.each([
    ['volumes.scan', undefined, 'PROTOCOL', 'params'],
    ['volumes.scan', [], 'PROTOCOL', 'params'],
    ['volumes.scan', {}, 'PROTOCOL', 'params.path'],
    ['volumes.scan', { path: 3 }, 'PROTOCOL', 'params.path'],
    ['volumes.scan', { path: 'relative/dir' }, 'USAGE', 'params.path'],
    ['volumes.scan', { path: '/a', extra: 1 }, 'PROTOCOL', 'params.extra'],
    ['volumes.load', { volumeId: '' }, 'USAGE', 'params.volumeId'],
    ['volumes.thumbnail', { volumeId: '1', maxSize: '64' }, 'PROTOCOL', 'params.maxSize'],
    ['volumes.thumbnail', { volumeId: '1', maxSize: 0 }, 'USAGE', 'params.maxSize'],
    ['volumes.thumbnail', { volumeId: '1', maxSize: 2.5 }, 'USAGE', 'params.maxSize'],
    ['recent.add', { path: '/x', label: 7 }, 'PROTOCOL', 'params.label'],
    ['recent.add', { path: 'x', label: 'x' }, 'USAGE', 'params.path'],
    ['volumes.scanUpload', { files: 'a' }, 'PROTOCOL', 'params.files'],
    ['volumes.scanUpload', { files: [] }, 'USAGE', 'params.files'],
    ['volumes.scanUpload', { files: [{ name: 'a.nii', bytes: 'xx' }] }, 'PROTOCOL', 'params.files[0].bytes'],
    ['volumes.scanUpload', { files: [{ name: '../../etc/passwd', bytes: new ArrayBuffer(1) }] }, 'USAGE', 'params.files[0].name'],
    ['fs.list', { path: '/tmp\0x' }, 'USAGE', 'params.path'],
    ['app.info', { x: 1 }, 'PROTOCOL', 'params.x'],
  ])('%s %j → %s naming %s', async (method, params, code, subject) => {
    const err = await errorOf(makeService().handle(method, params, noop));
    expect(err.code).toBe(code);
    expect(err.subject).toBe(subject);
    expect(err.message).toContain(subject.replace(/^params$/, "'"));
  });

  it('rejects unknown methods', async () => {
    const err = await errorOf(makeService().handle('volumes.delete', {}, noop));
    expect(err).toMatchObject({ code: 'PROTOCOL', subject: 'method' });
    const proto = await errorOf(makeService().handle('toString', {}, noop));
    expect(proto.code).toBe('PROTOCOL');
  });

  it('normalises paths', () => {
    expect(validateParams('volumes.scan', { path: '/a/b/../c/' })).toEqual({ path: '/a/c' });
  });
});

describe('ComputeService', () => {
  it('reports app.info from its configuration', async () => {
    expect(await makeService().handle('app.info', {}, noop)).toEqual({ name: 'Delineate', version: '9.9.9', transport: 'web', platform: 'linux', nativeDialogs: false, dataRoot: '/data' });
  });

  it('loads a scanned volume by id and keeps earlier ids valid after later scans', async () => {
    const core = new TestCore();
    const svc = makeService(core);
    const a = (await svc.handle('volumes.scan', { path: '/data/a' }, noop)) as ScanResult;
    const b = (await svc.handle('volumes.scan', { path: '/data/b' }, noop)) as ScanResult;
    const again = (await svc.handle('volumes.scan', { path: '/data/a' }, noop)) as ScanResult;
    expect(a.volumes[0]!.id).toBe('1');
    expect(b.volumes[0]!.id).toBe('1~2');
    expect(again.volumes[0]!.id).toBe('1'); // same volume, same id
    expect(a.skipped).toEqual([{ path: '/data/a/notes.txt', reason: 'not an image' }]);
    const loaded = (await svc.handle('volumes.load', { volumeId: '1~2' }, noop)) as { info: VolumeInfo; volume: Volume };
    expect(loaded.info.source).toBe('/data/b');
    expect(loaded.volume.data[59]).toBe(3 + 20 + 400);
    expect(core.read).toEqual(['1']); // core gets its own id back
    const err = await errorOf(svc.handle('volumes.load', { volumeId: 'nope' }, noop));
    expect(err).toMatchObject({ code: 'NOT_FOUND', subject: 'params.volumeId' });
  });

  it('passes core errors through unchanged', async () => {
    const err = await errorOf(makeService().handle('volumes.scan', { path: '/data/missing' }, noop));
    expect(err).toMatchObject({ code: 'NOT_FOUND', subject: '/data/missing' });
  });

  it('makes a middle-slice thumbnail with the physical aspect', async () => {
    const svc = makeService();
    await svc.handle('volumes.scan', { path: '/data/a' }, noop);
    const t = (await svc.handle('volumes.thumbnail', { volumeId: '1', maxSize: 60 }, noop)) as { width: number; height: number; pixels: Uint8Array };
    // 4 × 1 mm wide, 3 × 2 mm high → 6 mm is the long side (rows).
    expect([t.width, t.height]).toEqual([40, 60]);
    expect(t.pixels).toBeInstanceOf(Uint8Array);
    expect(t.pixels.length).toBe(40 * 60);
    // Middle slice k=2 holds 200..223: darkest at (i=0,j=0), brightest at (i=3,j=2), increasing along both axes.
    expect(t.pixels[0]).toBe(0);
    expect(t.pixels[40 * 60 - 1]).toBe(255);
    const row = (y: number) => [...t.pixels.subarray(y * 40, y * 40 + 40)];
    expect(row(0)).toEqual([...row(0)].sort((x, y) => x - y));
    expect(t.pixels[10 * 40]!).toBeLessThan(t.pixels[50 * 40]!);
  });

  it('caches thumbnails per volume and size until the volume is scanned again', async () => {
    const core = new TestCore();
    const svc = makeService(core);
    await svc.handle('volumes.scan', { path: '/data/a' }, noop);
    const a = await svc.handle('volumes.thumbnail', { volumeId: '1', maxSize: 32 }, noop);
    expect(await svc.handle('volumes.thumbnail', { volumeId: '1', maxSize: 32 }, noop)).toBe(a);
    await svc.handle('volumes.thumbnail', { volumeId: '1', maxSize: 16 }, noop);
    expect(core.read).toEqual(['1', '1']);
    await svc.handle('volumes.scan', { path: '/data/a' }, noop);
    expect(await svc.handle('volumes.thumbnail', { volumeId: '1', maxSize: 32 }, noop)).not.toBe(a);
    expect(core.read).toEqual(['1', '1', '1']);
  });

  it('keeps recent items newest first, one per path, at most MAX_RECENT, across restarts, written atomically', async () => {
    const dir = tempDir();
    const svc = makeService(new TestCore(), dir);
    expect(await svc.handle('recent.list', {}, noop)).toEqual([]);
    for (let i = 0; i < MAX_RECENT + 5; i++) await svc.handle('recent.add', { path: `/data/s${i}`, label: `S${i}` }, noop);
    await svc.handle('recent.add', { path: '/data/s10', label: 'again' }, noop);
    const list = (await makeService(new TestCore(), dir).handle('recent.list', {}, noop)) as { path: string; label: string }[];
    expect(list).toHaveLength(MAX_RECENT);
    expect(list[0]).toMatchObject({ path: '/data/s10', label: 'again' });
    expect(list[1]).toMatchObject({ path: `/data/s${MAX_RECENT + 4}` });
    expect(list.filter((r) => r.path === '/data/s10')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual(['recent.json']);
    expect(JSON.parse(readFileSync(join(dir, 'recent.json'), 'utf8')).version).toBe(1);
  });

  it('treats a damaged recent list as empty and repairs it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'recent.json'), '{not json');
    const svc = makeService(new TestCore(), dir);
    expect(await svc.handle('recent.list', {}, noop)).toEqual([]);
    expect(await svc.handle('recent.add', { path: '/a', label: 'A' }, noop)).toMatchObject([{ path: '/a' }]);
  });

  it('lists folders, folders first', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'zdir'));
    writeFileSync(join(dir, 'a.nii'), 'abc');
    const list = await makeService().handle('fs.list', { path: dir }, noop);
    expect(list).toEqual([
      { name: 'zdir', path: join(dir, 'zdir'), kind: 'dir' },
      { name: 'a.nii', path: join(dir, 'a.nii'), kind: 'file', sizeBytes: 3 },
    ]);
    expect(await errorOf(makeService().handle('fs.list', { path: join(dir, 'nope') }, noop))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await errorOf(makeService().handle('fs.list', { path: join(dir, 'a.nii') }, noop))).toMatchObject({ code: 'USAGE' });
  });

  it('writes uploads to its own folder, keeping relative names, and scans them', async () => {
    const core = new TestCore();
    const svc = makeService(core);
    const bytes = new TextEncoder().encode('hello').buffer;
    const result = (await svc.handle('volumes.scanUpload', { files: [{ name: 'series/a.dcm', bytes }, { name: 'b.dcm', bytes: bytes.slice(0) }] }, noop)) as ScanResult;
    const dir = core.scanned[0]!;
    expect(result.volumes[0]!.source).toBe(dir);
    expect(readFileSync(join(dir, 'series', 'a.dcm'), 'utf8')).toBe('hello');
    const dup = await errorOf(svc.handle('volumes.scanUpload', { files: [{ name: 'x/a', bytes }, { name: 'x//a', bytes }] }, noop));
    expect(dup).toMatchObject({ code: 'USAGE', subject: 'params.files' });
    svc.dispose();
    expect(() => readdirSync(dir)).toThrow();
  });
});

describe('ComputeServer + ComputeService', () => {
  function harness() {
    const out: { session: number; msg: RpcMessage }[] = [];
    /** When the server sent each message of `out` (Date.now(), same index). */
    const sentAt: number[] = [];
    const logs: string[] = [];
    const server = new ComputeServer(
      (m: FromCompute) => {
        if (m.kind === 'msg') {
          out.push({ session: m.session, msg: decodeMessage(m.data) });
          sentAt.push(Date.now());
        }
        else logs.push(m.text);
      },
      () => makeService().handle,
    );
    server.receive({ kind: 'init', config: {} });
    const send = (session: number, msg: RpcMessage) => server.receive({ kind: 'msg', session, data: encodeMessage(msg) });
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(pred()).toBe(true);
    };
    return { server, out, sentAt, send, until, logs };
  }

  it('relays throttled progress and ends with cancelled after a cancel', async () => {
    const { server, out, sentAt, send, until } = harness();
    const seen = () => out.filter((o) => o.msg.t === 'progress').length;
    send(1, { t: 'req', id: 5, method: 'volumes.scan', params: { path: '/x/slow' } });
    await until(() => seen() >= 4);
    // When the server sent them (not when this test's 10 ms polling noticed them: that measured 34 ms once on a
    // loaded machine).
    const arrivals = out.flatMap((o, i) => (o.msg.t === 'progress' ? [sentAt[i]!] : []));
    send(1, { t: 'cancel', id: 5 });
    await until(() => out.some((o) => o.msg.t === 'cancelled'));
    const progress = out.filter((o) => o.msg.t === 'progress').map((o) => (o.msg as { progress: Progress }).progress);
    // Steps of 10 ms, at most one message per PROGRESS_INTERVAL_MS (50 ms): never two messages closer than that,
    // and the counts in them advance by more than one step at a time.
    // (A timer may fire a millisecond before Date.now() says its delay has passed.)
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - 1]!).toBeGreaterThanOrEqual(PROGRESS_INTERVAL_MS - 2);
    expect(progress.at(-1)!.done).toBeGreaterThan(progress.length);
    expect(out.at(-1)).toEqual({ session: 1, msg: { t: 'cancelled', id: 5 } });
    expect(server.runningCount).toBe(0);
  });

  it('closing a session aborts its requests only', async () => {
    const { out, send, until, server } = harness();
    send(1, { t: 'req', id: 1, method: 'volumes.scan', params: { path: '/x/slow' } });
    send(2, { t: 'req', id: 1, method: 'volumes.scan', params: { path: '/x/slow' } });
    await until(() => server.runningCount === 2);
    server.receive({ kind: 'close', session: 1 });
    await until(() => out.some((o) => o.msg.t === 'cancelled'));
    expect(out.filter((o) => o.msg.t === 'cancelled').map((o) => o.session)).toEqual([1]);
    expect(server.runningCount).toBe(1);
    send(2, { t: 'cancel', id: 1 });
    await until(() => server.runningCount === 0);
  });

  it('answers validation failures and malformed buffers with err messages', async () => {
    const { out, send, server, until, logs } = harness();
    send(3, { t: 'req', id: 9, method: 'volumes.scan', params: { path: 1 } });
    await until(() => out.length === 1);
    expect(out[0]!.msg).toMatchObject({ t: 'err', id: 9, error: { code: 'PROTOCOL', subject: 'params.path' } });
    // A request without a method: the id is readable, so the sender gets a PROTOCOL error.
    send(3, { t: 'req', id: 11 } as unknown as RpcMessage);
    await until(() => out.length === 2);
    expect(out[1]!.msg).toMatchObject({ t: 'err', id: 11, error: { code: 'PROTOCOL', subject: 'method' } });
    // A corrupt header has no readable id: dropped and logged, nothing else breaks.
    const bad = encodeMessage({ t: 'req', id: 12, method: 'app.info', params: {} });
    new Uint8Array(bad)[5] = 0x7b;
    server.receive({ kind: 'msg', session: 3, data: bad });
    await until(() => logs.some((l) => /malformed RPC message/.test(l)));
    send(3, { t: 'req', id: 13, method: 'app.info', params: {} });
    await until(() => out.length === 3);
    expect(out[2]!.msg).toMatchObject({ t: 'res', id: 13 });
  });

  it('answers before init with an INTERNAL error', async () => {
    const out: RpcMessage[] = [];
    const server = new ComputeServer((m) => m.kind === 'msg' && out.push(decodeMessage(m.data)), () => makeService().handle);
    server.receive({ kind: 'msg', session: 1, data: encodeMessage({ t: 'req', id: 1, method: 'app.info', params: {} }) });
    await new Promise((r) => setTimeout(r, 20));
    expect(out[0]).toMatchObject({ t: 'err', id: 1, error: { code: 'INTERNAL' } });
  });
});

describe('middleSliceThumbnail', () => {
  it('handles NaN, constant slices and 1-voxel volumes', () => {
    const v = gradientVolume();
    const f = new Float32Array(60).fill(Number.NaN);
    const t = middleSliceThumbnail({ ...v, dataType: 'float32', data: f }, 8);
    expect([...t.pixels].every((p) => p === 0)).toBe(true);
    const one = middleSliceThumbnail({ ...v, size: [1, 1, 1], data: new Int16Array([5]) }, 16);
    expect([one.width, one.height]).toEqual([8, 16]); // 1 mm wide × 2 mm high
    expect(() => middleSliceThumbnail(v, 0)).toThrow(DelineateError);
  });

  it('is not fooled by cancellation being a non-error', () => {
    expect(new CancelledSignal()).not.toBeInstanceOf(DelineateError);
  });
});
