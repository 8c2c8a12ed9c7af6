/**
 * The app:// protocol handler: serves the built renderer (out/renderer) to Delineate's windows, with the CSP and
 * hardening headers on every response and no way out of the renderer folder. Uses only fetch's global
 * Request/Response and node:fs, so it is tested without electron; main/shell/index.ts registers it with
 * `protocol.handle('app', …)`.
 */
import { readFile, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { appHeaders, routeAppRequest } from './policy';

const text = (status: number, body: string) => new Response(body, { status, headers: appHeaders({ 'Content-Type': 'text/plain; charset=utf-8' }) });

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
}

/** Build the handler for a renderer folder. Symbolic links that lead outside the folder are refused too. */
export function appProtocolHandler(rendererDir: string): (request: Request) => Promise<Response> {
  const root = resolve(rendererDir);
  return async (request) => {
    const route = routeAppRequest(request.url, request.method);
    if (route.kind === 'error') return new Response(route.body, { status: route.status, headers: route.headers });
    const file = join(root, ...route.relativePath.split('/'));
    if (!inside(root, file)) return text(400, 'Bad path');
    try {
      const real = await realpath(file);
      if (!inside(await realpath(root), real)) return text(404, 'Not found');
      const body = await readFile(real);
      return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: route.headers });
    } catch {
      return text(404, 'Not found');
    }
  };
}
