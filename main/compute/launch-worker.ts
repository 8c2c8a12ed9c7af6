/**
 * {@link ComputeLauncher} for a compute process in a worker thread (web host, tests). Messages are posted with
 * their ArrayBuffers in the transfer list (moved, not copied).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ComputeLauncher, FromCompute } from '../common/supervisor';

export interface WorkerLauncherOptions {
  /** Node flags for the worker (default: this process's). */
  execArgv?: string[];
  /** Passed to the worker's stdout/stderr (default: inherited from this process). */
  stdout?: boolean;
  stderr?: boolean;
}

/** The compute worker entry of this source tree (main/compute/worker.ts). */
export const COMPUTE_WORKER_ENTRY = new URL('./worker.ts', import.meta.url);

export function workerLauncher(entry: URL | string = COMPUTE_WORKER_ENTRY, options: WorkerLauncherOptions = {}): ComputeLauncher {
  const execArgv = options.execArgv ?? process.execArgv;
  const url = entry instanceof URL ? entry : pathToFileURL(entry);
  // A TypeScript entry (source tree: web host under tsx, tests) is loaded through tsx's ESM API registered inside
  // the worker: Node 20 does not apply the parent's loader hooks, nor `--import` in execArgv, to workers.
  const script: URL | string = url.pathname.endsWith('.ts') ? tsBootstrap(url) : url;
  return (events) => {
    const worker = new Worker(script, { eval: typeof script === 'string', execArgv, stdout: options.stdout ?? false, stderr: options.stderr ?? false });
    let lastError: string | undefined;
    worker.on('message', (m: FromCompute) => events.onMessage(m));
    worker.on('error', (e) => {
      lastError = e instanceof Error ? e.message : String(e);
    });
    worker.on('exit', (code) => events.onExit(lastError === undefined ? { code } : { code, reason: lastError }));
    return {
      post: (message, transfer) => worker.postMessage(message, transfer),
      kill: () => void worker.terminate(),
    };
  };
}

/** Worker source that registers tsx and then imports the TypeScript entry. */
function tsBootstrap(entry: URL): string {
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const api = pathToFileURL(join(dirname(pkgFile), pkg.exports['./esm/api']!.import.default)).href;
  return (
    `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })` +
    `.catch((e) => { require('node:fs').writeSync(2, 'compute worker failed to start: ' + String(e && e.stack || e) + '\\n'); process.exit(70); });`
  );
}
