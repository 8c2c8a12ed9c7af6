/**
 * The security policy of the Electron shell as plain logic (no electron at run time, so vitest checks it):
 * the app:// protocol (which URLs map to which renderer files), window options, IPC sender and payload checks,
 * navigation and permission decisions. main/shell/index.ts applies it through electron.
 *
 * Electron security checklist (electronjs.org/docs/latest/tutorial/security), as applied here:
 *  1. only local content: the renderer comes from app://delineate (custom protocol, not file://), no remote code;
 *  2./3./4. nodeIntegration off, contextIsolation on, sandbox on (and app.enableSandbox() for every renderer);
 *  5. every permission request and check is denied;
 *  6./8./9./10. webSecurity on, allowRunningInsecureContent off, no experimental or Blink features;
 *  7. a strict CSP on every app:// response (main/common/csp.ts);
 *  11. <webview> disabled (webviewTag false; will-attach-webview prevented);
 *  12./13. navigation and new windows denied;
 *  14. shell.openExternal is never used;
 *  16. IPC: only the main frame of a window we opened, at the app:// origin, may call; every payload is checked;
 *  17. no file:// for the UI;
 *  18. fuses: see build/electron-builder.yml (electronFuses);
 *  19. the preload exposes only the narrow DelineateBridge, never ipcRenderer itself.
 */
import type { BrowserWindowConstructorOptions, CustomScheme, WebPreferences } from 'electron';
import { contentSecurityPolicy, contentTypeOf, rendererRelativePath, SECURITY_HEADERS } from '../common/csp';
import { DelineateError } from '../common/errors';
import { MAX_IPC_MESSAGE_BYTES } from '../common/ipc';

export const APP_SCHEME = 'app';
export const APP_HOST = 'delineate';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page every window loads. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Privileges of app:// (registered before `ready`): standard (relative URLs, origin, storage), secure context,
 * fetch() of its own files (wasm, workers), CORS mode (module scripts carry `crossorigin`), streaming media, V8 code
 * cache. It does NOT bypass CSP; no response carries Access-Control-Allow-Origin, so other origins still cannot read it.
 */
export const APP_SCHEME_REGISTRATION: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true, bypassCSP: false, allowServiceWorkers: false, corsEnabled: true },
};

/** Whether `url` is on the app's own origin (app://delineate/...). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '' && u.port === '';
  } catch {
    return false;
  }
}

/** What to answer to an app:// request: a file of the renderer folder, or an error status. */
export type AppRoute =
  | { kind: 'file'; relativePath: string; headers: Record<string, string> }
  | { kind: 'error'; status: 400 | 404 | 405; body: string; headers: Record<string, string> };

/** Headers of every app:// response (CSP and hardening), plus `extra`. */
export function appHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { ...SECURITY_HEADERS, 'Content-Security-Policy': contentSecurityPolicy(), 'Cache-Control': 'no-cache', ...extra };
}

/**
 * Map a request on app:// to a file of the renderer folder. Only GET/HEAD on app://delineate; the path must stay
 * inside the folder (no `..`, encoded separators, backslashes or NUL). `/` is index.html. The caller reads the
 * file (and answers 404 when it does not exist) and must not follow a route of kind 'error'.
 */
export function routeAppRequest(url: string, method = 'GET'): AppRoute {
  const error = (status: 400 | 404 | 405, body: string): AppRoute => ({ kind: 'error', status, body, headers: appHeaders({ 'Content-Type': 'text/plain; charset=utf-8' }) });
  if (method !== 'GET' && method !== 'HEAD') return error(405, 'Method not allowed');
  if (!isAppUrl(url)) return error(404, 'Not found');
  const relativePath = rendererRelativePath(new URL(url).pathname);
  if (relativePath === null) return error(400, 'Bad path');
  return { kind: 'file', relativePath, headers: appHeaders({ 'Content-Type': contentTypeOf(relativePath) }) };
}

/** The webPreferences of every Delineate window. */
export function secureWebPreferences(preloadPath: string, devTools: boolean): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools,
  };
}

/** Options of the main window (hidden until ready-to-show). */
export function mainWindowOptions(preloadPath: string, devTools: boolean): BrowserWindowConstructorOptions {
  return {
    title: 'Delineate',
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    show: false,
    backgroundColor: '#101214',
    webPreferences: secureWebPreferences(preloadPath, devTools),
  };
}

/** The app never navigates: the renderer is a single page, and links to elsewhere must not replace it. */
export function allowNavigation(_url: string): boolean {
  return false;
}

/** No permission (camera, notifications, clipboard-read, HID, serial, …) is ever granted to web content. */
export function allowPermission(_permission: string): boolean {
  return false;
}

/** Where an IPC message came from, as far as the shell checks it. */
export interface IpcSender {
  /** webContents id of the sender. */
  webContentsId: number;
  /** URL of the sending frame (null when the frame is gone). */
  frameUrl: string | null | undefined;
  /** Whether the sending frame is its page's main frame (not an iframe). */
  isMainFrame: boolean;
}

/**
 * An IPC message is accepted only from the main frame of a window the shell opened, showing the app:// origin.
 * Returns null when trusted, else the reason (for the log).
 */
export function untrustedSenderReason(sender: IpcSender, ourWindows: ReadonlySet<number>): string | null {
  if (!ourWindows.has(sender.webContentsId)) return `webContents ${sender.webContentsId} is not a Delineate window`;
  if (!sender.isMainFrame) return 'the message came from a subframe';
  if (!isAppUrl(sender.frameUrl)) return `the sending frame is at ${String(sender.frameUrl)}, not ${APP_ORIGIN}`;
  return null;
}

/** The binary RPC payload of an IPC message (ArrayBuffer or a typed-array view of one); PROTOCOL error otherwise. */
export function ipcPayloadToArrayBuffer(payload: unknown): ArrayBuffer {
  let buffer: ArrayBuffer;
  if (payload instanceof ArrayBuffer) buffer = payload;
  else if (ArrayBuffer.isView(payload) && payload.buffer instanceof ArrayBuffer)
    buffer = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? payload.buffer : payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength);
  else throw new DelineateError('PROTOCOL', 'An RPC message over IPC must be an ArrayBuffer', { subject: 'payload' });
  if (buffer.byteLength > MAX_IPC_MESSAGE_BYTES)
    throw new DelineateError('PROTOCOL', `An RPC message over IPC may be at most ${MAX_IPC_MESSAGE_BYTES} bytes, got ${buffer.byteLength}`, { subject: 'payload' });
  return buffer;
}

/** The `kind` argument of the open dialog. */
export function parseDialogKind(kind: unknown): 'file' | 'folder' {
  if (kind === 'file' || kind === 'folder') return kind;
  throw new DelineateError('PROTOCOL', `openDialog takes 'file' or 'folder', got ${JSON.stringify(kind) ?? String(kind)}`, { subject: 'kind' });
}
