/**
 * Shared start-up of the compute process for both entry points (./utility for Electron, ./worker for
 * worker_threads): a {@link ComputeServer} whose handler is the {@link ComputeService} on the real core.
 */
import type { FromCompute } from '../common/supervisor';
import { core } from './core';
import { ComputeServer } from './server';
import { ComputeService } from './service';

/**
 * @param post Sends one message to the supervisor; `transfer` lists the buffers to move (where the channel can).
 * @returns the server (feed it every message from the supervisor) and a cleanup for process exit.
 */
export function startCompute(post: (message: FromCompute, transfer: ArrayBuffer[]) => void): { server: ComputeServer; dispose(): void } {
  let service: ComputeService | undefined;
  const server = new ComputeServer(post, (config) => {
    service?.dispose();
    service = new ComputeService(config, core);
    return service.handle;
  });
  return { server, dispose: () => service?.dispose() };
}
