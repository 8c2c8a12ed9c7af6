/**
 * {@link ComputeLauncher} for a compute process in a worker thread (web host, tests). Messages are posted with
 * their ArrayBuffers in the transfer list (moved, not copied).
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ComputeLauncher, FromCompute } from '../common/supervisor';
import { tsWorkerBootstrap } from '../core/worker-bootstrap';

/** Run in the worker when its start-up fails: say why on stderr and exit, so the supervisor reports a crash. */
const COMPUTE_STARTUP_FAILED =
  "require('node:fs').writeSync(2, 'compute worker failed to start: ' + String(e && e.stack || e) + '\\n'); process.exit(70);";

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
  const script: URL | string = url.pathname.endsWith('.ts') ? tsWorkerBootstrap(url, COMPUTE_STARTUP_FAILED) : url;
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
