/**
 * main/shell/index.ts and main/shell/app-protocol.ts without an Electron binary.
 *
 * - app-protocol: the real handler on a real folder (CSP headers, traversal, symbolic links out of the folder).
 * - index.ts: loaded with `electron` replaced by a recorder of the calls it makes (there is no Electron binary
 *   here), while its compute process is REAL: the fake utilityProcess.fork runs main/compute/worker.ts in a worker
 *   thread, so an IPC request from the window goes through the controller, the supervisor, the utilityProcess
 *   launcher and the real compute service, and its answer comes back to the window.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { contentSecurityPolicy } from '../../../main/common/csp';
import { IPC } from '../../../main/common/ipc';
import { decodeMessage, encodeMessage } from '../../../main/common/rpc';
import type { ComputeHandle } from '../../../main/common/supervisor';
import { workerLauncher } from '../../../main/compute/launch-worker';
import { appProtocolHandler } from '../../../main/shell/app-protocol';

const root = mkdtempSync(join(tmpdir(), 'delineate-shell-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('app:// handler on a real folder', () => {
  const renderer = join(root, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Delineate</title>');
  writeFileSync(join(renderer, 'assets', 'a.js'), 'export {}');
  writeFileSync(join(root, 'secret.txt'), 'secret');
  symlinkSync(join(root, 'secret.txt'), join(renderer, 'assets', 'link.txt'));
  const handle = appProtocolHandler(renderer);
  const get = (url: string, method = 'GET') => handle(new Request(url, { method }));

  it('serves renderer files with the CSP', async () => {
    const r = await get('app://delineate/index.html');
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('<title>Delineate</title>');
    expect(r.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await get('app://delineate/assets/a.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const head = await get('app://delineate/', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('never leaves the renderer folder', async () => {
    for (const url of ['app://delineate/..%2fsecret.txt', 'app://delineate/assets/..%5c..%5csecret.txt', 'app://delineate/../secret.txt', 'app://delineate/assets/link.txt', 'app://delineate/assets', 'app://other/index.html']) {
      const r = await get(url);
      expect([400, 404], url).toContain(r.status);
      expect(await r.text()).not.toContain('secret');
      expect(r.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    }
  });
});

describe('main/shell/index.ts with electron recorded', () => {
  it('hardens before ready, opens a sandboxed app:// window and relays IPC to a real compute process', async () => {
    const calls: string[] = [];
    const appEvents = new Map<string, (...a: unknown[]) => unknown>();
    const ipcOn = new Map<string, (...a: unknown[]) => unknown>();
    const ipcHandle = new Map<string, (...a: unknown[]) => unknown>();
    const protocols = new Map<string, (r: Request) => Promise<Response>>();
    const sentToWindow: { channel: string; payload: unknown }[] = [];
    const windows: FakeWindow[] = [];
    const handles: ComputeHandle[] = [];
    let permissionRequest: ((wc: unknown, p: string, cb: (ok: boolean) => void) => void) | undefined;
    let permissionCheck: ((wc: unknown, p: string) => boolean) | undefined;
    let ready!: () => void;
    const whenReady = new Promise<void>((r) => (ready = r));

    const mainFrame = { url: 'app://delineate/index.html' };
    class FakeWindow extends EventEmitter {
      options: unknown;
      loaded: string | undefined;
      webContents: EventEmitter & { id: number; mainFrame: unknown; send: (c: string, p: unknown) => void; isDestroyed: () => boolean };
      constructor(options: unknown) {
        super();
        this.options = options;
        const wc = Object.assign(new EventEmitter(), {
          id: 41,
          mainFrame,
          send: (channel: string, payload: unknown) => sentToWindow.push({ channel, payload }),
          isDestroyed: () => false,
        });
        this.webContents = wc;
        windows.push(this);
      }
      async loadURL(url: string) {
        this.loaded = url;
      }
      show() {}
      static getAllWindows = () => windows;
      static getFocusedWindow = () => windows[0] ?? null;
      static fromWebContents = () => windows[0] ?? null;
    }

    vi.doMock('electron', () => ({
      app: {
        enableSandbox: () => calls.push('enableSandbox'),
        requestSingleInstanceLock: () => true,
        quit: () => calls.push('quit'),
        on: (e: string, h: (...a: unknown[]) => unknown) => appEvents.set(e, h),
        whenReady: () => whenReady,
        isPackaged: true,
        getVersion: () => '0.1.0',
        getPath: () => join(root, 'userData'),
      },
      protocol: {
        registerSchemesAsPrivileged: (schemes: { scheme: string }[]) => calls.push(`register:${schemes.map((s) => s.scheme).join(',')}`),
        handle: (scheme: string, h: (r: Request) => Promise<Response>) => protocols.set(scheme, h),
      },
      session: {
        defaultSession: {
          setPermissionRequestHandler: (h: typeof permissionRequest) => (permissionRequest = h),
          setPermissionCheckHandler: (h: typeof permissionCheck) => (permissionCheck = h),
          setDevicePermissionHandler: () => {},
        },
      },
      utilityProcess: {
        fork: (modulePath: string) => {
          calls.push(`fork:${modulePath.split(/[\\/]/).pop()}`);
          // A real compute process, in a worker thread instead of an Electron utility process.
          const child = new EventEmitter() as EventEmitter & { postMessage: (m: unknown) => void; kill: () => boolean };
          const h = workerLauncher()({ onMessage: (m) => child.emit('message', m), onExit: (e) => child.emit('exit', e.code ?? 1) });
          handles.push(h);
          child.postMessage = (m) => h.post(m as never, []);
          child.kill = () => (h.kill(), true);
          setTimeout(() => child.emit('spawn'), 0);
          return child;
        },
      },
      BrowserWindow: FakeWindow,
      ipcMain: {
        on: (c: string, h: (...a: unknown[]) => unknown) => ipcOn.set(c, h),
        handle: (c: string, h: (...a: unknown[]) => unknown) => ipcHandle.set(c, h),
      },
      Menu: { setApplicationMenu: () => calls.push('setMenu'), buildFromTemplate: (t: unknown) => t },
      dialog: { showOpenDialog: async () => ({ canceled: false, filePaths: ['/picked'] }), showMessageBox: async () => ({}) },
      webContents: { fromId: (id: number) => windows.find((w) => w.webContents.id === id)?.webContents },
    }));
    try {
      await import('../../../main/shell/index');
      // Before ready: app:// registered, sandbox on for every renderer.
      expect(calls).toEqual(['register:app', 'enableSandbox']);
      const created = appEvents.get('web-contents-created')!;
      expect(created).toBeTypeOf('function');

      ready();
      for (let i = 0; i < 500 && !windows[0]?.loaded; i++) await new Promise((r) => setTimeout(r, 20));
      const win = windows[0]!;
      expect(win.loaded).toBe('app://delineate/index.html');
      expect(win.options).toMatchObject({ show: false, webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, devTools: false } });
      expect(calls).toContain('fork:compute.js');
      expect(calls).toContain('setMenu');
      expect(protocols.has('app')).toBe(true);

      // Permissions: denied.
      let granted: boolean | undefined;
      permissionRequest!({}, 'media', (ok) => (granted = ok));
      expect(granted).toBe(false);
      expect(permissionCheck!({}, 'clipboard-read')).toBe(false);

      // Every webContents: navigation prevented, new windows denied, webviews refused.
      const contents = Object.assign(new EventEmitter(), { setWindowOpenHandler: vi.fn() });
      created({}, contents);
      const nav = { preventDefault: vi.fn() };
      contents.emit('will-navigate', nav, 'https://example.org/');
      const frameNav = { preventDefault: vi.fn(), url: 'https://example.org/' };
      contents.emit('will-frame-navigate', frameNav);
      const webview = { preventDefault: vi.fn() };
      contents.emit('will-attach-webview', webview);
      expect(nav.preventDefault).toHaveBeenCalled();
      expect(frameNav.preventDefault).toHaveBeenCalled();
      expect(webview.preventDefault).toHaveBeenCalled();
      expect(contents.setWindowOpenHandler.mock.calls[0]![0]()).toEqual({ action: 'deny' });

      // IPC from the window's main frame reaches the real compute service; from elsewhere it does not.
      const rpc = ipcOn.get(IPC.rpc)!;
      // A main frame that shows another page, a subframe of ours, and a webContents that is not our window.
      const event = (frame: { url: string }, { id = 41, sub = false } = {}) => ({ sender: { id, mainFrame: sub ? mainFrame : frame }, senderFrame: frame });
      rpc(event({ url: 'https://evil.example/' }), encodeMessage({ t: 'req', id: 1, method: 'app.info', params: {} }));
      rpc(event({ url: 'app://delineate/index.html' }, { sub: true }), encodeMessage({ t: 'req', id: 3, method: 'app.info', params: {} }));
      rpc(event(mainFrame, { id: 42 }), encodeMessage({ t: 'req', id: 4, method: 'app.info', params: {} }));
      rpc(event(mainFrame), encodeMessage({ t: 'req', id: 2, method: 'app.info', params: {} }));
      const replies = () => sentToWindow.filter((s) => s.channel === IPC.rpc).map((s) => decodeMessage(s.payload as ArrayBuffer));
      for (let i = 0; i < 500 && replies().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(replies()).toEqual([{ t: 'res', id: 2, result: { name: 'Delineate', version: '0.1.0', transport: 'electron', platform: process.platform, nativeDialogs: true } }]);

      const openDialog = ipcHandle.get(IPC.openDialog)!;
      expect(await openDialog(event(mainFrame), 'folder')).toBe('/picked');
      await expect(openDialog(event({ url: 'https://evil.example/' }), 'folder')).rejects.toThrow(/evil/);
    } finally {
      vi.doUnmock('electron');
      appEvents.get('will-quit')?.();
      for (const h of handles) h.kill();
    }
  });
});

describe('utility process messages', () => {
  it('arrive with their data as an ArrayBuffer whatever the clone made of it', async () => {
    const { normaliseFromCompute } = await import('../../../main/shell/compute-process');
    const buf = encodeMessage({ t: 'res', id: 1, result: 7 });
    expect(normaliseFromCompute({ kind: 'msg', session: 2, data: buf })).toEqual({ kind: 'msg', session: 2, data: buf });
    const asBuffer = Buffer.concat([Buffer.from([9, 9]), Buffer.from(buf)]).subarray(2);
    const m = normaliseFromCompute({ kind: 'msg', session: 2, data: asBuffer });
    expect(m?.kind === 'msg' && m.data instanceof ArrayBuffer && decodeMessage(m.data)).toEqual({ t: 'res', id: 1, result: 7 });
    expect(normaliseFromCompute({ kind: 'log', level: 'info', text: 'x' })).toEqual({ kind: 'log', level: 'info', text: 'x' });
    expect(normaliseFromCompute({ kind: 'msg', session: 1, data: 'text' })).toBeUndefined();
    expect(normaliseFromCompute(null)).toBeUndefined();
  });
});
