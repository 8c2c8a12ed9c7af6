/**
 * The application menu as data (Electron's MenuItemConstructorOptions, built without electron so it is
 * unit-tested): File (Open File…, Open Folder…, Open Recent, Quit), View (zoom, full screen; reload and
 * developer tools only in development), Help (About). On macOS the first menu is the app menu.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { RecentItem } from '../common/api';

export interface MenuActions {
  openFile(): void;
  openFolder(): void;
  openRecent(item: RecentItem): void;
  about(): void;
}

export interface MenuOptions {
  platform: string;
  /** Packaged builds hide Reload and the developer tools. */
  isPackaged: boolean;
  recent: readonly RecentItem[];
  actions: MenuActions;
}

/** At most this many entries in File → Open Recent. */
export const MENU_RECENT_LIMIT = 10;

export function buildMenuTemplate({ platform, isPackaged, recent, actions }: MenuOptions): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  const recentItems: MenuItemConstructorOptions[] =
    recent.length === 0
      ? [{ label: 'No recent items', enabled: false }]
      : recent.slice(0, MENU_RECENT_LIMIT).map((item) => ({
          label: item.label || item.path,
          toolTip: item.path,
          click: () => actions.openRecent(item),
        }));

  const file: MenuItemConstructorOptions = {
    label: '&File',
    submenu: [
      { label: 'Open File…', accelerator: 'CmdOrCtrl+O', click: () => actions.openFile() },
      { label: 'Open Folder…', accelerator: 'CmdOrCtrl+Shift+O', click: () => actions.openFolder() },
      { label: 'Open Recent', submenu: recentItems },
      { type: 'separator' },
      mac ? { role: 'close' } : { role: 'quit', label: 'Quit Delineate' },
    ],
  };

  const view: MenuItemConstructorOptions = {
    label: '&View',
    submenu: [
      ...(isPackaged ? [] : ([{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }] as MenuItemConstructorOptions[])),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };

  const help: MenuItemConstructorOptions = {
    label: '&Help',
    role: 'help',
    submenu: [{ label: 'About Delineate', click: () => actions.about() }],
  };

  const edit: MenuItemConstructorOptions = {
    label: '&Edit',
    submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }],
  };

  const appMenu: MenuItemConstructorOptions[] = mac
    ? [{ label: 'Delineate', submenu: [{ label: 'About Delineate', click: () => actions.about() }, { type: 'separator' }, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, { type: 'separator' }, { role: 'quit' }] }]
    : [];
  return [...appMenu, file, edit, view, help];
}
