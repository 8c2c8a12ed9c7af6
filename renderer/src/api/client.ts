/**
 * The renderer's only door to the backend (DESIGN.md): a {@link ServiceClient} over one of two transports,
 *  - Electron: `window.delineate` ({@link DelineateBridge}, exposed by the preload) — encoded messages over IPC;
 *  - web host: a WebSocket at `/rpc?token=<hex>` on the page's origin (token from the page URL), binary frames.
 * Both carry the messages of main/common/rpc.ts: requests `{t:'req'}`, replies `res | err | progress |
 * cancelled`, and `{t:'cancel'}` sent when the caller's AbortSignal fires.
 */
import type { CallOptions, DelineateBridge, MethodName, ParamsOf, ResultOf, SaveDialogRequest, ServiceClient, ShellCommand } from '../../../main/common/api';
import { CancelledSignal, DelineateError } from '../../../main/common/errors';
import { decodeMessage, encodeMessage, type RpcMessage } from '../../../main/common/rpc';

declare global {
  interface Window {
    /** Present only inside the Electron shell (set by the preload). */
    delineate?: DelineateBridge;
  }
}

/** A message channel: send encoded frames, receive encoded frames, learn when it closes. */
export interface RpcPort {
  send(frame: ArrayBuffer): void;
  onFrame(listener: (frame: ArrayBuffer) => void): void;
  onClose(listener: (reason: string) => void): void;
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onProgress?: CallOptions['onProgress'];
  cleanup: () => void;
}

/** Request/response multiplexer over an {@link RpcPort}. */
export class RpcClient implements ServiceClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedReason: string | null = null;

  constructor(private readonly port: RpcPort) {
    port.onFrame((frame) => this.receive(frame));
    port.onClose((reason) => {
      this.closedReason = reason;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.cleanup();
        p.reject(new DelineateError('PROTOCOL', `${p.method}: ${reason}`, { subject: p.method }));
      }
    });
  }

  call<M extends MethodName>(method: M, params: ParamsOf<M>, options: CallOptions = {}): Promise<ResultOf<M>> {
    if (this.closedReason !== null)
      return Promise.reject(new DelineateError('PROTOCOL', `${method}: ${this.closedReason}`, { subject: method }));
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(new CancelledSignal());
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const onAbort = () => this.port.send(encodeMessage({ t: 'cancel', id }));
      signal?.addEventListener('abort', onAbort, { once: true });
      const pending: Pending = {
        method,
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      if (onProgress) pending.onProgress = onProgress;
      this.pending.set(id, pending);
      try {
        this.port.send(encodeMessage({ t: 'req', id, method, params }));
      } catch (e) {
        this.pending.delete(id);
        pending.cleanup();
        reject(e);
      }
    });
  }

  private receive(frame: ArrayBuffer): void {
    let m: RpcMessage;
    try {
      m = decodeMessage(frame);
    } catch (e) {
      console.error('Dropped a malformed RPC frame', e);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.t) {
      case 'progress':
        p.onProgress?.(m.progress);
        return;
      case 'res':
        this.pending.delete(m.id);
        p.cleanup();
        p.resolve(m.result);
        return;
      case 'err':
        this.pending.delete(m.id);
        p.cleanup();
        p.reject(DelineateError.fromJSON(m.error));
        return;
      case 'cancelled':
        this.pending.delete(m.id);
        p.cleanup();
        p.reject(new CancelledSignal());
        return;
      default:
        return;
    }
  }
}

/** Port over the Electron preload bridge. */
export function bridgePort(bridge: DelineateBridge): RpcPort {
  return {
    send: (frame) => bridge.post(frame),
    onFrame: (listener) => {
      bridge.onMessage(listener);
    },
    onClose: () => {
      // IPC lives as long as the window; the shell restarts a crashed compute process and answers with errors.
    },
  };
}

/** Port over the web host's WebSocket; frames sent before the socket opens are queued. */
export function webSocketPort(url: string): RpcPort {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const queue: ArrayBuffer[] = [];
  const closeListeners: ((reason: string) => void)[] = [];
  ws.addEventListener('open', () => {
    for (const f of queue.splice(0)) ws.send(f);
  });
  ws.addEventListener('close', (ev) => {
    const reason = `connection to the Delineate host closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`;
    for (const l of closeListeners) l(reason);
  });
  return {
    send: (frame) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame);
      else if (ws.readyState === WebSocket.CONNECTING) queue.push(frame);
      else throw new DelineateError('PROTOCOL', 'The connection to the Delineate host is closed');
    },
    onFrame: (listener) =>
      ws.addEventListener('message', (ev: MessageEvent) => {
        if (ev.data instanceof ArrayBuffer) listener(ev.data);
      }),
    onClose: (listener) => closeListeners.push(listener),
  };
}

/** Native capabilities that only the Electron shell has. */
export interface NativeShell {
  openDialog(kind: 'file' | 'folder'): Promise<string | null>;
  /** Native save dialog of a segmentation format; the chosen path (with the format's ending) or null. */
  saveDialog(request: SaveDialogRequest): Promise<string | null>;
  pathForFile(file: File): string;
  /** Menu commands of the shell (File → Open…, Open Recent). */
  onCommand(listener: (command: ShellCommand) => void): () => void;
}

export interface Backend {
  client: ServiceClient;
  transport: 'electron' | 'web';
  /** Present in Electron only. */
  native: NativeShell | null;
}

/** Connect to whichever backend this page runs under. */
export function connect(): Backend {
  const bridge = window.delineate;
  if (bridge) {
    return {
      client: new RpcClient(bridgePort(bridge)),
      transport: 'electron',
      native: {
        openDialog: (kind) => bridge.openDialog(kind),
        saveDialog: (request) => bridge.saveDialog(request),
        pathForFile: (file) => bridge.pathForFile(file),
        onCommand: (listener) => bridge.onCommand(listener),
      },
    };
  }
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${window.location.host}/rpc?token=${encodeURIComponent(token)}`;
  return { client: new RpcClient(webSocketPort(url)), transport: 'web', native: null };
}

/**
 * Read dropped items into {@link UploadedFile}-shaped entries (web host drag-and-drop), walking folders.
 * Names are paths relative to the dropped item's parent ("series/IM0001").
 */
export async function readDroppedFiles(items: DataTransferItemList | null, files: FileList | null): Promise<{ name: string; bytes: ArrayBuffer }[]> {
  const out: { name: string; bytes: ArrayBuffer }[] = [];
  const entries: FileSystemEntry[] = [];
  if (items) for (const item of Array.from(items)) {
    const e = item.kind === 'file' ? item.webkitGetAsEntry() : null;
    if (e) entries.push(e);
  }
  if (entries.length === 0 && files) {
    for (const f of Array.from(files)) out.push({ name: f.name, bytes: await f.arrayBuffer() });
    return out;
  }
  const readFile = (e: FileSystemFileEntry) => new Promise<File>((res, rej) => e.file(res, rej));
  const readDir = async (e: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> => {
    const reader = e.createReader();
    const all: FileSystemEntry[] = [];
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
      if (batch.length === 0) return all;
      all.push(...batch);
    }
  };
  const walk = async (e: FileSystemEntry, prefix: string): Promise<void> => {
    if (e.isFile) {
      const f = await readFile(e as FileSystemFileEntry);
      out.push({ name: prefix + e.name, bytes: await f.arrayBuffer() });
    } else if (e.isDirectory) {
      for (const child of await readDir(e as FileSystemDirectoryEntry)) await walk(child, `${prefix}${e.name}/`);
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
