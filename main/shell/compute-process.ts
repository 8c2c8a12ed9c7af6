/**
 * {@link ComputeLauncher} for the desktop app: the compute process is an Electron utilityProcess running
 * out/main/compute.js (main/compute/utility.ts). Messages are structured-cloned across the process boundary
 * (utilityProcess.postMessage can transfer only MessagePorts, not ArrayBuffers). Messages posted before the
 * process has spawned are queued.
 */
import { utilityProcess } from 'electron';
import type { ComputeLauncher, FromCompute, ToCompute } from '../common/supervisor';

/**
 * Messages from the utility process, with `data` as an ArrayBuffer: structured clone across processes may hand
 * binary data over as a Node Buffer/typed array view instead.
 */
export function normaliseFromCompute(message: unknown): FromCompute | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as { kind?: unknown; data?: unknown };
  if (m.kind === 'log') return message as FromCompute;
  if (m.kind !== 'msg') return undefined;
  if (m.data instanceof ArrayBuffer) return message as FromCompute;
  if (ArrayBuffer.isView(m.data)) {
    const v = m.data;
    const data = v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v.buffer : new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice().buffer;
    return { ...(message as FromCompute & { kind: 'msg' }), data };
  }
  return undefined;
}

export function utilityLauncher(modulePath: string): ComputeLauncher {
  return (events) => {
    const child = utilityProcess.fork(modulePath, [], { serviceName: 'Delineate compute', stdio: 'inherit' });
    let spawned = false;
    let queue: ToCompute[] = [];
    let reason: string | undefined;
    child.once('spawn', () => {
      spawned = true;
      for (const m of queue) child.postMessage(m);
      queue = [];
    });
    child.on('message', (message: unknown) => {
      const m = normaliseFromCompute(message);
      if (m) events.onMessage(m);
    });
    child.on('error', (type: string, location: string) => {
      reason = `${type} at ${location}`;
    });
    child.once('exit', (code: number) => events.onExit(reason === undefined ? { code } : { code, reason }));
    return {
      post: (message) => {
        if (spawned) child.postMessage(message);
        else queue.push(message);
      },
      kill: () => void child.kill(),
    };
  };
}
