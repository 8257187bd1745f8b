/**
 * The system Bluetooth transport: noble on the computer's own adapter, loaded lazily.
 *
 * Requiring `@abandonware/noble` opens a Bluetooth socket at load time and throws
 * where there is none (EAFNOSUPPORT on Linux without Bluetooth, a missing native
 * module, …). {@link loadSystemTransport} catches that and hands back a transport
 * that reports the adapter as `unavailable` with the reason, so the app can offer
 * the simulated devices instead of crashing.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { spawnHelperTransport } from './helper-transport';
import { describeAdapterState, NobleTransport } from './noble-transport';
import type { NobleLike } from './noble-transport';
import { GattError } from './types';
import type { AdapterState, GattConnection, Transport } from './types';

/** Options of {@link loadSystemTransport} (for tests). */
export interface SystemTransportOptions {
  /** Loads noble; default requires `@abandonware/noble`. May throw. */
  load?: () => unknown;
  /** Platform whose hints to give (default `process.platform`). */
  platform?: NodeJS.Platform;
  /** The Bluetooth helper to use instead of loading noble here (default: {@link findBleHelper}); null: none. */
  helper?: string | null;
}

/** Where the packaged app ships the Bluetooth helper, inside `process.resourcesPath`. */
export const BLE_HELPER_RESOURCE = join('ble-helper', 'unknot-ble-helper');

/**
 * The Bluetooth helper executable to use, or null to load noble in this process.
 * Linux only: `UNKNOT_BLE_HELPER` (a path) when set, else the packaged helper at
 * `<resourcesPath>/ble-helper/unknot-ble-helper` when it exists and this is not an
 * AppImage (docs/desktop.md,
 * "Linux: Bluetooth permissions").
 */
export function findBleHelper(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  resourcesPath: string | undefined = (process as { resourcesPath?: string }).resourcesPath,
  exists: (path: string) => boolean = existsSync,
): string | null {
  if (platform !== 'linux') return null;
  if (env.UNKNOT_BLE_HELPER) return env.UNKNOT_BLE_HELPER;
  // An AppImage cannot carry file capabilities (it runs from a nosuid mount): keep noble in-process there.
  if (!resourcesPath || env.APPIMAGE) return null;
  const packaged = join(resourcesPath, BLE_HELPER_RESOURCE);
  return exists(packaged) ? packaged : null;
}

/** Turns the error from loading noble into one sentence for the user. */
export function explainLoadFailure(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const detail = typeof e?.message === 'string' ? e.message : String(error);
  if (code === 'EAFNOSUPPORT') return 'This computer has no Bluetooth support that Unknot can use (EAFNOSUPPORT: no Bluetooth socket family).';
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return `Unknot's Bluetooth component is missing (${detail}).`;
  if (code === 'EPERM' || code === 'EACCES') return `Unknot is not allowed to open the Bluetooth adapter (${code}).`;
  if (code === 'ENODEV') return 'No Bluetooth adapter was found (ENODEV).';
  return `Bluetooth could not be started: ${detail}${code ? ` (${code})` : ''}.`;
}

/** A transport for a computer where noble cannot run: everything says why. */
export class UnavailableTransport implements Transport {
  readonly name = 'noble' as const;
  private readonly state: AdapterState;

  constructor(
    /** Why Bluetooth is unavailable, one sentence for the user. */
    readonly reason: string,
    platform: NodeJS.Platform = process.platform,
  ) {
    const described = describeAdapterState('unavailable', platform, reason);
    this.state = described;
  }

  adapterState(): AdapterState {
    return { ...this.state };
  }

  onAdapterState(): () => void {
    return () => {};
  }

  /** @throws GattError('adapter-off') with the reason Bluetooth is unavailable. */
  startScan(): Promise<void> {
    return Promise.reject(new GattError('adapter-off', `Cannot scan: ${this.reason} ${this.state.hint}`));
  }

  async stopScan(): Promise<void> {}

  /** @throws GattError('adapter-off') with the reason Bluetooth is unavailable. */
  connect(): Promise<GattConnection> {
    return Promise.reject(new GattError('adapter-off', `Cannot connect: ${this.reason} ${this.state.hint}`));
  }
}

function defaultLoad(): unknown {
  // `require` exists in the bundled main process (CommonJS); elsewhere make one.
  const req = typeof require === 'function' ? require : createRequire(import.meta.url);
  return req('@abandonware/noble');
}

function looksLikeNoble(value: unknown): value is NobleLike {
  const v = value as Partial<NobleLike> | null;
  return !!v && typeof v.on === 'function' && typeof v.startScanning === 'function' && typeof v.stopScanning === 'function';
}

/**
 * Loads noble on the system adapter — on Linux through the Bluetooth helper process
 * when one is found ({@link findBleHelper}), else in this process. Never throws: when noble cannot be loaded (or
 * its adapter cannot be opened) the result is an {@link UnavailableTransport} whose
 * `adapterState()` is `unavailable` with the reason, and whose `startScan` and
 * `connect` reject with GattError('adapter-off').
 */
export function loadSystemTransport(options: SystemTransportOptions = {}): Transport {
  const platform = options.platform ?? process.platform;
  const helper = options.helper !== undefined ? options.helper : options.load ? null : findBleHelper(platform);
  if (helper) return spawnHelperTransport({ command: helper, transport: { platform } });
  let noble: unknown;
  try {
    noble = (options.load ?? defaultLoad)();
  } catch (error) {
    return new UnavailableTransport(explainLoadFailure(error), platform);
  }
  if (!looksLikeNoble(noble)) return new UnavailableTransport('Bluetooth could not be started: the Bluetooth component is not what Unknot expects.', platform);
  try {
    return new NobleTransport(noble, { simulated: false, platform });
  } catch (error) {
    return new UnavailableTransport(explainLoadFailure(error), platform);
  }
}
