/**
 * What a Linux desktop honours, asked over a real D-Bus: each test starts its own
 * `dbus-daemon` (a private session bus) and plays the desktop's parts on it — a tray
 * host owning `org.kde.StatusNotifierWatcher`, a portal exporting
 * `org.freedesktop.portal.GlobalShortcuts` — or leaves them out, as stock GNOME does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LOGIND,
  PORTAL,
  TRAY_WATCHER,
  createLockedHintReader,
  enableShortcutPortal,
  openBus,
  openSessionBus,
  probeDesktop,
  type DesktopBus,
} from '../../../electron/main/desktop';

const haveDaemon = spawnSync('dbus-daemon', ['--version']).status === 0;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dbus = require('@homebridge/dbus-native') as {
  sessionBus(opts: { busAddress: string }): {
    requestName(name: string, flags: number, cb: (err: unknown, code: number) => void): void;
    exportInterface(obj: object, path: string, iface: object): void;
    connection: { end(): void };
  };
};

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

async function startBus(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'unknot-dbus-'));
  const daemon: ChildProcess = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1', `--address=unix:dir=${dir}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  cleanups.push(() => {
    daemon.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return new Promise((resolve, reject) => {
    daemon.once('error', reject);
    daemon.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim().split('\n')[0]!));
  });
}

/** Plays a desktop part on the bus: owns `name`, optionally exporting an object with properties of the given D-Bus types. */
async function own(address: string, name: string, iface?: { path: string; name: string; version?: number; obj?: object; types?: Record<string, string> }): Promise<void> {
  const bus = dbus.sessionBus({ busAddress: address });
  cleanups.push(() => bus.connection.end());
  if (iface) {
    const obj = iface.obj ?? { version: iface.version };
    bus.exportInterface(obj, iface.path, { name: iface.name, methods: {}, properties: iface.types ?? { version: 'u' }, signals: {} });
  }
  await new Promise<void>((resolve, reject) => bus.requestName(name, 0, (err, code) => (err || code !== 1 ? reject(new Error(`requestName ${code}`)) : resolve())));
}

function probeOn(address: string, env: NodeJS.ProcessEnv) {
  return probeDesktop({
    platform: 'linux',
    env,
    openBus: () => {
      const bus = openSessionBus({}, address);
      expect(bus).not.toBeNull();
      return bus;
    },
  });
}

describe.skipIf(!haveDaemon)('the desktop, asked over D-Bus', () => {
  it('stock GNOME on Wayland without the portal backend: no tray icon, no global shortcut', async () => {
    const address = await startBus();
    expect(await probeOn(address, { XDG_SESSION_TYPE: 'wayland' })).toEqual({ trayHost: false, shortcutDelivery: false });
  });

  it('a portal running without GlobalShortcuts is no shortcut either', async () => {
    const address = await startBus();
    await own(address, PORTAL.destination, { path: PORTAL.path, name: 'org.freedesktop.portal.Screenshot', version: 2 });
    expect((await probeOn(address, { WAYLAND_DISPLAY: 'wayland-0' })).shortcutDelivery).toBe(false);
  });

  it('KDE on Wayland: a tray host and the global shortcuts portal', async () => {
    const address = await startBus();
    await own(address, TRAY_WATCHER);
    await own(address, PORTAL.destination, { path: PORTAL.path, name: PORTAL.iface, version: 1 });
    expect(await probeOn(address, { XDG_SESSION_TYPE: 'wayland' })).toEqual({ trayHost: true, shortcutDelivery: true });
  });

  it("reads logind's LockedHint of this login session, as a screen locker sets it", async () => {
    const address = await startBus();
    const session = { LockedHint: false };
    await own(address, LOGIND.destination, { path: LOGIND.path, name: LOGIND.iface, obj: session, types: { LockedHint: 'b' } });
    const reader = createLockedHintReader(() => openBus(address));
    cleanups.push(() => reader.close());
    expect(await reader.read()).toBe(false);
    session.LockedHint = true;
    expect(await reader.read()).toBe(true);
  });

  it('without logind the lock state is unknown, never a crash', async () => {
    const address = await startBus();
    const reader = createLockedHintReader(() => openBus(address));
    cleanups.push(() => reader.close());
    expect(await reader.read()).toBeNull();
  });

  it('X11 needs no portal for the shortcut', async () => {
    const address = await startBus();
    expect(await probeOn(address, { XDG_SESSION_TYPE: 'x11' })).toEqual({ trayHost: false, shortcutDelivery: true });
  });
});

describe('the desktop, when it cannot be asked', () => {
  it('without a session bus: the tray unknown, a Wayland shortcut unconfirmed, an X11 one fine', async () => {
    expect(await probeDesktop({ platform: 'linux', env: { XDG_SESSION_TYPE: 'wayland' } })).toEqual({ trayHost: null, shortcutDelivery: null });
    expect(await probeDesktop({ platform: 'linux', env: {} })).toEqual({ trayHost: null, shortcutDelivery: true });
  });

  it('a bus that never answers gives "unknown" within the deadline', async () => {
    let closed = false;
    const silent: DesktopBus = { hasOwner: () => new Promise(() => undefined), getProperty: () => new Promise(() => undefined), close: () => void (closed = true) };
    const report = await probeDesktop({ platform: 'linux', env: { XDG_SESSION_TYPE: 'wayland' }, openBus: () => silent, timeoutMs: 20 });
    expect(report).toEqual({ trayHost: null, shortcutDelivery: null });
    expect(closed).toBe(true);
  });

  it('a bus address that leads nowhere is an answer of "unknown", not a crash', async () => {
    const report = await probeDesktop({
      platform: 'linux',
      env: { XDG_SESSION_TYPE: 'wayland' },
      openBus: () => openSessionBus({}, `unix:path=${join(tmpdir(), 'unknot-no-such-bus')}`),
      timeoutMs: 2000,
    });
    expect(report.trayHost).toBeNull();
    expect(report.shortcutDelivery).not.toBe(true);
  });

  it('macOS and Windows have a native tray and shortcuts', async () => {
    for (const platform of ['darwin', 'win32'] as const) expect(await probeDesktop({ platform, env: {} })).toEqual({ trayHost: true, shortcutDelivery: true });
  });

  it('turns the portal feature on only for Wayland', () => {
    const calls: string[] = [];
    const cl = { appendSwitch: (n: string, v?: string) => void calls.push(`${n}=${v}`), getSwitchValue: () => '' };
    expect(enableShortcutPortal(cl, 'linux', { XDG_SESSION_TYPE: 'x11' })).toBe(false);
    expect(enableShortcutPortal(cl, 'darwin', { WAYLAND_DISPLAY: 'x' })).toBe(false);
    expect(enableShortcutPortal(cl, 'linux', { WAYLAND_DISPLAY: 'wayland-0' })).toBe(true);
    expect(calls).toEqual(['enable-features=GlobalShortcutsPortal']);
  });
});
