/**
 * The Electron shell's logic without electron (there is no Electron binary here): app:// routing and traversal,
 * CSP, window options, sender/payload validation, menus, and the controller wired to a real supervisor whose
 * compute process is a real worker thread (test fixture jobs). The preload is loaded with electron replaced by a
 * recorder, to check it exposes exactly `window.delineate` and validates its arguments.
 */
import { readFileSync } from 'node:fs';
import type { MenuItemConstructorOptions } from 'electron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DelineateBridge } from '../../../main/common/api';
import { contentSecurityPolicy } from '../../../main/common/csp';
import { DelineateError } from '../../../main/common/errors';
import { IPC, MAX_IPC_MESSAGE_BYTES } from '../../../main/common/ipc';
import { decodeMessage, encodeMessage, type RpcMessage } from '../../../main/common/rpc';
import { JobSupervisor } from '../../../main/common/supervisor';
import { workerLauncher } from '../../../main/compute/launch-worker';
import { ShellController, type ShellPlatform } from '../../../main/shell/controller';
import { buildMenuTemplate, MENU_RECENT_LIMIT } from '../../../main/shell/menu';
import { parseSaveDialogRequest, type SaveDialogSpec, saveDialogSpec, withFormatEnding } from '../../../main/shell/save-dialog';
import {
  allowNavigation,
  allowPermission,
  APP_ENTRY_URL,
  APP_SCHEME_REGISTRATION,
  ipcPayloadToArrayBuffer,
  isAppUrl,
  mainWindowOptions,
  parseDialogKind,
  routeAppRequest,
  untrustedSenderReason,
} from '../../../main/shell/policy';

describe('app:// routing', () => {
  it('maps app://delineate paths into the renderer folder with CSP headers', () => {
    const r = routeAppRequest('app://delineate/assets/index-abc.js');
    expect(r).toMatchObject({ kind: 'file', relativePath: 'assets/index-abc.js' });
    expect(r.headers['Content-Type']).toBe('text/javascript; charset=utf-8');
    expect(r.headers['Content-Security-Policy']).toBe(contentSecurityPolicy());
    expect(r.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(routeAppRequest('app://delineate/')).toMatchObject({ kind: 'file', relativePath: 'index.html' });
    expect(routeAppRequest(APP_ENTRY_URL)).toMatchObject({ kind: 'file', relativePath: 'index.html' });
    expect(routeAppRequest('app://delineate/a%20b.png')).toMatchObject({ kind: 'file', relativePath: 'a b.png', headers: { 'Content-Type': 'image/png' } });
    expect(routeAppRequest('app://delineate/x.nii.gz').headers['Content-Type']).toBe('application/gzip');
  });

  it.each([
    'app://delineate/..%2f..%2fetc/passwd',
    'app://delineate/assets/..%5c..%5csecret',
    'app://delineate/a%00b',
    'app://delineate/C:/Windows/win.ini',
    'app://delineate/%E0%A4%A',
  ])('refuses %s', (url) => {
    expect(routeAppRequest(url)).toMatchObject({ kind: 'error', status: 400 });
  });

  it('refuses other hosts, schemes and methods', () => {
    expect(routeAppRequest('app://evil/index.html')).toMatchObject({ kind: 'error', status: 404 });
    expect(routeAppRequest('file:///etc/passwd')).toMatchObject({ kind: 'error', status: 404 });
    expect(routeAppRequest('app://user:pw@delineate/index.html')).toMatchObject({ kind: 'error', status: 404 });
    expect(routeAppRequest('app://delineate/index.html', 'POST')).toMatchObject({ kind: 'error', status: 405 });
    // new URL() resolves ../ and %2e%2e/ segments before we see them: they can never climb above the origin root.
    expect(routeAppRequest('app://delineate/../../etc/passwd')).toMatchObject({ kind: 'file', relativePath: 'etc/passwd' });
    expect(routeAppRequest('app://delineate/%2e%2e/%2e%2e/etc/passwd')).toMatchObject({ kind: 'file', relativePath: 'etc/passwd' });
  });

  it('registers app:// as a standard, secure scheme that does not bypass CSP', () => {
    expect(APP_SCHEME_REGISTRATION).toMatchObject({ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, bypassCSP: false } });
    expect(isAppUrl('app://delineate/index.html')).toBe(true);
    expect(isAppUrl('app://delineate:80/index.html')).toBe(false);
    expect(isAppUrl('https://delineate/index.html')).toBe(false);
    expect(isAppUrl(null)).toBe(false);
  });
});

describe('CSP', () => {
  it('is strict', () => {
    const csp = contentSecurityPolicy();
    expect(csp).toBe(
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; img-src 'self' data: blob:; style-src 'self'; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    );
    expect(csp).not.toMatch(/'unsafe-(inline|eval)'/);
  });

  it('suits the built renderer: no inline scripts in index.html (when built)', () => {
    let html: string;
    try {
      html = readFileSync(new URL('../../../out/renderer/index.html', import.meta.url), 'utf8');
    } catch {
      return; // not built in this checkout; `npm test` builds before the unit tests
    }
    const inline = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].filter(([, attrs, body]) => !/\bsrc=/.test(attrs!) && body!.trim() !== '');
    expect(inline).toEqual([]);
  });
});

describe('window and navigation policy', () => {
  it('hardens every window', () => {
    const o = mainWindowOptions('/app/out/preload/index.cjs', false);
    expect(o.show).toBe(false);
    expect(o.webPreferences).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      devTools: false,
    });
    expect(o.webPreferences).not.toHaveProperty('enableBlinkFeatures');
  });

  it('denies navigation and permissions', () => {
    for (const url of ['https://example.org', 'app://delineate/index.html', 'file:///etc/passwd', 'javascript:alert(1)']) expect(allowNavigation(url)).toBe(false);
    for (const p of ['media', 'notifications', 'clipboard-read', 'geolocation', 'openExternal', 'fullscreen']) expect(allowPermission(p)).toBe(false);
  });
});

describe('IPC validation', () => {
  const ours = new Set([7]);
  it('accepts only the main frame of our windows at app://delineate', () => {
    expect(untrustedSenderReason({ webContentsId: 7, frameUrl: 'app://delineate/index.html', isMainFrame: true }, ours)).toBeNull();
    expect(untrustedSenderReason({ webContentsId: 8, frameUrl: 'app://delineate/index.html', isMainFrame: true }, ours)).toMatch(/not a Delineate window/);
    expect(untrustedSenderReason({ webContentsId: 7, frameUrl: 'app://delineate/index.html', isMainFrame: false }, ours)).toMatch(/subframe/);
    expect(untrustedSenderReason({ webContentsId: 7, frameUrl: 'https://evil.example/', isMainFrame: true }, ours)).toMatch(/evil/);
    expect(untrustedSenderReason({ webContentsId: 7, frameUrl: null, isMainFrame: true }, ours)).toMatch(/null/);
  });

  it('takes binary payloads only, within the size limit', () => {
    const buf = new ArrayBuffer(16);
    expect(ipcPayloadToArrayBuffer(buf)).toBe(buf);
    const view = new Uint8Array(buf, 4, 8);
    expect(ipcPayloadToArrayBuffer(view).byteLength).toBe(8);
    expect(() => ipcPayloadToArrayBuffer('text')).toThrow(DelineateError);
    expect(() => ipcPayloadToArrayBuffer({ t: 'req' })).toThrow(/ArrayBuffer/);
    expect(() => ipcPayloadToArrayBuffer({ byteLength: MAX_IPC_MESSAGE_BYTES + 1 })).toThrow(DelineateError);
  });

  it('checks the dialog kind', () => {
    expect(parseDialogKind('file')).toBe('file');
    expect(parseDialogKind('folder')).toBe('folder');
    expect(() => parseDialogKind('/etc')).toThrow(/'file' or 'folder'/);
    expect(() => parseDialogKind(undefined)).toThrow(DelineateError);
  });
});

describe('menu', () => {
  const actions = { openFile: vi.fn(), openFolder: vi.fn(), openRecent: vi.fn(), about: vi.fn() };
  const sub = (m: MenuItemConstructorOptions) => m.submenu as MenuItemConstructorOptions[];
  const recent = Array.from({ length: 15 }, (_, i) => ({ path: `/data/s${i}`, label: `Series ${i}`, openedAt: i }));

  it('has File, Edit, View, Help with Open File/Folder/Recent', () => {
    const t = buildMenuTemplate({ platform: 'linux', isPackaged: true, recent, actions });
    expect(t.map((m) => m.label)).toEqual(['&File', '&Edit', '&View', '&Help']);
    const file = sub(t[0]!);
    expect(file.map((m) => m.label ?? m.role ?? m.type)).toEqual(['Open File…', 'Open Folder…', 'Open Recent', 'separator', 'Quit Delineate']);
    expect(file[0]!.accelerator).toBe('CmdOrCtrl+O');
    file[0]!.click!(undefined as never, undefined, undefined as never);
    file[1]!.click!(undefined as never, undefined, undefined as never);
    expect(actions.openFile).toHaveBeenCalledTimes(1);
    expect(actions.openFolder).toHaveBeenCalledTimes(1);
    const rec = sub(file[2]!);
    expect(rec).toHaveLength(MENU_RECENT_LIMIT);
    rec[3]!.click!(undefined as never, undefined, undefined as never);
    expect(actions.openRecent).toHaveBeenCalledWith(recent[3]);
    // Packaged: no reload or devtools.
    expect(sub(t[2]!).map((m) => m.role)).not.toContain('toggleDevTools');
    sub(t[3]!)[0]!.click!(undefined as never, undefined, undefined as never);
    expect(actions.about).toHaveBeenCalled();
  });

  it('adds the app menu on macOS, devtools in development, and a disabled placeholder without recent items', () => {
    const t = buildMenuTemplate({ platform: 'darwin', isPackaged: false, recent: [], actions });
    expect(t[0]!.label).toBe('Delineate');
    expect(sub(sub(t[1]!)[2]!)).toEqual([{ label: 'No recent items', enabled: false }]);
    expect(sub(t[3]!).map((m) => m.role)).toContain('toggleDevTools');
  });
});

describe('ShellController with a real supervisor and worker', () => {
  const FIXTURE = new URL('./fixtures/slow-worker.ts', import.meta.url);
  let sup: JobSupervisor | undefined;
  afterEach(() => sup?.dispose());

  function setup() {
    sup = new JobSupervisor(workerLauncher(FIXTURE), { config: { transport: 'electron', version: 't', userDataDir: '/x', nativeDialogs: true }, cancelGraceMs: 5000, log: () => {} });
    const sent: { id: number; channel: string; payload: unknown }[] = [];
    const logs: string[] = [];
    const menus: MenuItemConstructorOptions[][] = [];
    const dialogs: (number | undefined)[] = [];
    const saveSpecs: SaveDialogSpec[] = [];
    let savePick: string | null = '/out/seg';
    const platform: ShellPlatform = {
      platform: 'linux',
      isPackaged: true,
      send: (id, channel, payload) => sent.push({ id, channel, payload }),
      showOpenDialog: async (id, kind) => {
        dialogs.push(id);
        return kind === 'folder' ? '/data/ct' : null;
      },
      showSaveDialog: async (id, spec) => {
        dialogs.push(id);
        saveSpecs.push(spec);
        return savePick;
      },
      setMenu: (t) => menus.push(t),
      targetWindow: () => 3,
      openWindow: async () => 3,
      showAbout: () => {},
      log: (l) => logs.push(l),
    };
    const controller = new ShellController(platform, sup);
    controller.windowOpened(3);
    const trusted = { webContentsId: 3, frameUrl: 'app://delineate/index.html', isMainFrame: true };
    const rpcReplies = () => sent.filter((s) => s.channel === IPC.rpc).map((s) => decodeMessage(s.payload as ArrayBuffer));
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(pred()).toBe(true);
    };
    return { controller, sent, logs, menus, dialogs, trusted, rpcReplies, until, saveSpecs, pickSave: (p: string | null) => (savePick = p) };
  }

  it('relays a trusted request to compute and the answer back to that window', async () => {
    const { controller, trusted, rpcReplies, until } = setup();
    controller.handleRpc(trusted, encodeMessage({ t: 'req', id: 1, method: 'test.slow', params: { steps: 3, stepMs: 60 } }));
    await until(() => rpcReplies().some((m) => m.t === 'res'));
    const msgs = rpcReplies();
    expect(msgs.filter((m) => m.t === 'progress').length).toBeGreaterThan(0);
    expect(msgs.at(-1)).toMatchObject({ t: 'res', id: 1, result: { steps: 3 } });
  });

  it('drops messages from untrusted senders and answers malformed ones with PROTOCOL errors', async () => {
    const { controller, trusted, rpcReplies, logs, until } = setup();
    controller.handleRpc({ ...trusted, frameUrl: 'https://evil.example/' }, encodeMessage({ t: 'req', id: 1, method: 'test.echo', params: {} }));
    controller.handleRpc({ ...trusted, webContentsId: 4 }, encodeMessage({ t: 'req', id: 2, method: 'test.echo', params: {} }));
    controller.handleRpc({ ...trusted, isMainFrame: false }, encodeMessage({ t: 'req', id: 3, method: 'test.echo', params: {} }));
    controller.handleRpc(trusted, 'not binary');
    controller.handleRpc(trusted, encodeMessage({ t: 'res', id: 5, result: 1 }));
    // A Node Buffer view (as IPC may deliver it) of a message with a bad type is answered too.
    controller.handleRpc(trusted, Buffer.from(encodeMessage({ t: 'progress', id: 7, progress: { stage: 'x', done: 0, total: 1 } })));
    controller.handleRpc(trusted, encodeMessage({ t: 'req', id: 6, method: 'test.echo', params: { ok: true } }));
    await until(() => rpcReplies().some((m) => m.t === 'res'));
    const msgs = rpcReplies();
    expect(msgs.map((m: RpcMessage) => [m.t, m.id])).toEqual([
      ['err', 5],
      ['err', 7],
      ['res', 6],
    ]);
    expect(msgs[0]).toMatchObject({ error: { code: 'PROTOCOL', subject: 't' } });
    expect(logs.filter((l) => l.startsWith('shell: refused')).length).toBe(6);
  });

  it('cancels the jobs of a closed window', async () => {
    const { controller, trusted, until, rpcReplies } = setup();
    controller.handleRpc(trusted, encodeMessage({ t: 'req', id: 1, method: 'test.slow', params: { steps: 1000, stepMs: 10 } }));
    await until(() => rpcReplies().some((m) => m.t === 'progress')); // the job is running in the worker
    expect(sup!.runningJobs()).toHaveLength(1);
    controller.windowClosed(3);
    await until(() => sup!.runningJobs().length === 0);
    expect(controller.windows.size).toBe(0);
    expect(sup!.processGeneration).toBe(1);
  });

  it('opens dialogs for trusted senders only and sends menu commands', async () => {
    const { controller, trusted, sent, dialogs } = setup();
    expect(await controller.handleOpenDialog(trusted, 'folder')).toBe('/data/ct');
    await expect(controller.handleOpenDialog({ ...trusted, webContentsId: 9 }, 'folder')).rejects.toThrow(/not a Delineate window/);
    await expect(controller.handleOpenDialog(trusted, { kind: 'folder' })).rejects.toThrow(/'file' or 'folder'/);
    expect(dialogs).toEqual([3]);
    await controller.openFromMenu('folder');
    await controller.openFromMenu('file'); // cancelled dialog: nothing sent
    await controller.openRecent({ path: '/data/old', label: 'Old', openedAt: 1 });
    expect(sent.filter((s) => s.channel === IPC.command).map((s) => s.payload)).toEqual([
      { kind: 'open', path: '/data/ct', what: 'folder' },
      { kind: 'open', path: '/data/old', what: 'recent' },
    ]);
  });
});

describe('native save dialog', () => {
  let sup: JobSupervisor | undefined;
  afterEach(() => sup?.dispose());

  it('asks with the format’s filters and suggested name; the chosen path gets the format’s ending', async () => {
    sup = new JobSupervisor(workerLauncher(new URL('./fixtures/slow-worker.ts', import.meta.url)), { config: { transport: 'electron', version: 't', userDataDir: '/x', nativeDialogs: true }, log: () => {} });
    const specs: SaveDialogSpec[] = [];
    const picks: (string | null)[] = ['/out/case1', '/out/case1.nrrd', '/out/case1.seg.nrrd', null, '/out/x.nii'];
    const platform: ShellPlatform = {
      platform: 'linux',
      isPackaged: true,
      send: () => {},
      showOpenDialog: async () => null,
      showSaveDialog: async (_id, spec) => {
        specs.push(spec);
        return picks.shift() ?? null;
      },
      setMenu: () => {},
      targetWindow: () => 3,
      openWindow: async () => 3,
      showAbout: () => {},
      log: () => {},
    };
    const controller = new ShellController(platform, sup);
    controller.windowOpened(3);
    const trusted = { webContentsId: 3, frameUrl: 'app://delineate/index.html', isMainFrame: true };
    expect(await controller.handleSaveDialog(trusted, { format: 'dicom-seg', defaultName: 'PGBM-003 T1post' })).toBe('/out/case1.dcm');
    expect(specs[0]).toMatchObject({ defaultPath: 'PGBM-003 T1post.dcm', filters: [{ name: 'DICOM SEG', extensions: ['dcm'] }, { name: 'All files', extensions: ['*'] }] });
    expect(await controller.handleSaveDialog(trusted, { format: 'labelmap' })).toBe('/out/case1.nrrd'); // .nrrd is a labelmap ending
    expect(specs[1]!.defaultPath).toBeUndefined();
    expect(await controller.handleSaveDialog(trusted, { format: 'labelmap' })).toBe('/out/case1.nii.gz'); // not .seg.nrrd
    expect(await controller.handleSaveDialog(trusted, { format: 'slicer-seg' })).toBeNull(); // cancelled
    expect(await controller.handleSaveDialog(trusted, { format: 'slicer-seg' })).toBe('/out/x.seg.nrrd');
    // Untrusted senders and malformed requests never reach the dialog.
    const asked = specs.length;
    await expect(controller.handleSaveDialog({ ...trusted, frameUrl: 'https://evil.example/' }, { format: 'labelmap' })).rejects.toThrow(/not app:\/\/delineate/);
    await expect(controller.handleSaveDialog(trusted, 'labelmap')).rejects.toMatchObject({ code: 'PROTOCOL' });
    await expect(controller.handleSaveDialog(trusted, { format: 'png' })).rejects.toMatchObject({ subject: 'request.format' });
    await expect(controller.handleSaveDialog(trusted, { format: 'labelmap', defaultName: '../../etc/passwd' })).rejects.toMatchObject({ subject: 'request.defaultName' });
    await expect(controller.handleSaveDialog(trusted, { format: 'labelmap', defaultName: 'a\u0000b' })).rejects.toMatchObject({ subject: 'request.defaultName' });
    await expect(controller.handleSaveDialog(trusted, { format: 'labelmap', path: '/etc/x' })).rejects.toMatchObject({ subject: 'request.path' });
    expect(specs.length).toBe(asked);
  });

  it('endings follow the same rule as the compute side', () => {
    expect(withFormatEnding('/a/b', 'labelmap')).toBe('/a/b.nii.gz');
    expect(withFormatEnding('/a/b.NII', 'labelmap')).toBe('/a/b.NII');
    expect(withFormatEnding('/a/b.seg.nrrd', 'labelmap')).toBe('/a/b.nii.gz');
    expect(withFormatEnding('/a/b.dcm', 'slicer-seg')).toBe('/a/b.seg.nrrd');
    expect(withFormatEnding('/a/b.seg.nrrd', 'dicom-seg')).toBe('/a/b.dcm');
    expect(withFormatEnding('/a/b.DCM', 'dicom-seg')).toBe('/a/b.DCM');
    expect(parseSaveDialogRequest({ format: 'slicer-seg', defaultName: 'x' })).toEqual({ format: 'slicer-seg', defaultName: 'x' });
    expect(saveDialogSpec({ format: 'labelmap', defaultName: '  ' }).defaultPath).toBeUndefined();
  });
});

describe('preload', () => {
  it('exposes exactly window.delineate with validated arguments', async () => {
    const exposed: Record<string, unknown> = {};
    const sends: unknown[][] = [];
    const invokes: unknown[][] = [];
    const handlers = new Map<string, (event: unknown, data: unknown) => void>();
    vi.doMock('electron', () => ({
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
      ipcRenderer: {
        send: (...a: unknown[]) => sends.push(a),
        invoke: async (...a: unknown[]) => (invokes.push(a), '/picked'),
        on: (channel: string, h: (event: unknown, data: unknown) => void) => handlers.set(channel, h),
      },
      webUtils: {
        getPathForFile: (f: unknown) => {
          if (typeof f !== 'object' || f === null || !('name' in f)) throw new TypeError('not a File');
          return `/abs/${(f as { name: string }).name}`;
        },
      },
    }));
    await import('../../../main/preload/index');
    vi.doUnmock('electron');
    expect(Object.keys(exposed)).toEqual(['delineate']);
    const bridge = exposed.delineate as DelineateBridge;
    expect(Object.keys(bridge).sort()).toEqual(['onCommand', 'onMessage', 'openDialog', 'pathForFile', 'post', 'saveDialog']);

    const msg = encodeMessage({ t: 'req', id: 1, method: 'app.info', params: {} });
    bridge.post(msg);
    expect(sends).toEqual([[IPC.rpc, msg]]);
    expect(() => bridge.post('x' as unknown as ArrayBuffer)).toThrow(TypeError);

    const got: ArrayBuffer[] = [];
    const off = bridge.onMessage((m) => got.push(m));
    handlers.get(IPC.rpc)!({}, msg);
    handlers.get(IPC.rpc)!({}, 'junk');
    off();
    handlers.get(IPC.rpc)!({}, msg);
    expect(got).toEqual([msg]);

    expect(await bridge.openDialog('folder')).toBe('/picked');
    await expect(bridge.openDialog('anything' as 'file')).rejects.toThrow(TypeError);
    expect(invokes).toEqual([[IPC.openDialog, 'folder']]);
    // The save dialog: only {format, defaultName} crosses, as a plain copy.
    expect(await bridge.saveDialog({ format: 'dicom-seg', defaultName: 'case', extra: 1 } as unknown as Parameters<DelineateBridge['saveDialog']>[0])).toBe('/picked');
    await expect(bridge.saveDialog(null as unknown as Parameters<DelineateBridge['saveDialog']>[0])).rejects.toThrow(TypeError);
    await expect(bridge.saveDialog({ format: 'labelmap', defaultName: 5 } as unknown as Parameters<DelineateBridge['saveDialog']>[0])).rejects.toThrow(TypeError);
    expect(invokes.at(-1)).toEqual([IPC.saveDialog, { format: 'dicom-seg', defaultName: 'case' }]);

    expect(bridge.pathForFile({ name: 'a.nii' })).toBe('/abs/a.nii');
    expect(bridge.pathForFile(42)).toBe('');

    const commands: unknown[] = [];
    bridge.onCommand((c) => commands.push(c));
    handlers.get(IPC.command)!({}, { kind: 'open', path: '/x', what: 'recent', extra: 'dropped' });
    handlers.get(IPC.command)!({}, { kind: 'rm', path: '/' });
    expect(commands).toEqual([{ kind: 'open', path: '/x', what: 'recent' }]);
  });
});
