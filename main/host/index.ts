/**
 * `npm run web` (= `electron-vite build && tsx main/host/index.ts`): the web host on 127.0.0.1.
 *
 *   tsx main/host/index.ts [--port 0] [--host 127.0.0.1] [--token <hex>] [--data-root <dir>] [--user-data <dir>]
 *                          [--renderer <dir>]
 *
 * Prints `Delineate web host: http://127.0.0.1:<port>/?token=<token>` on stdout once listening; logs go to stderr.
 * Stops on SIGINT/SIGTERM. Exit codes: 0 after a clean stop, 1 failure, 2 usage.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../cli/args';
import { DelineateError, toDelineateError } from '../common/errors';
import { startWebHost, type WebHost } from './server';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const usage = `Usage: tsx main/host/index.ts [options]   (npm run web -- [options])

Serves the Delineate workstation to a browser on 127.0.0.1, protected by a token.

Options:
  --port <n>          TCP port (default 0: a free port, printed)
  --host 127.0.0.1    listening address (127.0.0.1 only)
  --token <hex>       access token, 16–128 hex characters (default: 32 random hex characters, printed)
  --data-root <dir>   folder offered as the starting point for opening data (default: $DELINEATE_DATA_ROOT)
  --user-data <dir>   folder for the recent-items list and autosaves (default: the per-user Delineate folder, web-host/)
  --renderer <dir>    built renderer to serve (default: out/renderer of this project)`;

/** Per-user application-data folder (the one Electron's app.getPath('userData') would use for "Delineate"). */
export function defaultUserDataDir(): string {
  const base =
    process.platform === 'win32'
      ? (process.env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'))
      : process.platform === 'darwin'
        ? join(homedir(), 'Library', 'Application Support')
        : (process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'));
  return join(base, 'Delineate', 'web-host');
}

function absolute(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const v = String(value);
  return isAbsolute(v) ? v : resolve(process.cwd(), v);
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  let host: WebHost;
  try {
    const { positionals, flags } = parseArgs(argv, {
      port: { type: 'number' },
      host: { type: 'string' },
      token: { type: 'string' },
      'data-root': { type: 'string' },
      'user-data': { type: 'string' },
      renderer: { type: 'string' },
    });
    if (positionals.length > 0) throw new DelineateError('USAGE', `Unexpected argument '${positionals[0]}'`);
    const port = (flags.port as number | undefined) ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DelineateError('USAGE', `--port must be 0–65535, got ${port}`, { subject: '--port' });
    const hostName = (flags.host as string | undefined) ?? '127.0.0.1';
    if (hostName !== '127.0.0.1') throw new DelineateError('USAGE', `--host must be 127.0.0.1 (the web host never listens on other interfaces), got '${hostName}'`, { subject: '--host' });
    const token = (flags.token as string | undefined) ?? randomBytes(16).toString('hex');
    const dataRoot = absolute(flags['data-root'] ?? process.env.DELINEATE_DATA_ROOT);
    const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    host = await startWebHost({
      port,
      host: hostName,
      token,
      rendererDir: absolute(flags.renderer) ?? join(PROJECT_ROOT, 'out', 'renderer'),
      userDataDir: absolute(flags['user-data']) ?? defaultUserDataDir(),
      ...(dataRoot !== undefined ? { dataRoot } : {}),
      version,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (e) {
    const err = toDelineateError(e);
    process.stderr.write(`delineate web host: ${err.message}\n`);
    if (err.code === 'USAGE') {
      process.stderr.write(`\n${usage}\n`);
      return 2;
    }
    return 1;
  }
  process.stdout.write(`Delineate web host: ${host.url}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.stderr.write('delineate web host: stopping\n');
      void host.close().then(done, done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

const invokedDirectly = process.argv[1] && /host[\\/]index\.(ts|js|mjs)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`delineate web host: ${String((e as Error)?.stack ?? e)}\n`);
      process.exitCode = 1;
    },
  );
}
