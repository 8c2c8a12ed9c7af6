/**
 * {@link ComputeLauncher} for the desktop app: the compute process is an Electron utilityProcess running
 * out/main/compute.js (main/compute/utility.ts). Messages are structured-cloned across the process boundary
 * (utilityProcess.postMessage can transfer only MessagePorts, not ArrayBuffers). Messages posted before the
 * process has spawned are queued.
 */
import { utilityProcess } from 'electron';
import type { ComputeLauncher, ToCompute } from '../common/supervisor';

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
    child.on('message', (message: unknown) => events.onMessage(message as Parameters<typeof events.onMessage>[0]));
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
