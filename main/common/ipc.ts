/**
 * Electron IPC channel names shared by the shell (main process) and the preload. The renderer never sees them:
 * it only gets `window.delineate` ({@link DelineateBridge} in ./api).
 */
export const IPC = {
  /** Renderer → main and main → renderer: one encoded RpcMessage (ArrayBuffer) per message. */
  rpc: 'delineate:rpc',
  /** Renderer → main (invoke): `'file' | 'folder'` → chosen absolute path or null. */
  openDialog: 'delineate:open-dialog',
  /** Renderer → main (invoke): a {@link SaveDialogRequest} → chosen absolute path (with the format's ending) or null. */
  saveDialog: 'delineate:save-dialog',
  /** Main → renderer: a {@link ShellCommand} from the menu. */
  command: 'delineate:command',
} as const;

/** Largest RPC message accepted from a renderer over IPC, bytes (uploads go through paths in Electron). */
export const MAX_IPC_MESSAGE_BYTES = 256 * 1024 * 1024;
