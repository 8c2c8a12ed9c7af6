/**
 * The web host (DESIGN.md, "Processes"): serves the built renderer and the service API on 127.0.0.1 for a
 * browser (end-to-end tests, labs running Delineate on a server).
 *
 * - `GET /?token=<hex>` → index.html; the token is then kept in an HttpOnly, SameSite=Strict cookie
 *   (`delineate-token-<port>`) so the page's own assets load without it in their URLs.
 * - `GET /assets/...` etc. → files of the renderer folder (no directory listings, no traversal).
 * - `GET /rpc?token=<hex>` (WebSocket) → binary frames, each one encoded RpcMessage (main/common/rpc.ts), relayed
 *   to a compute worker thread through the {@link JobSupervisor}. One supervisor session per socket.
 * - A missing or wrong token → 401 (HTTP) or a refused upgrade. A Host header other than 127.0.0.1:<port> /
 *   localhost:<port> → 421 (DNS rebinding), a cross-origin WebSocket → 403.
 * - Every response carries the strict CSP of main/common/csp.ts and the usual hardening headers.
 */
import { timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { contentSecurityPolicy, contentTypeOf, rendererRelativePath, SECURITY_HEADERS } from '../common/csp';
import { DelineateError } from '../common/errors';
import { type ComputeLauncher, JobSupervisor } from '../common/supervisor';
import { workerLauncher } from '../compute/launch-worker';

export interface WebHostOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Only '127.0.0.1' is accepted: the host never listens on other interfaces. */
  host?: '127.0.0.1';
  /** Access token (hex, at least 16 characters). */
  token: string;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  /** Folder for the recent-items store. */
  userDataDir: string;
  /** Offered to the renderer as the starting folder (`app.info`). */
  dataRoot?: string;
  version: string;
  /** How the compute process starts (default: a worker thread running main/compute/worker.ts). */
  launcher?: ComputeLauncher;
  /** Grace period for cancelled jobs before the compute worker is killed (default 5000 ms). */
  cancelGraceMs?: number;
  /** Largest WebSocket message accepted, bytes (default 2 GiB − 1). */
  maxMessageBytes?: number;
  log?: (line: string) => void;
}

export interface WebHost {
  /** The URL to open, with the token: `http://127.0.0.1:<port>/?token=<token>`. */
  readonly url: string;
  readonly port: number;
  readonly supervisor: JobSupervisor;
  close(): Promise<void>;
}

export const TOKEN_PATTERN = /^[0-9a-f]{16,128}$/i;

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new DelineateError('USAGE', `The web host listens on 127.0.0.1 only, not '${String(host)}'`, { subject: '--host' });
  if (!TOKEN_PATTERN.test(options.token)) throw new DelineateError('USAGE', 'The token must be 16–128 hexadecimal characters', { subject: '--token' });
  const log = options.log ?? (() => {});
  const rendererDir = resolve(options.rendererDir);
  const supervisor = new JobSupervisor(options.launcher ?? workerLauncher(), {
    config: {
      transport: 'web',
      version: options.version,
      userDataDir: options.userDataDir,
      nativeDialogs: false,
      ...(options.dataRoot !== undefined ? { dataRoot: options.dataRoot } : {}),
    },
    ...(options.cancelGraceMs !== undefined ? { cancelGraceMs: options.cancelGraceMs } : {}),
    log,
  });
  supervisor.start();

  let port = 0;
  const cookieName = () => `delineate-token-${port}`;
  const allowedHosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];

  const authorised = (req: IncomingMessage, url: URL): boolean => {
    const given = url.searchParams.get('token') ?? readCookie(req.headers.cookie, cookieName());
    return given !== undefined && given !== null && sameToken(given, options.token);
  };

  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...SECURITY_HEADERS,
    'Content-Security-Policy': contentSecurityPolicy([`ws://127.0.0.1:${port}`, `ws://localhost:${port}`]),
    'Cache-Control': 'no-store',
    ...extra,
  });

  const fail = (res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, headers({ 'Content-Type': 'text/plain; charset=utf-8', ...extra }));
    res.end(`${text}\n`);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (!allowedHosts().includes(req.headers.host ?? '')) return fail(res, 421, 'Misdirected request: use http://127.0.0.1:<port>/');
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
      if (!authorised(req, url)) return fail(res, 401, 'Unauthorized: open the URL with ?token=<token> printed by the web host');
      if (url.pathname === '/rpc') return fail(res, 426, 'Upgrade required: /rpc is a WebSocket', { Upgrade: 'websocket' });
      const rel = rendererRelativePath(url.pathname);
      if (rel === null) return fail(res, 400, 'Bad path');
      const file = join(rendererDir, ...rel.split('/'));
      const within = relative(rendererDir, file);
      if (within.startsWith('..') || within.startsWith(sep)) return fail(res, 400, 'Bad path');
      let size: number;
      try {
        // Symbolic links must not lead out of the renderer folder either.
        const real = relative(await realpath(rendererDir), await realpath(file));
        if (real.startsWith('..') || real.startsWith(sep)) return fail(res, 404, 'Not found');
        const st = await stat(file);
        if (!st.isFile()) return fail(res, 404, 'Not found');
        size = st.size;
      } catch {
        if (rel === 'index.html') return fail(res, 503, `The renderer is not built (no ${file}): run npm run build`);
        return fail(res, 404, 'Not found');
      }
      const extra: Record<string, string> = { 'Content-Type': contentTypeOf(file), 'Content-Length': String(size) };
      if (url.searchParams.has('token')) extra['Set-Cookie'] = `${cookieName()}=${options.token}; HttpOnly; SameSite=Strict; Path=/`;
      res.writeHead(200, headers(extra));
      if (req.method === 'HEAD') return res.end();
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    })().catch((e: unknown) => {
      log(`web host: ${String(e)}`);
      if (!res.headersSent) fail(res, 500, 'Internal error');
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? 2 ** 31 - 1 });
  const refuse = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\n\r\n${text}\n`);
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!allowedHosts().includes(req.headers.host ?? '')) return refuse(socket, 421, 'Misdirected Request');
    if (url.pathname !== '/rpc') return refuse(socket, 404, 'Not Found');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedHosts().some((h) => origin === `http://${h}`)) return refuse(socket, 403, 'Forbidden');
    if (!authorised(req, url)) return refuse(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    ws.binaryType = 'arraybuffer';
    const session = supervisor.openSession((data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: true });
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary || !(data instanceof ArrayBuffer)) {
        ws.close(1003, 'Binary RPC frames only');
        return;
      }
      session.receive(data);
    });
    ws.on('close', () => session.close());
    ws.on('error', (e) => log(`web host: socket error: ${e.message}`));
  });

  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(options.port, host, () => {
      server.off('error', ko);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${options.token}`,
    port,
    supervisor,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      supervisor.dispose();
    },
  };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
