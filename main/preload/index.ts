/**
 * Preload (sandboxed, built as CommonJS): exposes `window.delineate` ({@link DelineateBridge}) and nothing else.
 * The renderer never gets ipcRenderer; every argument is checked here before it goes to the main process, which
 * checks again.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { DelineateBridge, ShellCommand } from '../common/api';
import { IPC, MAX_IPC_MESSAGE_BYTES } from '../common/ipc';

function asArrayBuffer(data: unknown): ArrayBuffer | undefined {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer;
  return undefined;
}

const rpcListeners = new Set<(message: ArrayBuffer) => void>();
const commandListeners = new Set<(command: ShellCommand) => void>();

ipcRenderer.on(IPC.rpc, (_event, data: unknown) => {
  const buffer = asArrayBuffer(data);
  if (!buffer) return;
  for (const l of rpcListeners) l(buffer);
});

ipcRenderer.on(IPC.command, (_event, command: ShellCommand) => {
  if (typeof command !== 'object' || command === null || command.kind !== 'open' || typeof command.path !== 'string') return;
  if (command.what !== 'file' && command.what !== 'folder' && command.what !== 'recent') return;
  const copy: ShellCommand = { kind: 'open', path: command.path, what: command.what };
  for (const l of commandListeners) l(copy);
});

const bridge: DelineateBridge = {
  post(message: ArrayBuffer): void {
    const buffer = asArrayBuffer(message);
    if (!buffer) throw new TypeError('delineate.post takes an ArrayBuffer (one encoded RPC message)');
    if (buffer.byteLength > MAX_IPC_MESSAGE_BYTES) throw new RangeError(`delineate.post: message larger than ${MAX_IPC_MESSAGE_BYTES} bytes`);
    ipcRenderer.send(IPC.rpc, buffer);
  },
  onMessage(listener) {
    if (typeof listener !== 'function') throw new TypeError('delineate.onMessage takes a function');
    rpcListeners.add(listener);
    return () => void rpcListeners.delete(listener);
  },
  openDialog(kind) {
    if (kind !== 'file' && kind !== 'folder') return Promise.reject(new TypeError("delineate.openDialog takes 'file' or 'folder'"));
    return ipcRenderer.invoke(IPC.openDialog, kind) as Promise<string | null>;
  },
  saveDialog(request) {
    if (typeof request !== 'object' || request === null || typeof request.format !== 'string')
      return Promise.reject(new TypeError('delineate.saveDialog takes {format, defaultName?}'));
    if (request.defaultName !== undefined && typeof request.defaultName !== 'string') return Promise.reject(new TypeError('delineate.saveDialog: defaultName must be a string'));
    // A plain copy: only the two fields cross to the main process (which validates them again).
    const copy = request.defaultName === undefined ? { format: request.format } : { format: request.format, defaultName: request.defaultName };
    return ipcRenderer.invoke(IPC.saveDialog, copy) as Promise<string | null>;
  },
  pathForFile(file) {
    try {
      return webUtils.getPathForFile(file as File);
    } catch {
      return '';
    }
  },
  onCommand(listener) {
    if (typeof listener !== 'function') throw new TypeError('delineate.onCommand takes a function');
    commandListeners.add(listener);
    return () => void commandListeners.delete(listener);
  },
};

contextBridge.exposeInMainWorld('delineate', bridge);
