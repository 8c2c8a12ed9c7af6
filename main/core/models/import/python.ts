/**
 * Running the Python model bridges (native-models/bridge/*.py) for `import-model nnunet|monai-bundle`. Python is
 * only needed for importing, never by the app. The interpreter is `--python`, else $DELINEATE_PYTHON, else
 * `python3`. Its stdout and stderr are streamed line by line to the caller's log; cancelling kills it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CancelledSignal, DelineateError } from '../../../common/errors';

const here = dirname(fileURLToPath(import.meta.url));

/** Folder of the Python bridges: $DELINEATE_BRIDGE_DIR or `native-models/bridge` of the project/installation. */
export function bridgeDir(): string {
  return resolve(process.env.DELINEATE_BRIDGE_DIR ?? join(here, '..', '..', '..', '..', 'native-models', 'bridge'));
}

/** The Python interpreter to use: the explicit one, else $DELINEATE_PYTHON, else `python3` on the PATH. */
export function pythonCommand(explicit?: string): string {
  return explicit ?? process.env.DELINEATE_PYTHON ?? 'python3';
}

export interface PythonRun {
  code: number;
  /** The last lines the process printed (stdout and stderr interleaved), for error messages. */
  tail: string[];
}

/**
 * Run `python args...`, streaming each output line to `log`. Resolves with the exit code; throws NOT_FOUND when the
 * interpreter cannot be started, CancelledSignal when `signal` fires (the process is killed first).
 */
export function runPython(python: string, args: string[], opts: { log?: (line: string) => void; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<PythonRun> {
  return new Promise((resolvePromise, reject) => {
    if (opts.signal?.aborted) return reject(new CancelledSignal());
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1', ...opts.env } });
    const tail: string[] = [];
    const pending = { out: '', err: '' };
    const feed = (which: 'out' | 'err', chunk: Buffer): void => {
      const lines = (pending[which] + chunk.toString('utf8')).split(/\r?\n/);
      pending[which] = lines.pop() ?? '';
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 40) tail.shift();
        opts.log?.(l);
      }
    };
    child.stdout.on('data', (c: Buffer) => feed('out', c));
    child.stderr.on('data', (c: Buffer) => feed('err', c));
    const onAbort = (): void => void child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(
        new DelineateError(
          'NOT_FOUND',
          `cannot run the Python interpreter '${python}' (${e.code ?? e.message}); give one with --python <path> or $DELINEATE_PYTHON`,
          { subject: '--python', cause: e },
        ),
      );
    });
    child.on('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      for (const w of ['out', 'err'] as const)
        if (pending[w]) {
          tail.push(pending[w]);
          opts.log?.(pending[w]);
        }
      if (opts.signal?.aborted) return reject(new CancelledSignal());
      resolvePromise({ code: code ?? 1, tail });
    });
  });
}

/** The pip commands printed when the bridge's Python packages are missing. */
export function pipHint(python: string): string {
  const req = join(bridgeDir(), 'requirements.txt');
  return (
    `install them into that Python with:\n` +
    `  ${python} -m pip install --index-url https://download.pytorch.org/whl/cpu torch==2.15.0   # CPU-only torch\n` +
    `  ${python} -m pip install -r ${req}` +
    (existsSync(req) ? '' : ' (file missing in this installation)')
  );
}

/**
 * Check that `python` runs and can import every module in `modules`; throws UNSUPPORTED naming the missing
 * modules and the pip commands that install them (`extraPip` adds a line, e.g. for monai).
 */
export async function checkPythonModules(python: string, modules: string[], opts: { signal?: AbortSignal; extraPip?: string } = {}): Promise<void> {
  const probe = `import importlib.util,sys\nmissing=[m for m in ${JSON.stringify(modules)} if importlib.util.find_spec(m) is None]\nprint('MISSING:'+','.join(missing))`;
  const r = await runPython(python, ['-c', probe], { signal: opts.signal });
  const line = r.tail.find((l) => l.startsWith('MISSING:'));
  if (r.code !== 0 || line === undefined)
    throw new DelineateError('UNSUPPORTED', `the Python interpreter '${python}' failed to run a module check (exit ${r.code}): ${r.tail.slice(-5).join(' | ')}`, { subject: '--python' });
  const missing = line.slice('MISSING:'.length).split(',').filter(Boolean);
  if (missing.length)
    throw new DelineateError(
      'UNSUPPORTED',
      `the Python interpreter '${python}' lacks ${missing.join(', ')}, needed by the model bridge; ${pipHint(python)}${opts.extraPip ? `\n  ${python} -m pip install ${opts.extraPip}` : ''}`,
      { subject: '--python' },
    );
}
