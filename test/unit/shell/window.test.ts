import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createIpcBridge } from '../../../electron/main/ipc';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../../electron/main/protocol';
import { createMainWindow, focusWindow, hardenSession, hardenWebContents } from '../../../electron/main/window';
import { FakeBrowserWindow, FakeWebContents, fakeCore, fakeIpcMain } from './fakes';

function bridge() {
  const b = {
    attach: vi.fn(() => 'ipc:x'),
    detach: vi.fn(async (_id: number, _reason: string) => undefined),
    renew: vi.fn(async (wc: { id: number }, reason: string) => {
      await b.detach(wc.id, reason);
    }),
  };
  return b;
}

/** A window on the real IPC bridge over a fake core. */
function openOnRealBridge() {
  const core = fakeCore();
  const ipcMain = fakeIpcMain();
  const b = createIpcBridge({ ipcMain, core, origin: APP_ORIGIN, log: () => undefined });
  b.register();
  const win = createMainWindow({
    BrowserWindow: FakeBrowserWindow as never,
    preloadPath: '/app/out/preload/index.js',
    origin: APP_ORIGIN,
    entryUrl: APP_ENTRY_URL,
    bridge: b as never,
    log: () => undefined,
  }) as unknown as FakeBrowserWindow;
  const wc = win.webContents;
  const request = (channel: string) => ipcMain.handlers.get(channel)!({ sender: wc, senderFrame: wc.mainFrame }, undefined);
  /** What a navigation of the main frame to a new document emits, up to its commit. */
  const navigate = () => {
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false, url: APP_ENTRY_URL });
    wc.emit('did-navigate', {}, APP_ENTRY_URL, 200, 'OK');
  };
  return { win, wc, core, bridge: b, request, navigate };
}

function open() {
  const b = bridge();
  const win = createMainWindow({
    BrowserWindow: FakeBrowserWindow as never,
    preloadPath: '/app/out/preload/index.js',
    origin: APP_ORIGIN,
    entryUrl: APP_ENTRY_URL,
    bridge: b,
    log: () => undefined,
  }) as unknown as FakeBrowserWindow;
  return { win, wc: win.webContents, bridge: b };
}

beforeEach(() => {
  FakeBrowserWindow.instances = [];
});

describe('main window', () => {
  it('uses isolated, sandboxed, Node-free webPreferences without background throttling', () => {
    const { win } = open();
    const prefs = win.options.webPreferences!;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      backgroundThrottling: false,
      preload: '/app/out/preload/index.js',
    });
    expect(prefs).not.toHaveProperty('enableBlinkFeatures');
    expect(prefs).not.toHaveProperty('additionalArguments');
  });

  it('loads our entry page and attaches its webContents to the core', () => {
    const { win, wc, bridge: b } = open();
    expect(win.loadURL).toHaveBeenCalledWith(APP_ENTRY_URL);
    expect(b.attach).toHaveBeenCalledWith(wc);
    win.emit('ready-to-show');
    expect(win.show).toHaveBeenCalled();
  });

  it('refuses navigation and redirects away from our origin, allows our own page', () => {
    const { wc } = open();
    expect(wc.emitPreventable('will-navigate', 'https://evil.example/')).toBe(true);
    expect(wc.emitPreventable('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(wc.emitPreventable('will-navigate', 'app://unknot.evil/')).toBe(true);
    expect(wc.emitPreventable('will-redirect', 'https://evil.example/')).toBe(true);
    expect(wc.emitPreventable('will-navigate', APP_ENTRY_URL)).toBe(false);
    const frameNav = { url: 'https://evil.example/', preventDefault: vi.fn() };
    wc.emit('will-frame-navigate', frameNav);
    expect(frameNav.preventDefault).toHaveBeenCalled();
  });

  it('denies every window.open and webview', () => {
    const { wc } = open();
    expect(wc.windowOpenHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(wc.windowOpenHandler!({ url: APP_ENTRY_URL })).toEqual({ action: 'deny' });
    expect(wc.emitPreventable('will-attach-webview', {}, {})).toBe(true);
  });

  it('guards the main window once although the app hardens every webContents too', () => {
    const log = vi.fn();
    const wc = new FakeWebContents();
    hardenWebContents(wc as never, APP_ORIGIN, log);
    hardenWebContents(wc as never, APP_ORIGIN, log);
    const callback = vi.fn();
    wc.emitPreventable('select-bluetooth-device', [], callback);
    expect(callback).toHaveBeenCalledTimes(1);
    wc.emitPreventable('will-navigate', 'https://evil.example/');
    expect(log).toHaveBeenCalledTimes(1);
  });

  it('cancels a Web Bluetooth chooser', () => {
    const { wc } = open();
    const callback = vi.fn();
    expect(wc.emitPreventable('select-bluetooth-device', [{ deviceId: 'x', deviceName: 'Pro' }], callback)).toBe(true);
    expect(callback).toHaveBeenCalledWith('');
  });

  it('ends the connection when the renderer dies and reloads it on a new connection at once', () => {
    const { wc, bridge: b } = open();
    wc.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
    expect(b.renew).toHaveBeenCalledWith(wc, 'window-closed');
    expect(b.detach).toHaveBeenCalledWith(wc.id, 'window-closed');
    expect(wc.reload).toHaveBeenCalledTimes(1);
  });

  it('stops reloading after repeated crashes', () => {
    const { wc } = open();
    for (let i = 0; i < 6; i++) wc.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
    expect(wc.reload).toHaveBeenCalledTimes(3);
  });

  it("accepts the recovered page's first requests after a crash, before its load finished", async () => {
    const { wc, core, request, navigate } = openOnRealBridge();
    navigate();
    const first = `ipc:${wc.id}`;
    wc.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
    expect(core.detach).toHaveBeenCalledWith(first, 'window-closed');
    // The reload: the new document commits and asks for its state at once; did-finish-load comes later.
    navigate();
    for (const channel of ['settings.get', 'device.get', 'adapter.get']) {
      expect(await request(channel)).toMatchObject({ ok: true });
    }
    const renewed = core.handle.mock.calls.map((c) => c[0]);
    expect(new Set(renewed).size).toBe(1);
    expect(renewed[0]).not.toBe(first);
    expect(core.connections.has(first)).toBe(false);
  });

  it("accepts a reloaded page's first requests, and the reload ends the old page's connection (its session stops)", async () => {
    const { wc, core, request, navigate } = openOnRealBridge();
    navigate();
    expect(await request('settings.get')).toMatchObject({ ok: true });
    navigate(); // a reload: no did-finish-load yet
    expect(core.detach).toHaveBeenCalledWith(`ipc:${wc.id}`, 'window-closed');
    expect(await request('settings.get')).toMatchObject({ ok: true });
    expect(core.handle.mock.calls.at(-1)![0]).toBe(`ipc:${wc.id}.2`);
    expect(core.detach).toHaveBeenCalledTimes(1);
  });

  it('treats a new document in the window as a new connection, not a same-document navigation', async () => {
    const { wc, bridge: b } = open();
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false, url: APP_ENTRY_URL });
    wc.emit('did-navigate', {}, APP_ENTRY_URL);
    expect(b.renew).not.toHaveBeenCalled(); // the first document uses the window's first connection
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: true, url: APP_ENTRY_URL + '#x' });
    wc.emit('did-start-navigation', { isMainFrame: false, isSameDocument: false, url: APP_ENTRY_URL });
    expect(b.renew).not.toHaveBeenCalled();
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false, url: APP_ENTRY_URL });
    expect(b.renew).toHaveBeenCalledWith(wc, 'window-closed');
    expect(b.detach).toHaveBeenCalledWith(wc.id, 'window-closed');
  });

  it('detaches with window-closed when the window closes', () => {
    const { win, wc, bridge: b } = open();
    win.close();
    expect(b.detach).toHaveBeenCalledWith(wc.id, 'window-closed');
  });

  it('focuses (and restores) an existing window', () => {
    const { win } = open();
    win.minimized = true;
    focusWindow(win as never);
    expect(win.restore).toHaveBeenCalled();
    expect(win.show).toHaveBeenCalled();
    expect(win.focus).toHaveBeenCalled();
  });
});

describe('hardening applied to any webContents', () => {
  it('guards a webContents created elsewhere', () => {
    const wc = new FakeWebContents();
    hardenWebContents(wc as never, APP_ORIGIN, () => undefined);
    expect(wc.emitPreventable('will-navigate', 'https://evil.example/')).toBe(true);
    expect(wc.windowOpenHandler!({ url: 'https://x/' })).toEqual({ action: 'deny' });
  });
});

describe('session permissions', () => {
  it('denies every permission request and check, every device and every download', () => {
    const session = Object.assign(new EventEmitter(), {
      setPermissionRequestHandler: vi.fn(),
      setPermissionCheckHandler: vi.fn(),
      setDevicePermissionHandler: vi.fn(),
    });
    hardenSession(session as never, () => undefined);
    const request = session.setPermissionRequestHandler.mock.calls[0]![0] as (wc: unknown, p: string, cb: (ok: boolean) => void) => void;
    for (const permission of ['media', 'speaker-selection', 'notifications', 'geolocation', 'openExternal', 'clipboard-read', 'hid', 'serial', 'usb']) {
      const cb = vi.fn();
      request({}, permission, cb);
      expect(cb).toHaveBeenCalledWith(false);
    }
    const check = session.setPermissionCheckHandler.mock.calls[0]![0] as (...a: unknown[]) => boolean;
    expect(check(null, 'media', 'app://unknot', {})).toBe(false);
    const device = session.setDevicePermissionHandler.mock.calls[0]![0] as (...a: unknown[]) => boolean;
    expect(device({ deviceType: 'usb' })).toBe(false);
    const download = { preventDefault: vi.fn() };
    session.emit('will-download', download, {}, {});
    expect(download.preventDefault).toHaveBeenCalled();
  });
});

describe('Export CSV in Electron', () => {
  function sessionWithExport() {
    const session = Object.assign(new EventEmitter(), {
      setPermissionRequestHandler: vi.fn(),
      setPermissionCheckHandler: vi.fn(),
      setDevicePermissionHandler: vi.fn(),
    });
    hardenSession(session as never, () => undefined, { origin: APP_ORIGIN, downloadsDir: '/home/u/Downloads' });
    const ours = { getURL: () => APP_ENTRY_URL };
    const download = (url: string, filename: string, bytes = 120, from: { getURL(): string } = ours) => {
      const item = { getURL: () => url, getFilename: () => filename, getTotalBytes: () => bytes, setSaveDialogOptions: vi.fn() };
      const event = { preventDefault: vi.fn() };
      session.emit('will-download', event, item, from);
      return { refused: event.preventDefault.mock.calls.length > 0, item };
    };
    return { download, ours };
  }

  it("lets the history's CSV export through to a save dialog in the Downloads folder", () => {
    const { download } = sessionWithExport();
    const { refused, item } = download(`blob:${APP_ORIGIN}/6f1c2d3e-aaaa-bbbb-cccc-0123456789ab`, 'unknot-history-2026-12-01.csv');
    expect(refused).toBe(false);
    expect(item.setSaveDialogOptions).toHaveBeenCalledWith(
      expect.objectContaining({ defaultPath: '/home/u/Downloads/unknot-history-2026-12-01.csv', filters: [expect.objectContaining({ extensions: ['csv'] })] }),
    );
  });

  it("lets the device lab's capture through to a save dialog offering JSON lines", () => {
    const { download } = sessionWithExport();
    const name = 'unknot-capture-Nodo-Mini-2026-12-01T10-00-00-000Z.jsonl';
    const { refused, item } = download(`blob:${APP_ORIGIN}/6f1c2d3e-aaaa-bbbb-cccc-0123456789ab`, name, 400_000);
    expect(refused).toBe(false);
    expect(item.setSaveDialogOptions).toHaveBeenCalledWith(
      expect.objectContaining({ defaultPath: `/home/u/Downloads/${name}`, filters: [expect.objectContaining({ extensions: ['jsonl'] })] }),
    );
    const blob = `blob:${APP_ORIGIN}/6f1c2d3e`;
    expect(download('https://evil.example/x.jsonl', name).refused).toBe(true);
    expect(download(blob, 'unknot-capture-../../x.jsonl').refused).toBe(true);
    expect(download(blob, name, 50 * 1024 * 1024).refused).toBe(true);
  });

  it('refuses every other download', () => {
    const { download } = sessionWithExport();
    const blob = `blob:${APP_ORIGIN}/6f1c2d3e`;
    expect(download('https://evil.example/x.csv', 'unknot-history-2026-12-01.csv').refused).toBe(true);
    expect(download('blob:https://evil.example/6f1c', 'unknot-history-2026-12-01.csv').refused).toBe(true);
    expect(download(blob, 'payload.exe').refused).toBe(true);
    expect(download(blob, 'unknot-history-../../x.csv').refused).toBe(true);
    expect(download(blob, 'unknot-history-2026-12-01.csv', 50 * 1024 * 1024).refused).toBe(true);
    expect(download(blob, 'unknot-history-2026-12-01.csv', 100, { getURL: () => 'https://evil.example/' }).refused).toBe(true);
  });
});
