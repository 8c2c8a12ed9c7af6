/**
 * Compute process as a worker thread (web host, tests): speaks the supervisor protocol over `parentPort`,
 * transferring the encoded answers (zero-copy between threads).
 */
import { parentPort } from 'node:worker_threads';
import { startCompute } from './entry';

if (!parentPort) throw new Error('main/compute/worker.ts must run in a worker thread');
const port = parentPort;
const { server, dispose } = startCompute((message, transfer) => port.postMessage(message, transfer));
port.on('message', (message: unknown) => server.receive(message));
port.on('close', () => dispose());
