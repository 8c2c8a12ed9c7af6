/**
 * Starting a worker_thread on a TypeScript entry when running from source (tsx): Node 20 workers do not inherit
 * the parent's loader, and `--import tsx` does not reach them, so the worker is started from a small eval'd script
 * that registers tsx's ESM hooks and then imports the entry. Shared by the compute worker and the API's job workers.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Worker source (for `new Worker(source, { eval: true })`) that registers tsx and imports `entry`.
 * @param onFailure JavaScript statement run inside the worker when start-up fails; `e` is the error.
 */
export function tsWorkerBootstrap(entry: URL, onFailure: string): string {
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const api = pathToFileURL(join(dirname(pkgFile), pkg.exports['./esm/api']!.import.default)).href;
  return (
    `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })` +
    `.catch((e) => { ${onFailure} });`
  );
}
