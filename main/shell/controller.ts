/**
 * The shell's behaviour behind a small {@link ShellPlatform} interface, so it is unit-tested without electron:
 * one supervisor session per window, IPC sender and payload checks, the open dialog, menu commands and the
 * Open Recent menu. main/shell/index.ts implements ShellPlatform with electron.
 *
 * RPC path in the desktop app: renderer → (IPC, one structured-clone copy) → main → (utilityProcess message,
 * one copy) → compute, and back the same way. The main process never decodes the binary part of a message: the
 * supervisor reads only the JSON header for routing and forwards the same ArrayBuffer.
 */
import type { RecentItem, ShellCommand } from '../common/api';
import { parseSaveDialogRequest, type SaveDialogSpec, saveDialogSpec, withFormatEnding } from './save-dialog';
import { DelineateError, toDelineateError } from '../common/errors';
import { IPC } from '../common/ipc';
import { peekMessage, tryReadId, encodeMessage } from '../common/rpc';
import type { JobSupervisor, SupervisorSession } from '../common/supervisor';
import { buildMenuTemplate } from './menu';
import type { MenuItemConstructorOptions } from 'electron';
import { ipcPayloadToArrayBuffer, type IpcSender, parseDialogKind, untrustedSenderReason } from './policy';

/** What the controller needs from electron. */
export interface ShellPlatform {
  readonly platform: string;
  readonly isPackaged: boolean;
  /** Send to one window's renderer (no-op if it is gone). */
  send(webContentsId: number, channel: string, payload: unknown): void;
  /** Native open dialog, modal to the window when given. Resolves to an absolute path or null. */
  showOpenDialog(webContentsId: number | undefined, kind: 'file' | 'folder'): Promise<string | null>;
  /** Native save dialog, modal to the window when given. Resolves to an absolute path or null (cancelled). */
  showSaveDialog(webContentsId: number | undefined, spec: SaveDialogSpec): Promise<string | null>;
  setMenu(template: MenuItemConstructorOptions[]): void;
  /** The focused Delineate window, or any open one, or undefined. */
  targetWindow(): number | undefined;
  /** Open a window when there is none (menu command with no window). Resolves to its webContents id. */
  openWindow(): Promise<number>;
  showAbout(): void;
  log(line: string): void;
}

export class ShellController {
  private readonly sessions = new Map<number, SupervisorSession>();
  private recent: RecentItem[] = [];

  constructor(
    private readonly platform: ShellPlatform,
    private readonly supervisor: Pick<JobSupervisor, 'openSession' | 'client' | 'onJobFinished'>,
  ) {
    supervisor.onJobFinished((job) => {
      if (job.method === 'recent.add' && job.status === 'succeeded') void this.refreshMenu();
    });
  }

  /** webContents ids of the windows the shell opened (the only trusted IPC senders). */
  get windows(): ReadonlySet<number> {
    return new Set(this.sessions.keys());
  }

  /** A Delineate window was created: give it its own supervisor session. */
  windowOpened(webContentsId: number): void {
    if (this.sessions.has(webContentsId)) return;
    this.sessions.set(
      webContentsId,
      this.supervisor.openSession((data) => this.platform.send(webContentsId, IPC.rpc, data)),
    );
  }

  /** The window is gone: its running jobs are cancelled. */
  windowClosed(webContentsId: number): void {
    this.sessions.get(webContentsId)?.close();
    this.sessions.delete(webContentsId);
  }

  /** `ipcMain.on(IPC.rpc)`: one encoded RpcMessage from a renderer. Untrusted or malformed input is dropped or answered with a PROTOCOL error. */
  handleRpc(sender: IpcSender, payload: unknown): void {
    const reason = untrustedSenderReason(sender, this.windows);
    if (reason) {
      this.platform.log(`shell: refused an RPC message: ${reason}`);
      return;
    }
    const session = this.sessions.get(sender.webContentsId)!;
    let buffer: ArrayBuffer | undefined;
    try {
      buffer = ipcPayloadToArrayBuffer(payload);
      const header = peekMessage(buffer);
      if (header.t !== 'req' && header.t !== 'cancel')
        throw new DelineateError('PROTOCOL', `A renderer may send 'req' and 'cancel' messages, not '${header.t}'`, { subject: 't' });
    } catch (e) {
      const err = toDelineateError(e, 'PROTOCOL');
      const id = tryReadId(buffer);
      if (id !== undefined) this.platform.send(sender.webContentsId, IPC.rpc, encodeMessage({ t: 'err', id, error: err.toJSON() }));
      this.platform.log(`shell: refused an RPC message: ${err.message}`);
      return;
    }
    session.receive(buffer);
  }

  /** `ipcMain.handle(IPC.openDialog)`. Throws (→ rejected invoke) for untrusted senders and bad arguments. */
  async handleOpenDialog(sender: IpcSender, kind: unknown): Promise<string | null> {
    const reason = untrustedSenderReason(sender, this.windows);
    if (reason) throw new DelineateError('PROTOCOL', `Refused: ${reason}`);
    return this.platform.showOpenDialog(sender.webContentsId, parseDialogKind(kind));
  }

  /**
   * `ipcMain.handle(IPC.saveDialog)`: the segment panel's save dialog. Throws (→ rejected invoke) for untrusted
   * senders and malformed requests; resolves to the chosen path with the format's file ending, or null.
   */
  async handleSaveDialog(sender: IpcSender, request: unknown): Promise<string | null> {
    const reason = untrustedSenderReason(sender, this.windows);
    if (reason) throw new DelineateError('PROTOCOL', `Refused: ${reason}`);
    const req = parseSaveDialogRequest(request);
    const path = await this.platform.showSaveDialog(sender.webContentsId, saveDialogSpec(req));
    return path ? withFormatEnding(path, req.format) : null;
  }

  /** Menu → File → Open File… / Open Folder…: ask, then tell the renderer to open it. */
  async openFromMenu(kind: 'file' | 'folder'): Promise<void> {
    const target = this.platform.targetWindow() ?? (await this.platform.openWindow());
    const path = await this.platform.showOpenDialog(target, kind);
    if (path) this.command(target, { kind: 'open', path, what: kind });
  }

  /** Menu → Open Recent → item. */
  async openRecent(item: RecentItem): Promise<void> {
    const target = this.platform.targetWindow() ?? (await this.platform.openWindow());
    this.command(target, { kind: 'open', path: item.path, what: 'recent' });
  }

  /** Rebuild the application menu with the current recent items (read through the compute service). */
  async refreshMenu(): Promise<void> {
    try {
      this.recent = await this.supervisor.client().call('recent.list', {});
    } catch (e) {
      this.platform.log(`shell: could not read the recent items: ${toDelineateError(e).message}`);
    }
    this.platform.setMenu(
      buildMenuTemplate({
        platform: this.platform.platform,
        isPackaged: this.platform.isPackaged,
        recent: this.recent,
        actions: {
          openFile: () => void this.openFromMenu('file'),
          openFolder: () => void this.openFromMenu('folder'),
          openRecent: (item) => void this.openRecent(item),
          about: () => this.platform.showAbout(),
        },
      }),
    );
  }

  private command(webContentsId: number, command: ShellCommand): void {
    this.platform.send(webContentsId, IPC.command, command);
  }
}
