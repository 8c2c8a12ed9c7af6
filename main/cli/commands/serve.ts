/**
 * `delineate serve --port <p> [--token <t>] [--max-queue N] [--concurrency N] [--models-dir <dir>]` — the local
 * inference API (main/core/api-server) on 127.0.0.1; runs until Ctrl-C / SIGTERM.
 */
import { availableParallelism } from 'node:os';
import { DelineateError } from '../../common/errors';
import { startApiServer } from '../../core/api-server/index';
import { parseArgs } from '../args';
import type { CliIo } from '../io';

export const usage = `Usage: delineate serve --port <p> [--token <t>] [--max-queue N] [--concurrency N] [--models-dir <dir>]
                       [--max-upload-mb M] [--host <addr> --expose]

A local HTTP API for other software on this machine: submit a volume and a model id, poll the job, fetch the label
map (NIfTI) and statistics (JSON). OpenAPI 3.1 document at GET /openapi.json.

  POST   /v1/jobs                       upload (multipart "file" parts + "model", or raw body with ?model=) → 202 {jobId}
  GET    /v1/jobs/{id}                  {status: queued|running|succeeded|failed|cancelled, progress, etaMs, …}
  GET    /v1/jobs/{id}/result/labels    labels.nii.gz          GET /v1/jobs/{id}/result/stats   statistics JSON
  GET    /v1/jobs/{id}/result/seg       DICOM SEG (only for zipped DICOM series uploads)
  POST   /v1/jobs/{id}/cancel           cancel                 DELETE /v1/jobs/{id}             cancel and delete
  GET    /v1/models                     available models       GET /v1/jobs                     all jobs
Uploads: NIfTI (.nii, .nii.gz), NRRD (attached), MetaImage (.mha), or a .zip of one DICOM series; options as
form fields or query parameters: model (required), device, tta=true|false, folds=0,1, step.

Options:
  --port <p>            TCP port (0 = any free port; the URL is printed)
  --token <t>           bearer token, at least 16 characters (default: $DELINEATE_API_TOKEN, else a random one,
                        printed at start); every /v1 request needs "Authorization: Bearer <token>"
  --max-queue <N>       jobs waiting beyond the running ones (default 16); more → 429
  --concurrency <N>     jobs running at once, each in its own worker thread (default 1); CPU threads per job =
                        cores / N
  --models-dir <dir>    extra folder of model folders (besides bundled models and $DELINEATE_MODELS_DIR)
  --max-upload-mb <M>   largest request body (default 1024); more → 413
  --host <addr>         listen address (default 127.0.0.1). Anything but loopback also needs --expose: the API
                        then accepts connections from other machines (meant for a container whose port is
                        published to the host's loopback only, e.g. docker run -p 127.0.0.1:8080:8080).

Prints {"url", "host", "port", "token"?} on stdout once listening (the token only when it was generated).`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    port: { type: 'number', alias: 'p' },
    token: { type: 'string' },
    'max-queue': { type: 'number' },
    concurrency: { type: 'number' },
    'models-dir': { type: 'string' },
    'max-upload-mb': { type: 'number' },
    host: { type: 'string' },
    expose: { type: 'boolean' },
  });
  if (positionals.length) throw new DelineateError('USAGE', `unexpected argument '${positionals[0]}'`);
  const port = flags.port as number | undefined;
  if (port === undefined || !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new DelineateError('USAGE', '--port <0…65535> is required', { subject: '--port' });
  const concurrency = (flags.concurrency as number | undefined) ?? 1;
  const maxQueue = (flags['max-queue'] as number | undefined) ?? 16;
  const maxUploadMb = (flags['max-upload-mb'] as number | undefined) ?? 1024;
  if (!(maxUploadMb > 0)) throw new DelineateError('USAGE', '--max-upload-mb must be > 0', { subject: '--max-upload-mb' });
  const host = (flags.host as string | undefined) ?? '127.0.0.1';
  const token = (flags.token as string | undefined) ?? process.env.DELINEATE_API_TOKEN;
  if (flags.expose && !['127.0.0.1', '::1', 'localhost'].includes(host))
    io.stderr(
      `WARNING: listening on ${host}: the API accepts connections from other machines that can reach this one. ` +
        `Publish the port to the host's loopback only (docker run -p 127.0.0.1:<p>:<p>) and keep the token secret.\n`,
    );
  const api = await startApiServer({
    port,
    host,
    allowNonLoopback: Boolean(flags.expose),
    ...(token !== undefined ? { token } : {}),
    maxQueue,
    concurrency,
    ...(flags['models-dir'] ? { modelsDir: flags['models-dir'] as string } : {}),
    maxUploadBytes: Math.round(maxUploadMb * 1024 * 1024),
  });
  io.stderr(`delineate serve: listening on ${api.url} (${concurrency} concurrent job(s), ${Math.max(1, Math.floor(availableParallelism() / concurrency))} CPU thread(s) each, queue ${maxQueue})\n`);
  if (api.tokenGenerated) io.stderr(`token: ${api.token}\n`);
  io.stdout(JSON.stringify({ url: api.url, host: api.host, port: api.port, ...(api.tokenGenerated ? { token: api.token } : {}) }) + '\n');
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
    process.once('SIGTERM', () => resolve());
  });
  io.stderr('delineate serve: shutting down\n');
  await api.close();
  return 0;
}
