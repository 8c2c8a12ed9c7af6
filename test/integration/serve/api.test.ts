/**
 * The local inference API over real HTTP on 127.0.0.1 (port 0): a job end to end (upload, poll, labels, stats),
 * bad uploads (400), tokens (401), a full queue (429), cancel, size limit (413), and the OpenAPI document against
 * the router. Jobs run the engine's golden test network on crops of a real CT and on a real zipped DICOM series.
 * Every polling loop is bounded in count and time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, openApiDocument, ROUTES, startApiServer } from '../../../main/core/api-server/index';
import { segment } from '../../../main/core/inference/engine';
import { readImageFile, scanPath } from '../../../main/core/io/index';
import { readDicomSeg, readSourceSeries, segmentationToLabelmap } from '../../../main/core/seg/index';
import { loadModel } from '../../../main/core/models/registry';
import { dataPath, hasData, PROJECT_ROOT } from '../../helpers/data';
import { CT, writeCtCases } from '../batch/cohort';
import { buildZip } from './zipwriter';

const MODELS = resolve(PROJECT_ROOT, 'test/fixtures/engine');
const MODEL_ID = 'golden-totalseg-ct';
const DICOM = 'totalseg-example/example_ct_dicom';
const TINY_DICOM = 'dicom-conformance/monai_ct_dicom_tiny'; // 4 slices with gaps: cannot form a volume
const CT3 = 'dicom-conformance/dcmqi_ct3slice_nrrd_seg/ct-3slice'; // GE CT 512×512×3
const TOKEN = 'test-token-0123456789abcdef';

interface JobJson {
  id: string;
  status: string;
  progress?: { stage: string; done: number; total: number };
  fraction?: number;
  etaMs?: number;
  queuePosition?: number;
  error?: { code: string; message: string };
  result?: { labels: string; stats: string; seg?: string };
}
interface ErrJson {
  error: { code: string; message: string; subject?: string };
}

describe.skipIf(!hasData(CT, DICOM, TINY_DICOM, CT3))('delineate serve API', { timeout: 300_000 }, () => {
  let root: string;
  let api: ApiServer;
  let ct: Buffer;
  let ctPath: string;
  let dicomZip: Buffer;

  const call = (path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? TOKEN : init.token;
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    return fetch(`${api.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(30_000) });
  };
  const form = (file: Buffer, filename: string, fields: Record<string, string>): FormData => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.set(k, v);
    f.append('file', new Blob([file]), filename);
    return f;
  };
  /** Poll a job until `until` holds: at most `maxPolls` polls, 250 ms apart (2 minutes by default). */
  const poll = async (id: string, until: (j: JobJson) => boolean, maxPolls = 480): Promise<JobJson> => {
    let last: JobJson | undefined;
    for (let n = 0; n < maxPolls; n++) {
      last = (await (await call(`/v1/jobs/${id}`)).json()) as JobJson;
      if (until(last)) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`job ${id} did not reach the expected state in ${maxPolls} polls; last: ${JSON.stringify(last)}`);
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'delineate-api-'));
    await writeCtCases(root, 1);
    ctPath = join(root, 'ct0_0000.nii.gz');
    ct = readFileSync(ctPath);
    const dir = dataPath(DICOM);
    dicomZip = buildZip(readdirSync(dir).sort().map((f) => ({ name: `series/${f}`, data: readFileSync(join(dir, f)), deflate: true })));
    api = await startApiServer({ port: 0, token: TOKEN, modelsDir: MODELS, maxQueue: 1, concurrency: 1, workDir: join(root, 'work') });
  });
  afterAll(async () => {
    await api?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only and refuses other addresses unless exposed explicitly', async () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect(startApiServer({ port: 0, host: '0.0.0.0', token: TOKEN })).rejects.toMatchObject({ code: 'USAGE', subject: '--host' });
    await expect(startApiServer({ port: 0, token: 'short' })).rejects.toMatchObject({ code: 'USAGE', subject: '--token' });
  });

  it('serves an OpenAPI 3.1 document listing exactly the routes of the router', async () => {
    const res = await call('/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc).toEqual(openApiDocument());
    expect(doc.openapi).toBe('3.1.0');
    for (const r of ROUTES) expect(doc.paths[r.path]?.[r.method.toLowerCase()], `${r.method} ${r.path}`).toBeDefined();
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((k) => k !== 'parameters').map((m) => `${m.toUpperCase()} ${p}`));
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('answers 401 without or with a wrong token', async () => {
    for (const token of [null, 'wrong-token-0123456789abcdef', TOKEN.slice(0, -1)]) {
      const res = await call('/v1/models', { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await res.json()) as ErrJson).error.code).toBe('AUTH');
    }
    const res = await call(`/v1/jobs?model=${MODEL_ID}`, { method: 'POST', body: ct, token: 'nope-nope-nope-nope' });
    expect(res.status).toBe(401);
  });

  it('lists the models and answers 404/405 for unknown jobs and methods', async () => {
    const models = (await (await call('/v1/models')).json()) as { models: { id: string; channels: string[] }[] };
    expect(models.models.find((m) => m.id === MODEL_ID)).toMatchObject({ channels: ['CT'] });
    expect((await call('/v1/jobs/0123456789abcdef')).status).toBe(404);
    expect((await call('/v1/nothing')).status).toBe(404);
    const r = await call('/v1/jobs', { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST, GET');
  });

  it('answers 400 naming what is wrong with a bad upload, and never crashes', async () => {
    const cases: [string, RequestInit, RegExp][] = [
      [`/v1/jobs?model=${MODEL_ID}&filename=notes.nii.gz`, { method: 'POST', body: 'this is not an image at all' }, /notes\.nii\.gz: plain text, not an image volume/],
      [`/v1/jobs?model=${MODEL_ID}`, { method: 'POST', body: ct.subarray(0, 200) }, /upload: .*(truncated|gzip|NIfTI)/i],
      [`/v1/jobs?model=${MODEL_ID}`, { method: 'POST', body: buildZip([{ name: '../../evil.dcm', data: Buffer.from('x') }]) }, /leaves the extraction folder/],
      [`/v1/jobs?model=${MODEL_ID}&filename=docs.zip`, { method: 'POST', body: buildZip([{ name: 'a.txt', data: Buffer.from('hello') }]) }, /docs\.zip: the zip holds no image series/],
      [`/v1/jobs?model=nope`, { method: 'POST', body: ct }, /no model 'nope'; available: .*golden-totalseg-ct/],
      [`/v1/jobs`, { method: 'POST', body: ct }, /model is required/],
      [`/v1/jobs?model=${MODEL_ID}`, { method: 'POST' }, /no file uploaded/],
      [`/v1/jobs?model=${MODEL_ID}&tta=maybe`, { method: 'POST', body: ct }, /tta must be true or false/],
      [`/v1/jobs?model=${MODEL_ID}&folds=7`, { method: 'POST', body: ct }, /has no fold 7/],
      [`/v1/jobs`, { method: 'POST', body: form(ct, 'a.nii.gz', { model: MODEL_ID, colour: 'red' }) }, /unknown form field\(s\): colour/],
      [`/v1/jobs`, { method: 'POST', body: 'garbage', headers: { 'content-type': 'multipart/form-data; boundary=zzz' } }, /multipart body does not contain its boundary/],
      [`/v1/jobs?model=golden-tcia-mr-2ch`, { method: 'POST', body: ct }, /needs 2 input volume\(s\) \(T1c, FLAIR\); 1 uploaded/],
    ];
    for (const [path, init, msg] of cases) {
      const res = await call(path, init);
      const body = (await res.json()) as ErrJson;
      expect(res.status, `${path}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.error.message).toMatch(msg);
    }
    expect(((await (await call('/v1/jobs')).json()) as { jobs: unknown[] }).jobs).toEqual([]); // nothing was queued
    expect(readdirSync(join(root, 'work'))).toEqual([]); // and nothing left behind
  });

  it('runs a job end to end: multipart upload → 202, poll, labels (NIfTI) equal to the engine’s, stats', async () => {
    const res = await call('/v1/jobs', { method: 'POST', body: form(ct, 'ct0_0000.nii.gz', { model: MODEL_ID, tta: 'false' }) });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    expect(res.headers.get('location')).toBe(`/v1/jobs/${jobId}`);
    const done = await poll(jobId, (j) => !['queued', 'running'].includes(j.status));
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.result?.labels).toBe(`/v1/jobs/${jobId}/result/labels`);

    const lres = await call(done.result!.labels);
    expect(lres.status).toBe(200);
    expect(lres.headers.get('content-type')).toBe('application/gzip');
    const labelsPath = join(root, 'labels.nii.gz');
    writeFileSync(labelsPath, Buffer.from(await lres.arrayBuffer()));
    const labels = await readImageFile(labelsPath);
    const input = await readImageFile(ctPath);
    expect(labels.size).toEqual(input.size);
    expect(labels.spacingMm).toEqual(input.spacingMm);
    labels.originMm.forEach((v, i) => expect(v).toBeCloseTo(input.originMm[i]!, 4));
    // The same engine in this process, same settings: identical labels.
    const direct = await segment(await loadModel(join(MODELS, 'totalseg-ct')), [input], { tta: false });
    expect(Buffer.from(labels.data.buffer, labels.data.byteOffset, labels.data.byteLength).equals(Buffer.from(direct.labels.data.buffer, direct.labels.data.byteOffset, direct.labels.data.byteLength))).toBe(true);

    const sres = await call(done.result!.stats);
    expect(sres.status).toBe(200);
    const stats = (await sres.json()) as { model: { id: string }; voxelVolumeMl: number; segments: { value: number; name: string; voxelCount: number; volumeMl: number; intensity: { mean: number } }[] };
    expect(stats.model.id).toBe(MODEL_ID);
    let count1 = 0;
    let sum1 = 0;
    for (let i = 0; i < labels.data.length; i++)
      if (labels.data[i] === 1) {
        count1++;
        sum1 += input.data[i]!;
      }
    const seg1 = stats.segments.find((s) => s.value === 1);
    expect(seg1).toMatchObject({ name: 'class 1', voxelCount: count1 });
    expect(seg1!.volumeMl).toBeCloseTo(count1 * 0.027, 9);
    expect(seg1!.intensity.mean).toBeCloseTo(sum1 / count1, 6);
    // Not a DICOM input: no SEG, and the route says why.
    expect(done.result?.seg).toBeUndefined();
    const nores = await call(`/v1/jobs/${jobId}/result/seg`);
    expect(nores.status).toBe(404);
    expect(((await nores.json()) as ErrJson).error.message).toMatch(/has no DICOM SEG: the input was not a DICOM series/);
  });

  it('a job whose series has missing slices fails with the reason, and has no results (409)', async () => {
    const dir = dataPath(TINY_DICOM);
    const zip = buildZip(readdirSync(dir).sort().map((f) => ({ name: `CT_DICOM/${f}`, data: readFileSync(join(dir, f)) })));
    const res = await call(`/v1/jobs?model=${MODEL_ID}&tta=false`, { method: 'POST', body: zip });
    expect(res.status, await res.clone().text()).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const done = await poll(jobId, (j) => !['queued', 'running'].includes(j.status));
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'GEOMETRY', message: expect.stringMatching(/slice\(s\) missing/) });
    expect((await call(`/v1/jobs/${jobId}/result/labels`)).status).toBe(409);
  });

  it('a zipped DICOM series gives labels on the series grid and a DICOM SEG referencing it; other inputs have no SEG', async () => {
    const dir = dataPath(CT3);
    const zip = buildZip(readdirSync(dir).sort().map((f) => ({ name: `ct-3slice/${f}`, data: readFileSync(join(dir, f)), deflate: true })));
    const res = await call('/v1/jobs', { method: 'POST', body: form(zip, 'ct3.zip', { model: MODEL_ID, tta: 'false', step: '1' }) });
    expect(res.status, await res.clone().text()).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const done = await poll(jobId, (j) => !['queued', 'running'].includes(j.status));
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.result?.seg).toBe(`/v1/jobs/${jobId}/result/seg`);

    const labelsPath = join(root, 'ct3_labels.nii.gz');
    writeFileSync(labelsPath, Buffer.from(await (await call(done.result!.labels)).arrayBuffer()));
    const labels = await readImageFile(labelsPath);
    const scan = await scanPath(dir);
    expect(scan.volumes).toHaveLength(1);
    const series = scan.volumes[0]!;
    expect(labels.size).toEqual(series.size);

    const sres = await call(done.result!.seg!);
    expect(sres.status).toBe(200);
    expect(sres.headers.get('content-type')).toBe('application/dicom');
    const segPath = join(root, 'ct3_seg.dcm');
    writeFileSync(segPath, Buffer.from(await sres.arrayBuffer()));
    const source = await readSourceSeries(series);
    const read = await readDicomSeg(segPath, { grid: source.grid, seriesInstanceUid: source.seriesInstanceUid, name: 'ct-3slice' });
    // The SEG, read back onto the source series, holds exactly the label map's voxels.
    const back = segmentationToLabelmap(read.segmentation);
    expect(back.segments.map((x) => x.value)).toEqual(labels.data.some((v) => v === 1) ? [1] : []);
    expect(Array.from(back.data)).toEqual(Array.from(labels.data));
    if (!existsSync('/usr/bin/dciodvfy') && process.env.CI === 'true') throw new Error('dciodvfy (dicom3tools) is missing; CI installs it');
    if (existsSync('/usr/bin/dciodvfy')) {
      // dicom3tools' validator: no errors (warnings about optional attributes are allowed).
      const out = spawnSync('/usr/bin/dciodvfy', [segPath], { encoding: 'utf8' });
      expect(`${out.stdout}${out.stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
    }
  });

  it('bounds the queue (429), cancels a queued job at once and a running one between tiles; results of a cancelled job are 409', async () => {
    // A real zipped DICOM series (512×512×20, JPEG 2000) with TTA: 64 tiles × 8 mirrorings — long enough to cancel.
    const a = await call(`/v1/jobs?model=${MODEL_ID}&filename=series.zip`, { method: 'POST', body: dicomZip, headers: { 'content-type': 'application/zip' } });
    expect(a.status, await a.clone().text()).toBe(202);
    const A = ((await a.json()) as { jobId: string }).jobId;
    const running = await poll(A, (j) => j.status !== 'queued' && (j.status !== 'running' || (j.progress?.stage === 'inference' && j.progress.done >= 1)));
    expect(running.status).toBe('running');
    expect(running.progress).toMatchObject({ stage: 'inference', total: 64 });
    expect(running.fraction).toBeGreaterThan(0);
    expect(running.etaMs).toBeGreaterThan(0);

    const b = await call(`/v1/jobs?model=${MODEL_ID}&tta=false`, { method: 'POST', body: ct });
    expect(b.status).toBe(202);
    const B = ((await b.json()) as { jobId: string }).jobId;
    expect(await (await call(`/v1/jobs/${B}`)).json()).toMatchObject({ status: 'queued', queuePosition: 1 });
    const c = await call(`/v1/jobs?model=${MODEL_ID}&tta=false`, { method: 'POST', body: ct });
    expect(c.status).toBe(429);
    expect(((await c.json()) as ErrJson).error.code).toBe('BUSY');

    const cb = await call(`/v1/jobs/${B}/cancel`, { method: 'POST' });
    expect(cb.status).toBe(202);
    expect(await cb.json()).toMatchObject({ status: 'cancelled' });
    expect((await call(`/v1/jobs/${A}/cancel`, { method: 'POST' })).status).toBe(202);
    const ended = await poll(A, (j) => j.status !== 'running', 120);
    expect(ended.status).toBe('cancelled');
    expect((await call(`/v1/jobs/${A}/result/labels`)).status).toBe(409);
    expect((await call(`/v1/jobs/${A}/result/stats`)).status).toBe(409);
    expect((await call(`/v1/jobs/${A}/cancel`, { method: 'POST' })).status).toBe(409);
    expect((await call(`/v1/jobs/${A}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`/v1/jobs/${A}`)).status).toBe(404);

    // DELETE of a running job stops it and removes it with its folder.
    const before = readdirSync(join(root, 'work'));
    const e = await call(`/v1/jobs?model=${MODEL_ID}`, { method: 'POST', body: dicomZip });
    expect(e.status).toBe(202);
    const E = ((await e.json()) as { jobId: string }).jobId;
    expect(await poll(E, (j) => j.status !== 'queued')).toMatchObject({ status: 'running' });
    expect(readdirSync(join(root, 'work')).length).toBe(before.length + 1);
    expect((await call(`/v1/jobs/${E}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`/v1/jobs/${E}`)).status).toBe(404);
    expect(readdirSync(join(root, 'work')).sort()).toEqual(before.sort());
  });

  it('survives garbage on the socket and an upload aborted halfway, and keeps answering', async () => {
    const { port } = api;
    const raw = (text: string | Buffer, endAfterMs: number): Promise<string> =>
      new Promise((resolveRaw) => {
        const sock = connect(port, '127.0.0.1');
        let got = '';
        sock.on('data', (d) => (got += d.toString('latin1')));
        sock.on('error', () => resolveRaw(got));
        sock.on('close', () => resolveRaw(got));
        sock.write(text);
        setTimeout(() => sock.destroy(), endAfterMs);
      });
    expect(await raw('\x00\x01 not HTTP at all\r\n\r\n', 1000)).toMatch(/^HTTP\/1\.1 400/);
    // Headers announce 1 MB, 10 kB arrive, then the client disappears.
    const head = `POST /v1/jobs?model=${MODEL_ID} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000000\r\n\r\n`;
    await raw(Buffer.concat([Buffer.from(head), ct.subarray(0, 10_000)]), 300);
    const res = await call('/v1/models');
    expect(res.status).toBe(200);
  });

  it('answers 413 for an upload over the limit', async () => {
    const small = await startApiServer({ port: 0, token: TOKEN, modelsDir: MODELS, maxUploadBytes: 1024, workDir: join(root, 'work-small') });
    try {
      const res = await fetch(`${small.url}/v1/jobs?model=${MODEL_ID}`, { method: 'POST', body: ct, headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(30_000) });
      expect(res.status).toBe(413);
      expect(((await res.json()) as ErrJson).error.message).toMatch(/over the limit of 1024 bytes/);
      // Without Content-Length (chunked): found while reading; the client still gets its answer.
      const chunks = Array.from({ length: 50 }, () => new Uint8Array(4096).fill(7));
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          const next = chunks.pop();
          if (next) c.enqueue(next);
          else c.close();
        },
      });
      const res2 = await fetch(`${small.url}/v1/jobs?model=${MODEL_ID}`, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: AbortSignal.timeout(30_000),
      } as RequestInit);
      expect(res2.status).toBe(413);
      expect(((await res2.json()) as ErrJson).error.message).toMatch(/upload is over the limit of 1024 bytes/);
    } finally {
      await small.close();
    }
  });
});
