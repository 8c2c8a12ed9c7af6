/**
 * The request/response multiplexer over a port, with the real wire encoding (main/common/rpc.ts). The far end
 * here is a small scripted responder standing in for the host; the real host is exercised by the e2e tests.
 */
import { describe, expect, it } from 'vitest';
import { CancelledSignal, DelineateError } from '../../../main/common/errors';
import { decodeMessage, encodeMessage, type RpcMessage } from '../../../main/common/rpc';
import { RpcClient, type RpcPort } from './client';

function pair(respond: (m: RpcMessage, reply: (r: RpcMessage) => void) => void) {
  let deliver: (f: ArrayBuffer) => void = () => {};
  let close: (reason: string) => void = () => {};
  const sent: RpcMessage[] = [];
  const port: RpcPort = {
    send: (frame) => {
      const m = decodeMessage(frame);
      sent.push(m);
      queueMicrotask(() => respond(m, (r) => deliver(encodeMessage(r))));
    },
    onFrame: (l) => (deliver = l),
    onClose: (l) => (close = l),
  };
  return { port, sent, close: (reason: string) => close(reason) };
}

describe('RpcClient', () => {
  it('sends requests and resolves results, typed arrays intact', async () => {
    const { port } = pair((m, reply) => {
      if (m.t === 'req') {
        reply({ t: 'progress', id: m.id, progress: { stage: 'read', done: 1, total: 2 } });
        reply({ t: 'res', id: m.id, result: { echo: m.params, data: new Int16Array([-1024, 3000]) } });
      }
    });
    const client = new RpcClient(port);
    const progress: number[] = [];
    const r = (await client.call('volumes.scan', { path: '/x' }, { onProgress: (p) => progress.push(p.done) })) as unknown as {
      echo: unknown;
      data: Int16Array;
    };
    expect(r.echo).toEqual({ path: '/x' });
    expect(Array.from(r.data)).toEqual([-1024, 3000]);
    expect(progress).toEqual([1]);
  });

  it('rebuilds DelineateErrors with code and subject', async () => {
    const { port } = pair((m, reply) => {
      if (m.t === 'req') reply({ t: 'err', id: m.id, error: new DelineateError('FORMAT', 'broken.nii: bad header', { subject: 'broken.nii' }).toJSON() });
    });
    const err = await new RpcClient(port).call('volumes.scan', { path: 'broken.nii' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DelineateError);
    expect((err as DelineateError).code).toBe('FORMAT');
    expect((err as DelineateError).subject).toBe('broken.nii');
  });

  it('sends cancel when the signal fires and rejects with CancelledSignal', async () => {
    const { port, sent } = pair((m, reply) => {
      if (m.t === 'cancel') reply({ t: 'cancelled', id: m.id });
    });
    const abort = new AbortController();
    const p = new RpcClient(port).call('volumes.load', { volumeId: 'a' }, { signal: abort.signal });
    abort.abort();
    await expect(p).rejects.toBeInstanceOf(CancelledSignal);
    expect(sent.map((m) => m.t)).toEqual(['req', 'cancel']);
  });

  it('fails pending and later calls when the connection closes', async () => {
    const { port, close } = pair(() => {});
    const client = new RpcClient(port);
    const p = client.call('app.info', {});
    close('connection to the Delineate host closed (1006)');
    await expect(p).rejects.toMatchObject({ code: 'PROTOCOL' });
    await expect(client.call('recent.list', {})).rejects.toMatchObject({ code: 'PROTOCOL' });
  });
});
