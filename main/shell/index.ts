/**
 * Electron main process: lifecycle, the app:// protocol, the main window, menus, native dialogs, IPC and the
 * compute utilityProcess under the job supervisor. The decisions live in ./policy, ./menu and ./controller
 * (tested without electron); this file only applies them.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, type IpcMainEvent, type IpcMainInvokeEvent, ipcMain, Menu, protocol, session, webContents } from 'electron';
import { JobSupervisor } from '../common/supervisor';
import { utilityLauncher } from './compute-process';
import { ShellController, type ShellPlatform } from './controller';
import { appProtocolHandler } from './app-protocol';
import { allowNavigation, allowPermission, APP_ENTRY_URL, APP_SCHEME, APP_SCHEME_REGISTRATION, type IpcSender, mainWindowOptions } from './policy';
import { IPC } from '../common/ipc';

const here = dirname(fileURLToPath(import.meta.url)); // out/main
const RENDERER_DIR = join(here, '..', 'renderer');
const PRELOAD = join(here, '..', 'preload', 'index.cjs');
const COMPUTE = join(here, 'compute.js');

// Before `ready`: the app:// scheme's privileges, sandbox for every renderer, one instance.
protocol.registerSchemesAsPrivileged([APP_SCHEME_REGISTRATION]);
app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();

const log = (line: string) => process.stderr.write(`${line}\n`);

// Every webContents, whoever creates it: no navigation, no new windows, no <webview>.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!allowNavigation(url)) event.preventDefault();
  });
  contents.on('will-frame-navigate', (event) => {
    if (!allowNavigation(event.url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!allowNavigation(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

let controller: ShellController | undefined;
let supervisor: JobSupervisor | undefined;

function senderOf(event: IpcMainEvent | IpcMainInvokeEvent): IpcSender {
  const frame = event.senderFrame;
  return { webContentsId: event.sender.id, frameUrl: frame?.url ?? null, isMainFrame: frame !== null && frame === event.sender.mainFrame };
}

async function createWindow(): Promise<number> {
  const win = new BrowserWindow(mainWindowOptions(PRELOAD, !app.isPackaged));
  const id = win.webContents.id;
  controller!.windowOpened(id);
  win.webContents.once('destroyed', () => controller?.windowClosed(id));
  win.once('ready-to-show', () => win.show());
  await win.loadURL(APP_ENTRY_URL);
  return id;
}

const platform: ShellPlatform = {
  platform: process.platform,
  isPackaged: app.isPackaged,
  send: (id, channel, payload) => {
    const wc = webContents.fromId(id);
    if (wc && !wc.isDestroyed()) wc.send(channel, payload);
  },
  showOpenDialog: async (id, kind) => {
    const wc = id === undefined ? undefined : webContents.fromId(id);
    const win = wc ? BrowserWindow.fromWebContents(wc) : null;
    const options: Electron.OpenDialogOptions = {
      title: kind === 'file' ? 'Open an image file' : 'Open a folder of DICOM or image files',
      properties: kind === 'file' ? ['openFile'] : ['openDirectory'],
      ...(kind === 'file'
        ? { filters: [{ name: 'Images', extensions: ['dcm', 'nii', 'gz', 'nrrd', 'nhdr', 'mha', 'mhd', 'IMA'] }, { name: 'All files', extensions: ['*'] }] }
        : {}),
    };
    const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  },
  showSaveDialog: async (id, spec) => {
    const wc = id === undefined ? undefined : webContents.fromId(id);
    const win = wc ? BrowserWindow.fromWebContents(wc) : null;
    const options: Electron.SaveDialogOptions = { ...spec, properties: ['createDirectory', 'showOverwriteConfirmation'] };
    const result = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
    return result.canceled || !result.filePath ? null : result.filePath;
  },
  setMenu: (template) => Menu.setApplicationMenu(Menu.buildFromTemplate(template)),
  targetWindow: () => {
    const win = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
    return win && controller?.windows.has(win.webContents.id) ? win.webContents.id : undefined;
  },
  openWindow: () => createWindow(),
  showAbout: () => {
    void dialog.showMessageBox({
      type: 'info',
      title: 'About Delineate',
      message: `Delineate ${app.getVersion()}`,
      detail: 'Offline workstation for 3D medical image segmentation. Not for diagnostic use unless validated for it.',
    });
  },
  log,
};

void app.whenReady().then(async () => {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(allowPermission(permission)));
  ses.setPermissionCheckHandler((_wc, permission) => allowPermission(permission));
  ses.setDevicePermissionHandler(() => false);
  protocol.handle(APP_SCHEME, appProtocolHandler(RENDERER_DIR));

  supervisor = new JobSupervisor(utilityLauncher(COMPUTE), {
    config: { transport: 'electron', version: app.getVersion(), userDataDir: app.getPath('userData'), nativeDialogs: true },
    log,
  });
  supervisor.start();
  controller = new ShellController(platform, supervisor);
  ipcMain.on(IPC.rpc, (event, payload: unknown) => controller!.handleRpc(senderOf(event), payload));
  ipcMain.handle(IPC.openDialog, (event, kind: unknown) => controller!.handleOpenDialog(senderOf(event), kind));
  ipcMain.handle(IPC.saveDialog, (event, request: unknown) => controller!.handleSaveDialog(senderOf(event), request));
  await controller.refreshMenu();
  await createWindow();

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow();
  });
});

app.on('second-instance', () => {
  const win = BrowserWindow.getAllWindows()[0];
  if (win) {
    if (win.isMinimized()) win.restore();
    win.focus();
  }
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('will-quit', () => supervisor?.dispose());
