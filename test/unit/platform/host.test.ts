/**
 * The web host end to end in Node: static serving with token, CSP and traversal protection; the /rpc WebSocket
 * with a real compute worker thread (main/compute/worker.ts on the real core) and real data.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { AppInfo, LoadedVolume } from '../../../main/common/api';
import { DelineateError } from '../../../main/common/errors';
import { RpcClient } from '../../../main/common/rpc-client';
import type { ScanResult } from '../../../main/common/volume';
import { startWebHost, type WebHost } from '../../../main/host/server';
import { dataPath, hasData } from '../../helpers/data';

const TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
let host: WebHost;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'delineate-host-'));
  const renderer = join(root, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Delineate</title><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'secret.txt'), 'secret');
  symlinkSync(join(root, 'secret.txt'), join(renderer, 'assets', 'link.txt'));
  host = await startWebHost({ port: 0, token: TOKEN, rendererDir: renderer, userDataDir: join(root, 'user'), dataRoot: dataPath(), version: '0.0.0-test' });
});
afterAll(async () => {
  await host?.close();
  rmSync(root, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((ok, ko) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', ko);
    req.end();
  });
}

function connect(query = `?token=${TOKEN}`, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((ok, ko) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/rpc${query}`, { headers });
    ws.binaryType = 'arraybuffer';
    ws.once('open', () => ok(ws));
    ws.once('unexpected-response', (_req, res) => ko(new Error(`refused ${res.statusCode}`)));
    ws.once('error', ko);
  });
}

function clientOver(ws: WebSocket): RpcClient {
  const client = new RpcClient((data) => ws.send(data));
  ws.on('message', (data: ArrayBuffer) => client.receive(data));
  ws.on('close', () => client.close());
  return client;
}

describe('web host: HTTP', () => {
  it('prints a URL with the token', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${TOKEN}`);
  });

  it('answers 401 without or with a wrong token', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/?token=00000000000000000000000000000000')).status).toBe(401);
    expect((await get('/assets/app.js')).status).toBe(401);
    expect((await get(`/?token=${TOKEN.slice(0, -1)}`)).status).toBe(401);
  });

  it('serves index.html with the token, a strict CSP and a token cookie for the assets', async () => {
    const r = await get(`/?token=${TOKEN}`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>Delineate</title>');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${host.port}`);
    expect(csp).not.toMatch(/'unsafe-inline'|'unsafe-eval'/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toContain(`delineate-token-${host.port}=${TOKEN}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const asset = await get('/assets/app.js', { cookie: `delineate-token-${host.port}=${TOKEN}` });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['content-security-policy']).toBe(r.headers['content-security-policy']);
  });

  it('never serves files outside the renderer folder', async () => {
    const auth = { cookie: `delineate-token-${host.port}=${TOKEN}` };
    for (const p of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/..%5c..%5csecret.txt', '/%00', '/assets/%E0%A4%A', '/assets/link.txt']) {
      const r = await get(p, auth);
      expect([400, 404], p).toContain(r.status);
      expect(r.body).not.toContain('secret');
    }
    expect((await get('/assets', auth)).status).toBe(404); // folders are not listed
    expect((await get('/nope.js', auth)).status).toBe(404);
  });

  it('rejects other Host headers (DNS rebinding) and other methods', async () => {
    expect((await get(`/?token=${TOKEN}`, { host: 'evil.example:80' })).status).toBe(421);
    expect((await get(`/?token=${TOKEN}`, {}, 'POST')).status).toBe(405);
    expect((await get(`/?token=${TOKEN}`, { host: `localhost:${host.port}` })).status).toBe(200);
  });
});

describe('web host: /rpc WebSocket', () => {
  it('refuses sockets without the token or from another origin', async () => {
    await expect(connect('')).rejects.toThrow(/401/);
    await expect(connect('?token=ffffffffffffffffffffffffffffffff')).rejects.toThrow(/401/);
    await expect(connect(`?token=${TOKEN}`, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
  });

  it('answers app.info through the compute worker', async () => {
    const ws = await connect(`?token=${TOKEN}`, { origin: `http://127.0.0.1:${host.port}` });
    try {
      const info: AppInfo = await clientOver(ws).call('app.info', {});
      expect(info).toEqual({ name: 'Delineate', version: '0.0.0-test', transport: 'web', platform: process.platform, nativeDialogs: false, dataRoot: dataPath() });
    } finally {
      ws.close();
    }
  });

  it('returns PROTOCOL errors naming the field', async () => {
    const ws = await connect();
    try {
      const err = await clientOver(ws)
        .call('volumes.scan', { path: 42 } as unknown as { path: string })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DelineateError);
      expect(err).toMatchObject({ code: 'PROTOCOL', subject: 'params.path' });
    } finally {
      ws.close();
    }
  });

  it('closes sockets that send text frames', async () => {
    const ws = await connect();
    const closed = new Promise<number>((ok) => ws.once('close', (code) => ok(code)));
    ws.send('hello');
    expect(await closed).toBe(1003);
  });
});

describe.skipIf(!hasData('dicom-conformance/dcmqi_ct3slice_nrrd_seg/ct-3slice'))('web host: real data', () => {
  it('scans and loads a real DICOM series over the socket', async () => {
    const ws = await connect();
    try {
      const client = clientOver(ws);
      const progress: number[] = [];
      const scan: ScanResult = await client.call('volumes.scan', { path: dataPath('dicom-conformance/dcmqi_ct3slice_nrrd_seg/ct-3slice') }, { onProgress: (p) => progress.push(p.done) });
      expect(scan.volumes).toHaveLength(1);
      const info = scan.volumes[0]!;
      expect(info.size).toEqual([512, 512, 3]);
      expect(info.modality).toBe('CT');
      expect(progress.length).toBeGreaterThan(0);
      const loaded: LoadedVolume = await client.call('volumes.load', { volumeId: info.id });
      expect(loaded.info.id).toBe(info.id);
      expect(loaded.volume.size).toEqual([512, 512, 3]);
      expect(loaded.volume.spacingMm[0]).toBeCloseTo(0.8105, 3);
      expect(loaded.volume.data.length).toBe(512 * 512 * 3);
      expect(ArrayBuffer.isView(loaded.volume.data)).toBe(true);
      // CT in HU (rescale applied): air outside the body near -1000, bone well above 300.
      let min = Infinity;
      let max = -Infinity;
      for (const v of loaded.volume.data) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      expect(min).toBeGreaterThanOrEqual(-3100);
      expect(min).toBeLessThan(-900);
      expect(max).toBeGreaterThan(300);
      const thumb = await client.call('volumes.thumbnail', { volumeId: info.id, maxSize: 32 });
      expect([thumb.width, thumb.height]).toEqual([32, 32]);
      expect(Math.max(...thumb.pixels)).toBe(255);
      expect(thumb.pixels).toBeInstanceOf(Uint8Array);
    } finally {
      ws.close();
    }
  });

  it('lists the data root and keeps recent items', async () => {
    const ws = await connect();
    try {
      const client = clientOver(ws);
      const entries = await client.call('fs.list', { path: dataPath() });
      expect(entries.map((e) => e.name)).toContain('dicom-conformance');
      await client.call('recent.add', { path: dataPath('dicom-conformance/dcmqi_ct3slice_nrrd_seg/ct-3slice'), label: 'Tiny CT' });
      expect((await client.call('recent.list', {}))[0]).toMatchObject({ label: 'Tiny CT' });
    } finally {
      ws.close();
    }
  });
});

describe('web host command line', () => {
  it('refuses other interfaces, bad tokens and stray arguments with exit code 2', async () => {
    const { main } = await import('../../../main/host/index');
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['--host', '0.0.0.0'])).toBe(2);
      expect(await main(['--token', 'not-hex'])).toBe(2);
      expect(await main(['--port', '70000'])).toBe(2);
      expect(await main(['extra'])).toBe(2);
      expect(await main(['--bogus'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    const text = errors.join('');
    expect(text).toContain('--host must be 127.0.0.1');
    expect(text).toContain('The token must be 16–128 hexadecimal characters');
    expect(text).toContain('--port must be 0–65535');
    expect(text).toContain("Unexpected argument 'extra'");
    expect(text).toContain('Unknown option --bogus');
  });
});
