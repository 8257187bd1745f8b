import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../../electron/main/protocol';
import { createMainWindow, focusWindow, hardenSession, hardenWebContents } from '../../../electron/main/window';
import { FakeBrowserWindow, FakeWebContents } from './fakes';

function bridge() {
  return { attach: vi.fn(() => 'ipc:x'), detach: vi.fn(async () => undefined) };
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

  it('cancels a Web Bluetooth chooser', () => {
    const { wc } = open();
    const callback = vi.fn();
    expect(wc.emitPreventable('select-bluetooth-device', [{ deviceId: 'x', deviceName: 'Pro' }], callback)).toBe(true);
    expect(callback).toHaveBeenCalledWith('');
  });

  it('detaches with window-closed when the renderer dies, reloads it and attaches again after load', () => {
    const { wc, bridge: b } = open();
    wc.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
    expect(b.detach).toHaveBeenCalledWith(wc.id, 'window-closed');
    expect(wc.reload).toHaveBeenCalledTimes(1);
    b.attach.mockClear();
    wc.emit('did-finish-load');
    expect(b.attach).toHaveBeenCalledWith(wc);
  });

  it('stops reloading after repeated crashes', () => {
    const { wc } = open();
    for (let i = 0; i < 6; i++) wc.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
    expect(wc.reload).toHaveBeenCalledTimes(3);
  });

  it('treats a new document in the window as a new connection', async () => {
    const { wc, bridge: b } = open();
    wc.emit('did-finish-load');
    b.attach.mockClear();
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: true, url: APP_ENTRY_URL + '#x' });
    expect(b.detach).not.toHaveBeenCalled();
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false, url: APP_ENTRY_URL });
    expect(b.detach).toHaveBeenCalledWith(wc.id, 'window-closed');
    await Promise.resolve();
    await Promise.resolve();
    expect(b.attach).toHaveBeenCalledWith(wc);
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
