import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startShell, type ShellElectron } from '../../../electron/main/app';
import type { DesktopBus } from '../../../electron/main/desktop';
import { APP_ENTRY_URL, APP_SCHEME } from '../../../electron/main/protocol';
import { FakeBrowserWindow, fakeCore, fakeIpcMain } from './fakes';

function fakeElectron(opts: { lock?: boolean; packaged?: boolean; enableFeatures?: string } = {}) {
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
    isPackaged: opts.packaged ?? false,
    commandLine: {
      appendSwitch: vi.fn((name: string, value?: string) => void order.push(`switch:${name}=${value ?? ''}`)),
      getSwitchValue: vi.fn((name: string) => (name === 'enable-features' ? (opts.enableFeatures ?? '') : '')),
    },
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
  const idle = { state: 'active' };
  const powerMonitor = Object.assign(new EventEmitter(), { getSystemIdleState: vi.fn(() => idle.state) });
  let nextBlocker = 1;
  const blockers = new Set<number>();
  const powerSaveBlocker = {
    blockers,
    start: vi.fn((_type: string) => (blockers.add(nextBlocker), nextBlocker++)),
    stop: vi.fn((id: number) => void blockers.delete(id)),
  };
  const menus: { template: MenuItemConstructorOptions[] }[] = [];
  const Menu = {
    buildFromTemplate: vi.fn((template: MenuItemConstructorOptions[]) => ({ template })),
    setApplicationMenu: vi.fn((menu: { template: MenuItemConstructorOptions[] } | null) => void (menu && menus.push(menu))),
  };
  const electron = {
    app,
    BrowserWindow: FakeBrowserWindow,
    protocol,
    session,
    ipcMain: fakeIpcMain(),
    powerMonitor,
    powerSaveBlocker,
    globalShortcut,
    Tray: FakeTray,
    Menu,
    nativeImage: { createFromBitmap: vi.fn(() => ({})) },
  };
  return { electron, app, protocol, order, paths, globalShortcut, idle, powerSaveBlocker, menus };
}

function start(
  f: ReturnType<typeof fakeElectron>,
  argv: string[] = [],
  env: NodeJS.ProcessEnv = {},
  proc: EventEmitter & { platform: NodeJS.Platform } = Object.assign(new EventEmitter(), { platform: 'linux' as NodeJS.Platform }),
  lockBus: DesktopBus | null = null,
  log: (message: string) => void = () => undefined,
) {
  const core = fakeCore();
  const createCore = vi.fn(async () => core);
  const shell = startShell({
    electron: f.electron as unknown as ShellElectron,
    createCore,
    argv,
    env,
    preloadPath: '/app/out/preload/index.js',
    rendererDir: '/app/out/renderer',
    log,
    process: proc as never,
    openDesktopBus: () => null,
    openSystemBus: () => lockBus,
  });
  return { shell, core, createCore, proc };
}

beforeEach(() => {
  FakeBrowserWindow.instances = [];
});
afterEach(() => {
  vi.useRealTimers();
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
      const s = await start(off, [flag, '--demo'], {}, undefined, null, (m) => logged.push(m)).shell;
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

/** Every item of a menu template, submenus included. */
function menuItems(template: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return template.flatMap((item) => [item, ...(Array.isArray(item.submenu) ? menuItems(item.submenu) : [])]);
}

describe('what a real desktop does to the shell', () => {
  it('resolves a relative UNKNOT_DATA_DIR before app.setPath (which takes absolute paths only)', async () => {
    const f = fakeElectron();
    const { shell, createCore } = start(f, [], { UNKNOT_DATA_DIR: 'rel/unknot-data' });
    await shell;
    const expected = join(process.cwd(), 'rel/unknot-data');
    expect(f.app.setPath).toHaveBeenCalledWith('userData', expected);
    expect(createCore).toHaveBeenCalledWith(expect.objectContaining({ dataDir: expected }));
  });

  it("replaces Electron's default menu: no reload anywhere, no developer tools when packaged, a Stop entry", async () => {
    for (const packaged of [true, false]) {
      for (const platform of ['linux', 'darwin', 'win32'] as NodeJS.Platform[]) {
        const f = fakeElectron({ packaged });
        const { shell, core } = start(f, [], {}, Object.assign(new EventEmitter(), { platform }));
        await shell;
        expect(f.electron.Menu.setApplicationMenu).toHaveBeenCalledTimes(1);
        const items = menuItems(f.menus[0]!.template);
        const roles = items.map((i) => String(i.role ?? '').toLowerCase());
        // Electron's editMenu, appMenu and windowMenu roles hold no reload; viewMenu does.
        expect(roles).not.toContain('reload');
        expect(roles).not.toContain('forcereload');
        expect(roles).not.toContain('viewmenu');
        expect(items.map((i) => String(i.accelerator ?? ''))).not.toContainEqual(expect.stringMatching(/\+R$|^F5$/i));
        expect(roles.includes('toggledevtools')).toBe(!packaged);
        const stop = items.find((i) => i.id === 'stop')!;
        (stop.click as () => void)();
        expect(core.stopAll).toHaveBeenCalledWith('user-stop');
      }
    }
  });

  it('stops first, then quits, on SIGINT, SIGTERM and SIGHUP', async () => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      const f = fakeElectron();
      const { shell, proc, core } = start(f);
      await shell;
      const order: string[] = [];
      core.stopAll.mockImplementation(async (reason) => void order.push(`stopAll:${reason}`));
      f.app.quit.mockImplementation(() => void order.push('quit'));
      proc.emit(signal);
      expect(order.slice(0, 2)).toEqual(['stopAll:app-quit', 'quit']);
    }
  });

  it("stops on Ctrl+C before noble's HCI binding can exit the process, whichever SIGINT listener came first", async () => {
    // noble's own listener, from its HCI binding: it calls process.exit(1) when it is the last one.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const NobleBindings = require('@abandonware/noble/lib/hci-socket/bindings') as { prototype: { onSigInt(this: unknown): void } };
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'newListener', 'uncaughtException', 'unhandledRejection'];
    const before = new Set(events.flatMap((e) => process.listeners(e as never)));
    try {
      for (const nobleFirst of [true, false]) {
        const noble = Object.create(NobleBindings.prototype) as { onSigIntBinded: () => void };
        noble.onSigIntBinded = NobleBindings.prototype.onSigInt.bind(noble);
        if (nobleFirst) process.on('SIGINT', noble.onSigIntBinded);
        const f = fakeElectron();
        const { shell } = start(f, [], {}, process as never);
        const s = (await shell)!;
        if (!nobleFirst) process.on('SIGINT', noble.onSigIntBinded); // noble initialised later (first scan)
        await Promise.resolve();
        process.emit('SIGINT');
        expect(exit).not.toHaveBeenCalled();
        expect(s.core.stopAll).toHaveBeenCalledWith('app-quit');
        expect(f.app.quit).toHaveBeenCalled();
        process.removeListener('SIGINT', noble.onSigIntBinded);
        for (const e of events) for (const l of process.listeners(e as never)) if (!before.has(l)) process.removeListener(e, l as never);
      }
    } finally {
      exit.mockRestore();
    }
  });

  it('holds an OS shutdown (Linux, macOS) and quits through the stop', async () => {
    const f = fakeElectron();
    const s = (await start(f).shell)!;
    const event = { preventDefault: vi.fn() };
    f.electron.powerMonitor.emit('shutdown', event);
    expect(event.preventDefault).toHaveBeenCalled();
    expect(s.core.stopAll).toHaveBeenCalledWith('app-quit');
    expect(f.app.quit).toHaveBeenCalled();
  });

  it('stops on the end of a Windows session (shutdown, restart, log-off), where before-quit never comes', async () => {
    for (const event of ['query-session-end', 'session-end']) {
      const f = fakeElectron();
      const s = (await start(f, [], {}, Object.assign(new EventEmitter(), { platform: 'win32' as NodeJS.Platform })).shell)!;
      FakeBrowserWindow.instances.at(-1)!.emit(event, { reasons: ['logoff'], preventDefault: vi.fn() });
      expect(s.core.stopAll).toHaveBeenCalledWith('app-quit');
    }
  });

  it('keeps the display awake while a session exists, and only then', async () => {
    const f = fakeElectron();
    const { shell, core } = start(f);
    const s = (await shell)!;
    expect(f.powerSaveBlocker.start).not.toHaveBeenCalled();
    for (const l of core.runningListeners) l('Routine (neck): running, 4:00 left');
    expect(f.powerSaveBlocker.start).toHaveBeenCalledWith('prevent-display-sleep');
    expect(f.powerSaveBlocker.blockers.size).toBe(1);
    for (const l of core.runningListeners) l('Routine (neck): running, 3:59 left');
    expect(f.powerSaveBlocker.start).toHaveBeenCalledTimes(1);
    expect(s.power.keepingAwake()).toBe(true);
    for (const l of core.runningListeners) l(null);
    expect(f.powerSaveBlocker.blockers.size).toBe(0);
    expect(s.power.keepingAwake()).toBe(false);
  });

  it('stops when the screen locks on Linux, where Electron has no lock-screen event', async () => {
    vi.useFakeTimers();
    const f = fakeElectron();
    const { shell, core } = start(f);
    const s = (await shell)!;
    for (const l of core.runningListeners) l('Routine (neck): running, 4:00 left');
    await vi.advanceTimersByTimeAsync(3000);
    expect(s.core.stopAll).not.toHaveBeenCalled();
    f.idle.state = 'locked';
    await vi.advanceTimersByTimeAsync(1500);
    expect(s.core.stopAll).toHaveBeenCalledWith('suspend');
    expect(s.core.stopAll).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3000); // still locked: one stop per lock
    expect(s.core.stopAll).toHaveBeenCalledTimes(1);
    for (const l of core.runningListeners) l(null);
    f.electron.powerMonitor.getSystemIdleState.mockClear();
    await vi.advanceTimersByTimeAsync(3000);
    expect(f.electron.powerMonitor.getSystemIdleState).not.toHaveBeenCalled(); // no poll without a session
  });

  it("stops when logind says the session locked (the screen locker's LockedHint), though Chromium does not see it", async () => {
    vi.useFakeTimers();
    const hint = { locked: false };
    const asked: string[] = [];
    const logind: DesktopBus = {
      hasOwner: async () => true,
      getProperty: async (dest, path, iface, prop) => (asked.push(`${dest} ${path} ${iface}.${prop}`), hint.locked),
      close: () => undefined,
    };
    const f = fakeElectron();
    const { shell, core } = start(f, [], {}, undefined, logind);
    await shell;
    for (const l of core.runningListeners) l('Routine (neck): running, 4:00 left');
    await vi.advanceTimersByTimeAsync(2500);
    expect(core.stopAll).not.toHaveBeenCalled();
    expect(asked[0]).toBe('org.freedesktop.login1 /org/freedesktop/login1/session/auto org.freedesktop.login1.Session.LockedHint');
    hint.locked = true;
    await vi.advanceTimersByTimeAsync(1500);
    expect(core.stopAll).toHaveBeenCalledWith('suspend');
  });

  it('enables the global shortcuts portal before ready on Wayland, keeping other features', async () => {
    const f = fakeElectron({ enableFeatures: 'WebRTCPipeWireCapturer' });
    await start(f, [], { XDG_SESSION_TYPE: 'wayland' }).shell;
    const sw = f.order.indexOf('switch:enable-features=WebRTCPipeWireCapturer,GlobalShortcutsPortal');
    expect(sw).toBeGreaterThanOrEqual(0);
    expect(sw).toBeLessThan(f.order.indexOf('ready'));
    const x11 = fakeElectron();
    await start(x11, [], { XDG_SESSION_TYPE: 'x11' }).shell;
    expect(x11.app.commandLine.appendSwitch).not.toHaveBeenCalled();
  });

  it("lets the window's Export CSV reach a save dialog (Electron's session would cancel it otherwise)", async () => {
    const f = fakeElectron();
    f.paths.downloads = '/home/u/Downloads';
    await start(f).shell;
    const wc = FakeBrowserWindow.instances[0]!.webContents;
    const item = {
      getURL: () => 'blob:app://unknot/0d6c',
      getFilename: () => 'unknot-history-2026-12-01.csv',
      getTotalBytes: () => 300,
      setSaveDialogOptions: vi.fn(),
    };
    const event = { preventDefault: vi.fn() };
    f.electron.session.defaultSession.emit('will-download', event, item, wc);
    expect(event.preventDefault).not.toHaveBeenCalled();
    expect(item.setSaveDialogOptions).toHaveBeenCalledWith(expect.objectContaining({ defaultPath: join('/home/u/Downloads', 'unknot-history-2026-12-01.csv') }));
  });

  it('hardens the main window once, though web-contents-created sees it too', async () => {
    const log = vi.fn();
    const f = fakeElectron();
    const core = fakeCore();
    await startShell({
      electron: f.electron as unknown as ShellElectron,
      createCore: async () => core,
      argv: [],
      env: {},
      preloadPath: '/p.js',
      rendererDir: '/r',
      log,
      process: Object.assign(new EventEmitter(), { platform: 'linux' as NodeJS.Platform }) as never,
    });
    const wc = FakeBrowserWindow.instances[0]!.webContents;
    f.app.emit('web-contents-created', {}, wc);
    const callback = vi.fn();
    wc.emitPreventable('select-bluetooth-device', [], callback);
    expect(callback).toHaveBeenCalledTimes(1);
    log.mockClear();
    wc.emitPreventable('will-navigate', 'https://evil.example/');
    expect(log).toHaveBeenCalledTimes(1);
  });
});

describe('no shortcut, tray or lock claim the desktop does not honour', () => {
  function fakeBus(opts: { watcher: boolean; portal: boolean }): DesktopBus {
    return {
      hasOwner: async (name) => (name === 'org.kde.StatusNotifierWatcher' ? opts.watcher : false),
      getProperty: async () => {
        if (!opts.portal) throw new Error('org.freedesktop.DBus.Error.ServiceUnknown');
        return 1;
      },
      close: () => undefined,
    };
  }
  async function startOn(env: NodeJS.ProcessEnv, bus: DesktopBus | null, f = fakeElectron()) {
    const core = fakeCore();
    const log = vi.fn();
    const s = (await startShell({
      electron: f.electron as unknown as ShellElectron,
      createCore: async () => core,
      argv: [],
      env,
      preloadPath: '/p.js',
      rendererDir: '/r',
      log,
      openDesktopBus: () => bus,
      openSystemBus: () => null,
      process: Object.assign(new EventEmitter(), { platform: 'linux' as NodeJS.Platform }) as never,
    }))!;
    const wc = FakeBrowserWindow.instances.at(-1)!.webContents;
    core.handle.mockResolvedValue({ ok: true, result: { stopShortcut: 'CommandOrControl+Shift+Space', dataDir: '/d' } } as never);
    const settings = async () =>
      (await f.electron.ipcMain.handlers.get('settings.get')!({ sender: wc, senderFrame: wc.mainFrame }, undefined)) as { ok: true; result: { desktop: unknown } };
    const trayStop = () => {
      const calls = f.electron.Menu.buildFromTemplate.mock.calls;
      const trayTemplates = calls.map((c) => c[0]).filter((t) => t.some((i) => i.id === 'status'));
      return trayTemplates.at(-1)!.find((i) => i.id === 'stop')!;
    };
    return { s, log, settings, trayStop, f };
  }

  it('a Wayland desktop without the shortcuts portal: the settings show no shortcut and say why; the tray names none', async () => {
    const { settings, trayStop, log } = await startOn({ XDG_SESSION_TYPE: 'wayland' }, fakeBus({ watcher: false, portal: false }));
    expect((await settings()).result.desktop).toEqual({ stopShortcut: null, stopShortcutProblem: 'no-portal', tray: false });
    expect(trayStop().accelerator).toBeUndefined();
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/no global shortcuts portal/));
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/no tray icons/));
  });

  it('a desktop that honours both: the shortcut is shown in the settings and the tray', async () => {
    const { settings, trayStop } = await startOn({ XDG_SESSION_TYPE: 'wayland' }, fakeBus({ watcher: true, portal: true }));
    expect((await settings()).result.desktop).toEqual({ stopShortcut: 'CommandOrControl+Shift+Space', stopShortcutProblem: null, tray: true });
    expect(trayStop().accelerator).toBe('CommandOrControl+Shift+Space');
  });

  it('a shortcut another application holds is shown as none, with that reason', async () => {
    const f = fakeElectron();
    f.globalShortcut.register.mockReturnValue(false);
    const { settings } = await startOn({ XDG_SESSION_TYPE: 'x11' }, fakeBus({ watcher: true, portal: false }), f);
    expect((await settings()).result.desktop).toMatchObject({ stopShortcut: null, stopShortcutProblem: 'taken' });
  });

  it('Wayland with no session bus to ask: the shortcut is not promised', async () => {
    const { settings } = await startOn({ XDG_SESSION_TYPE: 'wayland' }, null);
    expect((await settings()).result.desktop).toEqual({ stopShortcut: null, stopShortcutProblem: 'unconfirmed', tray: null });
  });
});
