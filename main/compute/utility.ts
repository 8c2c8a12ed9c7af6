/**
 * Compute process as an Electron utilityProcess (the desktop app): speaks the supervisor protocol over
 * `process.parentPort`. No electron import: the utility process gets `parentPort` as a property of `process`
 * (Electron.ParentPort: `on('message', (e: {data, ports}) => …)`, `postMessage(message)`), typed locally below.
 * Messages between processes are structured-cloned (one copy across the process boundary; ArrayBuffers stay
 * binary).
 */
import { startCompute } from './entry';

/** The subset of Electron.ParentPort used here. */
interface ParentPortLike {
  on(event: 'message', listener: (event: { data: unknown; ports: unknown[] }) => void): unknown;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
if (!parentPort) throw new Error('main/compute/utility.ts must run as an Electron utilityProcess');
const port = parentPort;
const { server, dispose } = startCompute((message) => port.postMessage(message));
port.on('message', (event) => server.receive(event.data));
process.on('exit', () => dispose());
