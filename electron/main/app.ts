/**
 * The Electron shell's lifecycle, with every Electron module passed in (so tests run
 * it against fakes): single-instance lock, data folder, launch options, the `app://`
 * protocol, session hardening, the core, the IPC bridge, the window, the tray, the
 * global stop shortcut and the power/quit hooks. `index.ts` calls {@link startShell}
 * with the real modules.
 */
import { join, resolve } from 'node:path';
import type {
  App,
  BrowserWindow,
  BrowserWindowConstructorOptions,
  GlobalShortcut,
  IpcMain,
  Menu,
  MenuItemConstructorOptions,
  NativeImage,
  PowerMonitor,
  PowerSaveBlocker,
  Protocol,
  Session,
  Tray,
} from 'electron';
import { parseOptions } from '../core/options';
import type { Core } from '../core/types';
import type { DesktopShellView, SettingsView } from '../ipc/contract';
import { createIpcBridge, type IpcBridge } from './ipc';
import { installPowerHooks, installSignalHandlers, safeStopAll, type PowerHooks } from './power';
import { APP_ENTRY_URL, APP_ORIGIN, createAppProtocolHandler, installAppProtocol, registerAppScheme } from './protocol';
import { registerStopShortcut, type StopShortcut } from './shortcut';
import { createLockedHintReader, enableShortcutPortal, openSessionBus, openSystemBus, probeDesktop, type DesktopBus, type DesktopReport } from './desktop';
import { appMenuTemplate } from './menu';
import { createTray, type TrayHandle } from './tray';
import { createMainWindow, focusWindow, hardenSession, hardenWebContents } from './window';

/** What `createCore` (electron/core/app-core.ts) takes. */
export interface CreateCoreOptions {
  dataDir: string;
  demo: boolean;
  timeScale: number;
  host: 'electron' | 'browser';
  version: string;
}

/** The Electron modules the shell uses. */
export interface ShellElectron {
  app: Pick<
    App,
    | 'on'
    | 'once'
    | 'quit'
    | 'exit'
    | 'whenReady'
    | 'requestSingleInstanceLock'
    | 'getPath'
    | 'setPath'
    | 'getVersion'
    | 'enableSandbox'
    | 'setAppUserModelId'
  > &
    Partial<Pick<App, 'isPackaged'>> & { readonly commandLine: Pick<App['commandLine'], 'appendSwitch' | 'getSwitchValue'> };
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
  protocol: Pick<Protocol, 'registerSchemesAsPrivileged' | 'handle'>;
  session: { readonly defaultSession: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler' | 'on'> };
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  powerMonitor: Pick<PowerMonitor, 'on' | 'getSystemIdleState'>;
  powerSaveBlocker: Pick<PowerSaveBlocker, 'start' | 'stop'>;
  globalShortcut: Pick<GlobalShortcut, 'register' | 'unregister' | 'unregisterAll'>;
  Tray: new (image: NativeImage) => Tray;
  Menu: { buildFromTemplate(template: MenuItemConstructorOptions[]): Menu; setApplicationMenu(menu: Menu | null): void };
  nativeImage: { createFromBitmap(buffer: Buffer, options: { width: number; height: number; scaleFactor?: number }): NativeImage };
}

/** Inputs of {@link startShell}. */
export interface ShellOptions {
  electron: ShellElectron;
  createCore: (options: CreateCoreOptions) => Promise<Core>;
  /** Command-line arguments after the executable (and after the app path when unpackaged). */
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Built preload script (`out/preload/index.js`). */
  preloadPath: string;
  /** Built renderer folder (`out/renderer`). */
  rendererDir: string;
  log?: (message: string, error?: unknown) => void;
  /** Opens the login session's D-Bus to ask the desktop about its tray and shortcuts (Linux; tests pass a fake). */
  openDesktopBus?: (env: NodeJS.ProcessEnv) => DesktopBus | null;
  /** Opens the system D-Bus, where logind says whether the screen is locked (Linux; tests pass a fake). */
  openSystemBus?: (env: NodeJS.ProcessEnv) => DesktopBus | null;
  /** The process whose platform is read and where crash and signal hooks go (the real one by default). */
  process?: Pick<NodeJS.Process, 'on' | 'removeListener' | 'platform'>;
}

/** A running shell (tests inspect it). */
export interface Shell {
  core: Core;
  bridge: IpcBridge;
  mainWindow(): BrowserWindow | null;
  tray: TrayHandle | null;
  shortcut: StopShortcut;
  power: PowerHooks;
  dataDir: string;
  /** What this desktop honours (the global stop shortcut, the tray), as the settings replies carry it. */
  desktop(): DesktopShellView;
}

/**
 * Picks the data folder: `UNKNOT_DATA_DIR` when set (a relative path is taken from the
 * current directory: `app.setPath` accepts absolute paths only), else Electron's `userData`, which
 * is pinned to `<appData>/Unknot` — the folder the browser host uses too, whether the
 * app runs packaged or from source. Chromium's own profile goes to the same place, so a
 * test with its own `UNKNOT_DATA_DIR` also gets its own single-instance lock.
 */
export function chooseDataDir(app: Pick<App, 'getPath' | 'setPath'>, env: NodeJS.ProcessEnv): string {
  const override = env.UNKNOT_DATA_DIR?.trim();
  app.setPath('userData', override ? resolve(override) : join(app.getPath('appData'), 'Unknot'));
  return app.getPath('userData');
}

/**
 * Whether the command line switches Chromium's operating-system sandbox off
 * (`--no-sandbox`; Chromium also reads `-no-sandbox` on Linux and macOS). The AppImage's
 * launcher adds it where unprivileged user namespaces are refused (Ubuntu 24.04's AppArmor
 * restriction, electron/electron#42510), since the setuid helper cannot work from an
 * AppImage's mount. `app.enableSandbox()` deletes that switch from the command line
 * (Electron's `App::EnableSandbox`), which would undo that workaround, so the shell does
 * not call it then. `argv` is the arguments after the executable (see {@link ShellOptions}).
 */
export function sandboxSwitchedOff(argv: readonly string[]): boolean {
  return argv.some((arg) => arg === '--no-sandbox' || arg === '-no-sandbox');
}

function safeGetPath(app: Pick<App, 'getPath'>, name: Parameters<App['getPath']>[0]): string | undefined {
  try {
    return app.getPath(name);
  } catch {
    return undefined;
  }
}

function settingsShortcut(view: SettingsView): string | null {
  const s = view.stopShortcut;
  return typeof s === 'string' && s.length > 0 ? s : null;
}

/**
 * Starts the shell. Returns null when another instance already runs: that one is
 * told (`second-instance`, it focuses its window) and this one quits. Must be called
 * before the app is ready (it registers the `app://` scheme).
 */
export async function startShell(options: ShellOptions): Promise<Shell | null> {
  const { electron, env } = options;
  const { app } = electron;
  const proc = options.process ?? process;
  const log = options.log ?? ((m: string, e?: unknown) => console.warn(`Unknot: ${m}`, e ?? ''));

  const dataDir = chooseDataDir(app, env);
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  let mainWindow: BrowserWindow | null = null;
  let openWindow: () => void = () => undefined;
  app.on('second-instance', () => {
    if (mainWindow && !mainWindow.isDestroyed()) focusWindow(mainWindow);
    else openWindow();
  });

  if (sandboxSwitchedOff(options.argv)) {
    // Windows keep `sandbox: true` (no Node in the page or preload); only Chromium's
    // process sandbox is off, as the user or the AppImage launcher asked (docs/desktop.md).
    log('started with --no-sandbox: the operating-system sandbox of the window processes is off for this run.');
  } else {
    app.enableSandbox();
  }
  enableShortcutPortal(app.commandLine, proc.platform, env);
  registerAppScheme(electron.protocol);
  if (proc.platform === 'win32') app.setAppUserModelId('org.unknot.app');
  // Every webContents, whoever creates it, gets the navigation and window guards.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, APP_ORIGIN, log));

  const launch = parseOptions(options.argv, env);
  for (const notice of launch.notices) log(notice);
  const version = app.getVersion();
  const corePromise = options.createCore({ dataDir, demo: launch.demo, timeScale: launch.timeScale, host: 'electron', version });
  await app.whenReady();
  let core: Core;
  try {
    core = await corePromise;
  } catch (err) {
    log('could not start (the core failed to load)', err);
    app.exit(1);
    throw err;
  }

  hardenSession(electron.session.defaultSession, log, { origin: APP_ORIGIN, downloadsDir: safeGetPath(app, 'downloads') });
  installAppProtocol(electron.protocol, createAppProtocolHandler({ rootDir: options.rendererDir }));

  let shortcut: StopShortcut | null = null;
  let tray: TrayHandle | null = null;
  let trayFailed = false;
  // Until the desktop answered: a shortcut is taken to work (X11, macOS, Windows) and the tray unknown.
  let report: DesktopReport = { trayHost: proc.platform === 'linux' ? null : true, shortcutDelivery: true };
  const desktop = (): DesktopShellView => {
    const current = shortcut?.current() ?? null;
    const problem: DesktopShellView['stopShortcutProblem'] = !current
      ? 'taken'
      : report.shortcutDelivery === false
        ? 'no-portal'
        : report.shortcutDelivery === null
          ? 'unconfirmed'
          : null;
    return { stopShortcut: problem ? null : current, stopShortcutProblem: problem, tray: trayFailed ? false : report.trayHost };
  };
  const bridge = createIpcBridge({
    ipcMain: electron.ipcMain,
    core,
    origin: APP_ORIGIN,
    log,
    onReply(answered) {
      if (answered.channel !== 'settings.get' && answered.channel !== 'settings.set') return;
      const { reply } = answered;
      if (!reply.ok) return;
      const wanted = settingsShortcut(reply.result);
      if (wanted && shortcut && wanted !== shortcut.current()) {
        shortcut.update(wanted);
        tray?.refresh();
      }
      return { ...reply, result: { ...reply.result, desktop: desktop() } };
    },
  });
  bridge.register();

  openWindow = () => {
    mainWindow = createMainWindow({
      BrowserWindow: electron.BrowserWindow,
      preloadPath: options.preloadPath,
      origin: APP_ORIGIN,
      entryUrl: APP_ENTRY_URL,
      bridge,
      log,
    });
    const created = mainWindow;
    power?.watchWindow(created);
    created.on('closed', () => {
      if (mainWindow === created) mainWindow = null;
    });
  };
  let power: PowerHooks | null = null;
  openWindow();

  electron.Menu.setApplicationMenu(
    electron.Menu.buildFromTemplate(
      appMenuTemplate({
        platform: proc.platform,
        packaged: app.isPackaged ?? false,
        onStop: () => safeStopAll(core, 'user-stop', 'the menu', log),
      }),
    ),
  );

  shortcut = registerStopShortcut({ globalShortcut: electron.globalShortcut, core, log });
  try {
    tray = createTray({
      Tray: electron.Tray,
      Menu: electron.Menu,
      nativeImage: electron.nativeImage,
      core,
      onShow: () => (mainWindow && !mainWindow.isDestroyed() ? focusWindow(mainWindow) : openWindow()),
      onQuit: () => app.quit(),
      // The tray names the shortcut only when it works here.
      stopShortcut: () => desktop().stopShortcut,
      log,
    });
  } catch (err) {
    trayFailed = true;
    log('no tray on this desktop; the window and the stop shortcut still stop every massager', err);
  }
  const probing = probeDesktop({ platform: proc.platform, env, openBus: options.openDesktopBus ?? openSessionBus }).then((found) => {
    report = found;
    if (found.trayHost === false) log('this desktop shows no tray icons (no StatusNotifierWatcher); stop from the window or the stop shortcut');
    const view = desktop();
    if (view.stopShortcutProblem === 'no-portal') {
      log('this Wayland desktop has no global shortcuts portal: no global stop shortcut works here; stop from the window or the tray');
    } else if (view.stopShortcutProblem === 'unconfirmed') {
      log('could not ask this Wayland desktop for its global shortcuts portal: the global stop shortcut may not work');
    }
    tray?.refresh();
  }).catch((err: unknown) => log('could not ask the desktop about its tray and shortcuts', err));

  const lockedHint = proc.platform === 'linux' ? createLockedHintReader(() => (options.openSystemBus ?? openSystemBus)(env)) : null;
  power = installPowerHooks({
    app,
    ...(lockedHint ? { screenLocked: () => lockedHint.read() } : {}),
    powerMonitor: electron.powerMonitor,
    powerSaveBlocker: electron.powerSaveBlocker,
    platform: proc.platform,
    core,
    log,
    beforeExit: () => {
      power?.dispose();
      lockedHint?.close();
      shortcut?.dispose();
      electron.globalShortcut.unregisterAll();
      tray?.dispose();
      bridge.unregister();
    },
  });

  if (mainWindow) power.watchWindow(mainWindow);

  app.on('window-all-closed', () => {
    if (proc.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (!mainWindow || mainWindow.isDestroyed()) openWindow();
  });
  const onCrash = (err: unknown): void => {
    log('unexpected error; stopping every massager', err);
    safeStopAll(core, 'error', 'an unexpected error', log);
  };
  proc.on('uncaughtException', onCrash);
  proc.on('unhandledRejection', onCrash);
  // Ctrl+C, kill, a closed terminal: the stop starts at once, then the quit (held by
  // before-quit until the stop finished). Our listener stays behind noble's SIGINT one.
  installSignalHandlers(proc, core, () => app.quit(), log);

  await probing;
  return { core, bridge, mainWindow: () => mainWindow, tray, shortcut, power, dataDir, desktop };
}
