/**
 * The Content-Security-Policy of the renderer, shared by the Electron shell (app:// protocol) and the web host.
 *
 * - scripts only from the app itself, plus `'wasm-unsafe-eval'` so WebAssembly (itk-wasm) may compile; no eval;
 * - workers from the app or blob: URLs (vtk.js/itk-wasm worker bootstraps);
 * - images from the app, data: and blob: (thumbnails, screenshots);
 * - styles only from the app's own CSS files: no `'unsafe-inline'`. Checked with the built renderer in Chromium
 *   (the host smoke test and the viewer end-to-end run gave no CSP report): Svelte 5's `style:` directives set
 *   properties through the CSSOM and its transitions use the Web Animations API, neither of which CSP blocks;
 *   only `style="…"` attributes in markup, or `<style>` elements added at run time, would need `'unsafe-inline'`;
 * - network only back to the app itself (the web host adds its own ws:// origin);
 * - no plugins, no <base>, no framing, no form posts.
 */
export const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  'worker-src': ["'self'", 'blob:'],
  'img-src': ["'self'", 'data:', 'blob:'],
  'style-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'none'"],
};

/**
 * The CSP header value. `extraConnectSrc` adds origins to connect-src (the web host's `ws://127.0.0.1:<port>`,
 * since not every browser lets 'self' cover ws: of the page's origin).
 */
export function contentSecurityPolicy(extraConnectSrc: readonly string[] = []): string {
  return Object.entries(CSP_DIRECTIVES)
    .map(([name, values]) => [name, ...values, ...(name === 'connect-src' ? extraConnectSrc : [])].join(' '))
    .join('; ');
}

/** Response headers every renderer resource is served with (besides its CSP and content type). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

/** Content type of a renderer file by extension (lower case, with the dot); unknown → application/octet-stream. */
export function contentTypeOf(path: string): string {
  const m = /\.[^./\\]+$/.exec(path.toLowerCase());
  return (m && MIME_TYPES[m[0]]) || 'application/octet-stream';
}

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  // Served as opaque bytes: never with Content-Encoding, so a fetched .nii.gz arrives still compressed.
  '.gz': 'application/gzip',
};

/**
 * Map a URL path (already percent-decoded or not) to a path relative to the renderer folder, or null when it
 * could escape that folder (`..` segments, backslashes, NUL, drive letters, encoded separators). `/` and
 * empty paths map to `index.html`. The result uses `/` separators and never starts with one.
 */
export function rendererRelativePath(urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..' || /^[a-zA-Z]:$/.test(p))) return null;
  return parts.length === 0 ? 'index.html' : parts.join('/');
}
