import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { startShell, type ShellElectron } from '../../../electron/main/app';
import { APP_ENTRY_URL, APP_SCHEME } from '../../../electron/main/protocol';
import { FakeBrowserWindow, fakeCore, fakeIpcMain } from './fakes';

function fakeElectron(opts: { lock?: boolean } = {}) {
  const order: string[] = [];
  const paths: Record<string, string> = { appData: '/home/u/.config', userData: '/home/u/.config/unknot' };
  const app = Object.assign(new EventEmitter(), {
    quit: vi.fn(() => void order.push('quit')),
    exit: vi.fn(),
    whenReady: vi.fn(async () => void order.push('ready')),
    requestSingleInstanceLock: vi.fn(() => (order.push('lock'), opts.lock ?? true)),
    getPath: vi.fn((name: string) => paths[name]!),
    setPath: vi.fn((name: string, value: string) => void (paths[name] = value)),
    getVersion: vi.fn(() => '0.1.0'),
    enableSandbox: vi.fn(() => void order.push('enableSandbox')),
    setAppUserModelId: vi.fn(),
  });
  const protocol = {
    registerSchemesAsPrivileged: vi.fn(() => void order.push('registerScheme')),
    handle: vi.fn(() => void order.push('handle')),
  };
  const session = {
    defaultSession: Object.assign(new EventEmitter(), {
      setPermissionRequestHandler: vi.fn(),
      setPermissionCheckHandler: vi.fn(),
      setDevicePermissionHandler: vi.fn(),
    }),
  };
  const globalShortcut = { register: vi.fn(() => true), unregister: vi.fn(), unregisterAll: vi.fn() };
  class FakeTray extends EventEmitter {
    setToolTip = vi.fn();
    setTitle = vi.fn();
    setContextMenu = vi.fn();
    destroy = vi.fn();
  }
  const electron = {
    app,
    BrowserWindow: FakeBrowserWindow,
    protocol,
    session,
    ipcMain: fakeIpcMain(),
    powerMonitor: new EventEmitter(),
    globalShortcut,
    Tray: FakeTray,
    Menu: { buildFromTemplate: vi.fn(() => ({})) },
    nativeImage: { createFromBitmap: vi.fn(() => ({})) },
  };
  return { electron, app, protocol, order, paths, globalShortcut };
}

function start(f: ReturnType<typeof fakeElectron>, argv: string[] = [], env: NodeJS.ProcessEnv = {}, log: (message: string) => void = () => undefined) {
  const core = fakeCore();
  const createCore = vi.fn(async () => core);
  const proc = Object.assign(new EventEmitter(), { platform: 'linux' as NodeJS.Platform });
  const shell = startShell({
    electron: f.electron as unknown as ShellElectron,
    createCore,
    argv,
    env,
    preloadPath: '/app/out/preload/index.js',
    rendererDir: '/app/out/renderer',
    log,
    process: proc as never,
  });
  return { shell, core, createCore, proc };
}

beforeEach(() => {
  FakeBrowserWindow.instances = [];
});

describe('single instance', () => {
  it('a second instance quits without creating a core or a window', async () => {
    const f = fakeElectron({ lock: false });
    const { shell, createCore } = start(f);
    expect(await shell).toBeNull();
    expect(f.app.quit).toHaveBeenCalled();
    expect(createCore).not.toHaveBeenCalled();
    expect(FakeBrowserWindow.instances).toHaveLength(0);
  });

  it('the first instance focuses its window when a second one starts', async () => {
    const f = fakeElectron();
    const s = (await start(f).shell)!;
    const win = FakeBrowserWindow.instances[0]!;
    expect(s.mainWindow()).toBe(win);
    win.minimized = true;
    f.app.emit('second-instance', {}, ['unknot'], '/home/u');
    expect(win.restore).toHaveBeenCalled();
    expect(win.focus).toHaveBeenCalled();
    expect(FakeBrowserWindow.instances).toHaveLength(1);
  });

  it('opens a new window for a second instance when the first has none', async () => {
    const f = fakeElectron();
    await start(f).shell;
    FakeBrowserWindow.instances[0]!.close();
    f.app.emit('second-instance', {}, [], '/');
    expect(FakeBrowserWindow.instances).toHaveLength(2);
  });
});

describe('the operating-system sandbox', () => {
  it('is enabled before ready, unless the command line switched it off (app.enableSandbox() would delete --no-sandbox, the AppImage workaround)', async () => {
    const on = fakeElectron();
    await start(on, ['--demo']).shell;
    expect(on.app.enableSandbox).toHaveBeenCalledTimes(1);

    for (const flag of ['--no-sandbox', '-no-sandbox']) {
      const off = fakeElectron();
      const logged: string[] = [];
      const s = await start(off, [flag, '--demo'], {}, (m) => logged.push(m)).shell;
      expect(off.app.enableSandbox, flag).not.toHaveBeenCalled();
      expect(logged.some((m) => m.includes('--no-sandbox'))).toBe(true);
      // everything else starts as usual, and the window is still a sandboxed renderer
      expect(s).not.toBeNull();
      expect(FakeBrowserWindow.instances.at(-1)!.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false });
    }
  });
});

describe('startup', () => {
  it('sets the data folder before taking the lock, registers the scheme before ready, then serves and loads the page', async () => {
    const f = fakeElectron();
    const { shell, createCore } = start(f);
    const s = (await shell)!;
    expect(f.order.indexOf('lock')).toBeLessThan(f.order.indexOf('ready'));
    expect(f.order.indexOf('registerScheme')).toBeLessThan(f.order.indexOf('ready'));
    expect(f.order.indexOf('enableSandbox')).toBeLessThan(f.order.indexOf('ready'));
    expect(f.order.indexOf('handle')).toBeGreaterThan(f.order.indexOf('ready'));
    expect(f.protocol.handle).toHaveBeenCalledWith(APP_SCHEME, expect.any(Function));
    expect(f.app.setPath).toHaveBeenCalledWith('userData', join('/home/u/.config', 'Unknot'));
    expect(createCore).toHaveBeenCalledWith({ dataDir: join('/home/u/.config', 'Unknot'), demo: false, timeScale: 1, host: 'electron', version: '0.1.0' });
    expect(s.dataDir).toBe(join('/home/u/.config', 'Unknot'));
    const win = FakeBrowserWindow.instances[0]!;
    expect(win.loadURL).toHaveBeenCalledWith(APP_ENTRY_URL);
    expect(s.core.attach).toHaveBeenCalledWith(expect.objectContaining({ id: `ipc:${win.webContents.id}`, kind: 'ipc' }));
    expect(f.globalShortcut.register).toHaveBeenCalledWith('CommandOrControl+Shift+Space', expect.any(Function));
    expect(f.electron.ipcMain.handlers.size).toBeGreaterThan(0);
  });

  it('uses UNKNOT_DATA_DIR, --demo and --time-scale', async () => {
    const f = fakeElectron();
    const { shell, createCore } = start(f, ['--demo', '--time-scale', '20'], { UNKNOT_DATA_DIR: '/tmp/unknot-test' });
    await shell;
    expect(f.app.setPath).toHaveBeenCalledWith('userData', '/tmp/unknot-test');
    expect(createCore).toHaveBeenCalledWith(expect.objectContaining({ dataDir: '/tmp/unknot-test', demo: true, timeScale: 20 }));
  });

  it('takes demo mode from UNKNOT_DEMO=1 and ignores --time-scale outside demo mode', async () => {
    const a = start(fakeElectron(), [], { UNKNOT_DEMO: '1' });
    await a.shell;
    expect(a.createCore).toHaveBeenCalledWith(expect.objectContaining({ demo: true }));
    const b = start(fakeElectron(), ['--time-scale', '20'], {});
    await b.shell;
    expect(b.createCore).toHaveBeenCalledWith(expect.objectContaining({ demo: false, timeScale: 1 }));
  });

  it('follows the stop shortcut from the settings replies', async () => {
    const f = fakeElectron();
    const { shell, core } = start(f);
    const s = (await shell)!;
    const wc = FakeBrowserWindow.instances[0]!.webContents;
    core.handle.mockResolvedValueOnce({ ok: true, result: { stopShortcut: 'Alt+Shift+S' } } as never);
    await f.electron.ipcMain.handlers.get('settings.get')!({ sender: wc, senderFrame: wc.mainFrame }, undefined);
    expect(s.shortcut.current()).toBe('Alt+Shift+S');
    expect(f.globalShortcut.unregister).toHaveBeenCalledWith('CommandOrControl+Shift+Space');
  });
});

describe('quitting', () => {
  it('stops every massager and shuts the core down before the app quits', async () => {
    const f = fakeElectron();
    const s = (await start(f).shell)!;
    const event = { preventDefault: vi.fn() };
    f.app.emit('before-quit', event);
    expect(event.preventDefault).toHaveBeenCalled();
    await s.power.quitting();
    expect(s.core.stopAll).toHaveBeenCalledWith('app-quit');
    expect(s.core.shutdown).toHaveBeenCalled();
    expect(f.globalShortcut.unregisterAll).toHaveBeenCalled();
    expect(f.app.quit).toHaveBeenCalled();
  });

  it('quits when the last window closes (not on macOS) and stops on suspend', async () => {
    const f = fakeElectron();
    const s = (await start(f).shell)!;
    f.app.emit('window-all-closed');
    expect(f.app.quit).toHaveBeenCalled();
    f.electron.powerMonitor.emit('lock-screen');
    expect(s.core.stopAll).toHaveBeenCalledWith('suspend');
  });

  it('a closed window detaches its connection with window-closed', async () => {
    const f = fakeElectron();
    const s = (await start(f).shell)!;
    const win = FakeBrowserWindow.instances[0]!;
    win.close();
    expect(s.core.detach).toHaveBeenCalledWith(`ipc:${win.webContents.id}`, 'window-closed');
  });

  it('stops every massager on an uncaught error and quits on SIGTERM', async () => {
    const f = fakeElectron();
    const { shell, proc } = start(f);
    const s = (await shell)!;
    proc.emit('uncaughtException', new Error('bug'));
    expect(s.core.stopAll).toHaveBeenCalledWith('error');
    proc.emit('SIGTERM');
    expect(f.app.quit).toHaveBeenCalled();
  });
});
