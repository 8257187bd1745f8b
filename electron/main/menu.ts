/**
 * The application menu, replacing Electron's default one. The default menu has Reload
 * (Ctrl+R, F5), Force Reload and Toggle Developer Tools: a stray Ctrl+R would replace
 * the page in the middle of a routine. Ours has no reload at all, developer tools only
 * when the app runs unpackaged (from source), and a "Stop all massagers" entry.
 *
 * When the page is replaced anyway (a reload from the developer tools, a crash), the
 * window ends that page's connection first, which stops a session it owned (see
 * `window.ts`); the next page starts with no session and says why on its home screen.
 */
import type { MenuItemConstructorOptions } from 'electron';

/** Inputs of {@link appMenuTemplate}. */
export interface AppMenuOptions {
  /** `process.platform`; macOS gets the app menu and the Window menu. */
  platform: NodeJS.Platform;
  /** `app.isPackaged`: developer tools are offered only when false. */
  packaged: boolean;
  /** Stops every massager (the menu entry). */
  onStop: () => void;
}

/** Roles a user's keystroke could hit to replace the page. None may appear in the menu. */
export const RELOAD_ROLES: ReadonlySet<string> = new Set(['reload', 'forceReload', 'forcereload']);

/**
 * The menu template: (macOS: the app menu,) File (Stop all massagers, Quit), Edit (so
 * copy and paste work in text fields on macOS), View (zoom, full screen; developer tools
 * unpackaged only), (macOS: Window). No reload entry, no Ctrl+R or F5 accelerator.
 */
export function appMenuTemplate(options: AppMenuOptions): MenuItemConstructorOptions[] {
  const mac = options.platform === 'darwin';
  const view: MenuItemConstructorOptions[] = [
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  if (!options.packaged) view.push({ type: 'separator' }, { role: 'toggleDevTools' });
  const template: MenuItemConstructorOptions[] = [];
  if (mac) template.push({ role: 'appMenu' });
  template.push(
    {
      label: 'File',
      submenu: [
        { id: 'stop', label: 'Stop all massagers', click: () => options.onStop() },
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit', label: 'Quit Unknot' },
      ],
    },
    { role: 'editMenu' },
    { label: 'View', submenu: view },
  );
  if (mac) template.push({ role: 'windowMenu' });
  return template;
}
