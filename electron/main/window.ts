/**
 * The main window and the hardening of everything a page could reach (DESIGN §2,
 * Electron security checklist): isolated, sandboxed renderer without Node; our own
 * `app://` origin only; navigation, redirects, new windows and `<webview>` refused;
 * every permission and device request denied.
 *
 * Permissions: Unknot asks the browser for none. Chimes play through Web Audio or an
 * `<audio>` element and the spoken cues through `speechSynthesis`, and neither needs a
 * permission; there is no microphone or camera (`media`), no choice of output device
 * (`speaker-selection`, the system default is right for a massage at home), and
 * Bluetooth runs in the main process through noble, never Web Bluetooth. So the
 * request, check and device handlers deny everything, and a Web Bluetooth chooser is
 * cancelled.
 */
import { join } from 'node:path';
import type { BrowserWindow, BrowserWindowConstructorOptions, DownloadItem, Session, WebContents } from 'electron';
import type { SessionEndReason } from '../ipc/contract';
import { isAppUrl } from './ipc';

/** What a hardened webContents needs. */
export type HardenableWebContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** The webContents already guarded: each gets its guards once, whoever asks first. */
const hardened = new WeakSet<object>();

/**
 * Refuses, on one webContents: navigation and redirects away from our origin (a
 * reload of our own page stays possible), frame navigations away from it, every
 * `window.open`/`target=_blank` (no new windows at all), `<webview>` attachment and
 * the Web Bluetooth device chooser. Idempotent: a webContents hardened again (the main
 * window is hardened when it is created and by the app's `web-contents-created` hook)
 * keeps its one set of guards, so every refusal is logged once and the chooser's callback
 * is called once.
 * @param log told about every refusal (a compromised or buggy page shows up here)
 */
export function hardenWebContents(
  webContents: HardenableWebContents,
  origin: string,
  log: (message: string) => void = (m) => console.warn(`Unknot: ${m}`),
): void {
  if (hardened.has(webContents)) return;
  hardened.add(webContents);
  const guard = (kind: string) => (event: { preventDefault(): void }, url: string) => {
    if (isAppUrl(url, origin)) return;
    event.preventDefault();
    log(`${kind} to ${url} refused`);
  };
  webContents.on('will-navigate', guard('navigation'));
  webContents.on('will-redirect', guard('redirect'));
  webContents.on('will-frame-navigate', (details) => {
    if (isAppUrl(details.url, origin)) return;
    details.preventDefault();
    log(`frame navigation to ${details.url} refused`);
  });
  webContents.setWindowOpenHandler(({ url }) => {
    log(`new window for ${url} refused`);
    return { action: 'deny' };
  });
  webContents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('<webview> refused');
  });
  webContents.on('select-bluetooth-device', (event, _devices, callback) => {
    event.preventDefault();
    callback('');
  });
}

/** What a hardened session needs. */
export type HardenableSession = Pick<
  Session,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler' | 'on'
>;

/** What the history's CSV export is called (the renderer's `<a download>` name). */
export const CSV_EXPORT_NAME = /^unknot-history-[A-Za-z0-9-]{1,40}\.csv$/;

/** The largest CSV export let through, bytes (90 days × 5 areas is a few kilobytes). */
export const CSV_EXPORT_MAX_BYTES = 1024 * 1024;

/** Options of {@link hardenSession}. */
export interface SessionHardeningOptions {
  /** Origin of our pages, e.g. `app://unknot`: only a blob of that origin may be saved. */
  origin?: string;
  /** The folder the save dialog opens in (`app.getPath('downloads')`). */
  downloadsDir?: string;
}

/** What the device lab's capture export is called (`lab.capture`'s file name, the renderer's `<a download>`). */
export const CAPTURE_EXPORT_NAME = /^unknot-capture-[A-Za-z0-9_-]{1,160}\.jsonl$/;

/** The largest capture export let through, bytes (5000 lines of a few hundred bytes). */
export const CAPTURE_EXPORT_MAX_BYTES = 8 * 1024 * 1024;

/** The download item and webContents parts the export check reads. */
type ExportItem = Pick<DownloadItem, 'getURL' | 'getFilename' | 'getTotalBytes' | 'setSaveDialogOptions'>;

/**
 * Whether a download is the history's "Export CSV": a `blob:` of our own origin, made by
 * a page of ours, named `unknot-history-….csv`, at most {@link CSV_EXPORT_MAX_BYTES}.
 */
export function isCsvExport(item: ExportItem, webContents: Pick<WebContents, 'getURL'> | undefined, origin: string): boolean {
  return isOwnExport(item, webContents, origin, CSV_EXPORT_NAME, CSV_EXPORT_MAX_BYTES);
}

/** Whether a download is the device lab's capture: like {@link isCsvExport}, named `unknot-capture-….jsonl`, at most {@link CAPTURE_EXPORT_MAX_BYTES}. */
export function isCaptureExport(item: ExportItem, webContents: Pick<WebContents, 'getURL'> | undefined, origin: string): boolean {
  return isOwnExport(item, webContents, origin, CAPTURE_EXPORT_NAME, CAPTURE_EXPORT_MAX_BYTES);
}

function isOwnExport(item: ExportItem, webContents: Pick<WebContents, 'getURL'> | undefined, origin: string, name: RegExp, maxBytes: number): boolean {
  try {
    const url = item.getURL();
    if (!url.startsWith(`blob:${origin}/`)) return false;
    if (!webContents || !isAppUrl(webContents.getURL(), origin)) return false;
    if (!name.test(item.getFilename())) return false;
    const size = item.getTotalBytes();
    return size >= 0 && size <= maxBytes;
  } catch {
    return false;
  }
}

/**
 * Denies every permission request and check, every device (HID, serial, USB)
 * permission and every download on the windows' session, except the history's "Export
 * CSV" (see {@link isCsvExport}, needs `options.origin`) and the lab's capture ({@link isCaptureExport}): that one goes to the save dialog
 * Electron shows for a download without a save path, opened in `options.downloadsDir`
 * and offering CSV files. See the module comment for why Unknot needs no permission.
 */
export function hardenSession(
  session: HardenableSession,
  log: (message: string) => void = (m) => console.warn(`Unknot: ${m}`),
  options: SessionHardeningOptions = {},
): void {
  session.setPermissionRequestHandler((_webContents, permission, callback) => {
    log(`permission "${permission}" denied`);
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.on('will-download', (event, item, webContents) => {
    const csv = options.origin && item ? isCsvExport(item, webContents, options.origin) : false;
    if (options.origin && item && (csv || isCaptureExport(item, webContents, options.origin))) {
      try {
        const name = item.getFilename();
        item.setSaveDialogOptions({
          title: csv ? 'Export history' : 'Save the device capture',
          defaultPath: options.downloadsDir ? join(options.downloadsDir, name) : name,
          filters: [csv ? { name: 'CSV (comma-separated values)', extensions: ['csv'] } : { name: 'JSON lines', extensions: ['jsonl'] }],
        });
        return;
      } catch (err) {
        log(`could not offer the export: ${String(err)}`);
      }
    }
    event.preventDefault();
    log('download refused');
  });
}

/** The bridge operations a window needs (see `ipc.ts`). */
export interface WindowBridge {
  attach(webContents: WebContents): string;
  detach(webContentsId: number, reason: SessionEndReason): Promise<void>;
  /** Detaches the webContents' connection and attaches a new one at once (see `IpcBridge.renew`). */
  renew(webContents: WebContents, reason: SessionEndReason): Promise<void>;
}

/** Dependencies of {@link createMainWindow}. */
export interface MainWindowOptions {
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
  preloadPath: string;
  /** Origin of our pages, e.g. `app://unknot`. */
  origin: string;
  /** The page to load, e.g. `app://unknot/index.html`. */
  entryUrl: string;
  bridge: WindowBridge;
  icon?: BrowserWindowConstructorOptions['icon'];
  log?: (message: string) => void;
  /** How many renderer crashes are reloaded before the window is left as it is. */
  maxCrashReloads?: number;
}

/**
 * Creates the main window, hardened, with its webContents attached to the core as a
 * connection. A window that closes is detached with `window-closed` (the core stops a
 * session the window owned). A renderer that dies, and a new document in the window (a
 * reload), end the connection the same way and get a new one at once — before the next
 * document runs a line of script — so the recovered page's first requests (settings,
 * device and adapter state) are accepted, not refused as forbidden. A crashed renderer is
 * reloaded up to `maxCrashReloads` times.
 */
export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const log = options.log ?? ((m: string) => console.warn(`Unknot: ${m}`));
  const { BrowserWindow } = options;
  // The webPreferences stay written out here, in the `new BrowserWindow` call, so that
  // electronegativity's checks (build/electronegativity.sh) can see every one of them.
  const win = new BrowserWindow({
    width: 1100,
    height: 780,
    minWidth: 720,
    minHeight: 560,
    show: false,
    title: 'Unknot',
    backgroundColor: '#1d2330',
    autoHideMenuBar: true,
    ...(options.icon ? { icon: options.icon } : {}),
    webPreferences: {
      preload: options.preloadPath, // eng-disable PRELOAD_JS_CHECK — our own bundled preload; it exposes one method per channel and never ipcRenderer (electron/preload/index.ts)
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      // No middle-click "open in new window" (refused by the window-open handler anyway).
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      // Keeps the session heartbeat and the routine clock on time while the window is
      // hidden or covered: the user is working on their back, not watching the screen.
      backgroundThrottling: false,
    },
  });
  const webContents = win.webContents;
  const id = webContents.id;
  hardenWebContents(webContents, options.origin, log);

  options.bridge.attach(webContents);
  let crashes = 0;
  // True while the connection has served no document yet (at creation, and right after a
  // renewal), so the navigation that loads the next document does not renew it again.
  let fresh = true;
  const detach = (): void => void options.bridge.detach(id, 'window-closed');
  const renew = (): void => {
    fresh = true;
    if (!webContents.isDestroyed()) void options.bridge.renew(webContents, 'window-closed');
  };

  webContents.on('did-start-navigation', (details) => {
    if (!details.isMainFrame || details.isSameDocument) return;
    // A new document replaces the page that owned the connection: the motor stops now
    // and the new document starts on a connection of its own.
    if (fresh) return;
    log('the page is being replaced; a session it ran is stopped');
    renew();
  });
  webContents.on('did-navigate', () => {
    fresh = false;
  });
  webContents.on('render-process-gone', (_event, details) => {
    log(`renderer gone (${details.reason})`);
    if (webContents.isDestroyed()) {
      detach();
      return;
    }
    renew();
    if (details.reason !== 'clean-exit' && crashes < (options.maxCrashReloads ?? 3)) {
      crashes += 1;
      webContents.reload();
    }
  });
  webContents.once('destroyed', detach);
  win.on('closed', detach);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(options.entryUrl).catch((err: unknown) => log(`could not load ${options.entryUrl}: ${String(err)}`));
  return win;
}

/** Brings a window to the front (restoring it when minimised). */
export function focusWindow(win: Pick<BrowserWindow, 'isDestroyed' | 'isMinimized' | 'restore' | 'show' | 'focus'> | null | undefined): void {
  if (!win || win.isDestroyed()) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}
