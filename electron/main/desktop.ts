/**
 * What a Linux desktop honours, asked over the login session's D-Bus (through
 * `@homebridge/dbus-native`, pure JavaScript, loaded only on Linux):
 * - **a tray host**: Electron's tray on Linux is a StatusNotifierItem, shown only when a
 *   `org.kde.StatusNotifierWatcher` runs (KDE, most other desktops; stock GNOME has none
 *   without an extension). `new Tray()` does not throw without one: the icon is simply
 *   never shown.
 * - **the global shortcuts portal**: on Wayland, a global shortcut works only through
 *   `org.freedesktop.portal.GlobalShortcuts` (xdg-desktop-portal with a backend that
 *   implements it: KDE Plasma, GNOME 48 and later); elsewhere `register()` may succeed and
 *   the shortcut never fires (electron/electron#45607).
 *
 * Every question has a deadline and any failure is an answer of "unknown" (null): the
 * probe never throws and never keeps the app waiting long.
 */
import type { App } from 'electron';

/** Whether this looks like a Wayland session (Electron 38+ then runs as a native Wayland client). */
export function isWaylandSession(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): boolean {
  return platform === 'linux' && (env.XDG_SESSION_TYPE === 'wayland' || Boolean(env.WAYLAND_DISPLAY));
}

/**
 * On a Wayland session, turns on Chromium's `GlobalShortcutsPortal` feature (added to any
 * `--enable-features` list already given), without which a global shortcut registers but
 * never fires in Electron 45 (electron/electron#45607; later Electron turns it on by
 * default). Must run before the app is ready. Returns whether it was turned on.
 */
export function enableShortcutPortal(
  commandLine: Pick<App['commandLine'], 'appendSwitch' | 'getSwitchValue'>,
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
): boolean {
  if (!isWaylandSession(platform, env)) return false;
  const given = commandLine.getSwitchValue('enable-features');
  const features = given ? given.split(',').filter((f) => f.length > 0) : [];
  if (!features.includes('GlobalShortcutsPortal')) features.push('GlobalShortcutsPortal');
  commandLine.appendSwitch('enable-features', features.join(','));
  return true;
}

/** The D-Bus calls the probe makes (a real bus, or a fake in tests). */
export interface DesktopBus {
  /** `org.freedesktop.DBus.NameHasOwner(name)`. */
  hasOwner(name: string): Promise<boolean>;
  /** `org.freedesktop.DBus.Properties.Get(iface, prop)` on `destination` at `path`; the plain value. */
  getProperty(destination: string, path: string, iface: string, prop: string): Promise<unknown>;
  close(): void;
}

/** What {@link probeDesktop} found. */
export interface DesktopReport {
  /** Whether a tray icon can be shown: true, false, or null when it could not be told. */
  trayHost: boolean | null;
  /**
   * Whether the global stop shortcut can fire at all: true (X11, macOS, Windows, or
   * Wayland with the portal), false (Wayland without the portal), or null (Wayland, and
   * the session bus could not be asked).
   */
  shortcutDelivery: boolean | null;
}

/** The StatusNotifierItem host's well-known name. */
export const TRAY_WATCHER = 'org.kde.StatusNotifierWatcher';
/** Where the desktop portal lives. */
export const PORTAL = { destination: 'org.freedesktop.portal.Desktop', path: '/org/freedesktop/portal/desktop', iface: 'org.freedesktop.portal.GlobalShortcuts' } as const;

interface DbusNative {
  sessionBus(opts?: { busAddress?: string }): {
    invoke(message: Record<string, unknown>, callback: (error: unknown, value: unknown) => void): void;
    connection: { on(event: string, listener: (...args: unknown[]) => void): void; end(): void };
  };
}

/**
 * Opens the login session's bus (`DBUS_SESSION_BUS_ADDRESS`, or `address`); null when
 * there is none or the library cannot load. Connection errors surface as rejected calls.
 */
export function openSessionBus(env: NodeJS.ProcessEnv, address?: string): DesktopBus | null {
  return openBus(address ?? env.DBUS_SESSION_BUS_ADDRESS);
}

/** Opens the system bus (`DBUS_SYSTEM_BUS_ADDRESS`, else the standard socket), where logind lives. */
export function openSystemBus(env: NodeJS.ProcessEnv): DesktopBus | null {
  return openBus(env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/var/run/dbus/system_bus_socket');
}

/** Opens the bus at a D-Bus address; null when there is none or the library cannot load. */
export function openBus(busAddress: string | undefined): DesktopBus | null {
  if (!busAddress) return null;
  let bus: ReturnType<DbusNative['sessionBus']>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dbus = require('@homebridge/dbus-native') as DbusNative;
    bus = dbus.sessionBus({ busAddress });
  } catch {
    return null;
  }
  let failure: unknown = null;
  const waiting = new Set<(err: unknown) => void>();
  bus.connection.on('error', (err: unknown) => {
    failure = err ?? new Error('D-Bus connection failed');
    for (const reject of waiting) reject(failure);
    waiting.clear();
  });
  const invoke = (message: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      waiting.add(reject);
      try {
        bus.invoke(message, (error, value) => {
          waiting.delete(reject);
          if (error) reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
          else resolve(value);
        });
      } catch (err) {
        waiting.delete(reject);
        reject(err);
      }
    });
  return {
    async hasOwner(name) {
      const value = await invoke({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'NameHasOwner',
        signature: 's',
        body: [name],
      });
      return value === true;
    },
    async getProperty(destination, path, iface, prop) {
      const value = await invoke({
        destination,
        path,
        interface: 'org.freedesktop.DBus.Properties',
        member: 'Get',
        signature: 'ss',
        body: [iface, prop],
      });
      // A variant comes back as [[signature], [value]].
      return Array.isArray(value) && Array.isArray(value[1]) ? value[1][0] : value;
    },
    close() {
      try {
        bus.connection.end();
      } catch {
        // already closed
      }
    },
  };
}

type Answer<T> = { ok: true; value: T } | { ok: false; timedOut: boolean };

function within<T>(promise: Promise<T>, ms: number): Promise<Answer<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, timedOut: true }), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve({ ok: true, value })),
      () => (clearTimeout(timer), resolve({ ok: false, timedOut: false })),
    );
  });
}

/** logind's object for the caller's own login session, and the property a screen locker sets. */
export const LOGIND = { destination: 'org.freedesktop.login1', path: '/org/freedesktop/login1/session/auto', iface: 'org.freedesktop.login1.Session', prop: 'LockedHint' } as const;

/** What {@link createLockedHintReader} returns. */
export interface LockedHintReader {
  /** Whether logind says this login session is locked; null when it cannot be asked. Never rejects. */
  read(): Promise<boolean | null>;
  /** Closes the bus connection (a later read opens it again). */
  close(): void;
}

/**
 * Reads logind's `LockedHint` of this login session (set by GNOME's, KDE's and most other
 * screen lockers when the screen locks) over the system bus, opened on the first read and
 * kept; a failed read drops the connection so the next one starts afresh.
 * @param timeoutMs deadline of one read (default 1000)
 */
export function createLockedHintReader(open: () => DesktopBus | null, timeoutMs = 1000): LockedHintReader {
  let bus: DesktopBus | null = null;
  const close = (): void => {
    bus?.close();
    bus = null;
  };
  return {
    async read() {
      try {
        bus ??= open();
      } catch {
        bus = null;
      }
      if (!bus) return null;
      const answer = await within(bus.getProperty(LOGIND.destination, LOGIND.path, LOGIND.iface, LOGIND.prop), timeoutMs);
      if (answer.ok && typeof answer.value === 'boolean') return answer.value;
      close();
      return null;
    },
    close,
  };
}

/** Inputs of {@link probeDesktop}. */
export interface ProbeOptions {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** Opens the bus (default {@link openSessionBus}). */
  openBus?: (env: NodeJS.ProcessEnv) => DesktopBus | null;
  /** Deadline of each question, ms (default 1500). */
  timeoutMs?: number;
}

/**
 * Asks the desktop whether a tray icon and a global shortcut can work. Outside Linux both
 * do (Electron's tray and shortcuts are native there). Never throws.
 */
export async function probeDesktop(options: ProbeOptions): Promise<DesktopReport> {
  if (options.platform !== 'linux') return { trayHost: true, shortcutDelivery: true };
  const wayland = isWaylandSession(options.platform, options.env);
  let bus: DesktopBus | null = null;
  try {
    bus = (options.openBus ?? openSessionBus)(options.env);
  } catch {
    bus = null;
  }
  if (!bus) return { trayHost: null, shortcutDelivery: wayland ? null : true };
  const ms = options.timeoutMs ?? 1500;
  try {
    const tray = await within(bus.hasOwner(TRAY_WATCHER), ms);
    let shortcutDelivery: boolean | null = true;
    if (wayland) {
      // The portal is D-Bus activated, so ask it directly rather than whether it runs now:
      // an error (no portal, or no backend with GlobalShortcuts) means no shortcut.
      const version = await within(bus.getProperty(PORTAL.destination, PORTAL.path, PORTAL.iface, 'version'), ms);
      if (version.ok) shortcutDelivery = typeof version.value === 'number' && version.value >= 1;
      else shortcutDelivery = version.timedOut ? null : false;
    }
    return { trayHost: tray.ok ? tray.value : null, shortcutDelivery };
  } finally {
    bus.close();
  }
}
