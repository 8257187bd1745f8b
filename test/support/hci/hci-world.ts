/**
 * A whole virtual Bluetooth world for tests and the bench: a {@link VirtualLink} with a
 * central controller for noble and one controller per simulated peripheral, each
 * peripheral served by its own bleno, and the app's own system transport
 * (`loadSystemTransport`, so `require('@abandonware/noble')` → noble's HCI binding) on
 * the central. Nothing in node_modules is patched: only the HCI socket class is replaced
 * (see `virtual-socket.ts`).
 *
 * noble is a process-wide singleton whose adapter poll never stops: build one world per
 * test file (vitest runs each file in its own process), or pass `freshNoble` to purge
 * noble's modules from `require.cache` first.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { loadSystemTransport } from '../../../electron/ble/system';
import { NobleTransport } from '../../../electron/ble/noble-transport';
import type { NobleLike } from '../../../electron/ble/noble-transport';
import type { SimulatedPeripheral } from '../../../protocols/types';
import { hostOnBleno } from './bleno-peripheral';
import type { BlenoPeripheral } from './bleno-peripheral';
import { VirtualLink } from './virtual-link';
import type { ControllerOptions, LinkOptions, VirtualController } from './virtual-link';
import { installVirtualHciSocket, useVirtualLink } from './virtual-socket';

const require = createRequire(import.meta.url);

/** Options of {@link hciWorld}. */
export interface HciWorldOptions {
  /** The simulated peripherals, each served by its own bleno on its own controller. */
  sims: SimulatedPeripheral[];
  link?: LinkOptions;
  /** The central's controller (noble's); default ACL buffers 27 bytes × 4. */
  central?: Partial<Omit<ControllerOptions, 'deviceId' | 'name'>>;
  /** Every peripheral's controller; default ACL buffers 27 bytes × 4. RSSI defaults to the simulator's. */
  peripheral?: Partial<Omit<ControllerOptions, 'deviceId' | 'name' | 'address'>>;
  /** Purge noble from `require.cache` first, so this world gets a noble of its own. */
  freshNoble?: boolean;
  /**
   * bleno's advertising interval, ms (default 20, so connecting takes little time). bleno
   * reads it from `BLENO_ADVERTISING_INTERVAL` whenever it sets its advertising
   * parameters, so the variable stays set in this (test) process.
   */
  advertisingIntervalMs?: number;
}

/** One peripheral of the world. */
export interface HciPeripheral {
  sim: SimulatedPeripheral;
  controller: VirtualController;
  bleno: BlenoPeripheral;
  /** The address its controller has (`c0:ff:ee:00:00:0N`). */
  address: string;
  /** noble's peripheral id for it (the address without colons). */
  id: string;
}

/** The world: the radio side and the app's transport on noble over it. */
export interface HciWorld extends VirtualWorld {
  /** The noble instance the app's transport drives. */
  noble: NobleLike;
  /** The app's system transport on that noble. */
  transport: NobleTransport;
  /** Closes the transport and stops the link's timers. */
  dispose(): Promise<void>;
}

/** The central's address. */
export const CENTRAL_ADDRESS = '00:1a:7d:da:71:01';

function purgeNoble(): void {
  const root = dirname(require.resolve('@abandonware/noble/package.json')) + sep;
  for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
}

/** The radio side of a world: the link, the central's controller and the bleno peripherals (no noble). */
export interface VirtualWorld {
  link: VirtualLink;
  central: VirtualController;
  peripherals: HciPeripheral[];
  /** The peripheral whose simulator has this local name. @throws Error when there is none. */
  byName(localName: string): HciPeripheral;
  /** Protocol violations and host errors so far, one line each (empty when all is well). */
  problems(): string[];
}

/**
 * Builds the radio side of a world: installs the virtual HCI socket (before noble or
 * bleno load), the link, the central's controller (device 0, which noble binds to) and
 * one controller per simulated peripheral, each served by its own bleno (advertising
 * once powered on). The Bluetooth helper's test preload builds this inside the helper.
 */
export function virtualWorld(options: Omit<HciWorldOptions, 'freshNoble'>): VirtualWorld {
  installVirtualHciSocket();
  process.env.BLENO_ADVERTISING_INTERVAL = String(options.advertisingIntervalMs ?? 20);
  const link = new VirtualLink(options.link);
  useVirtualLink(link);
  const central = link.addController({ aclBufferLength: 27, aclBufferCount: 4, ...options.central, name: 'central', deviceId: 0, address: options.central?.address ?? CENTRAL_ADDRESS });
  const peripherals: HciPeripheral[] = options.sims.map((sim, i) => {
    const address = `c0:ff:ee:00:00:${(i + 1).toString(16).padStart(2, '0')}`;
    const controller = link.addController({ aclBufferLength: 27, aclBufferCount: 4, rssi: sim.rssi, ...options.peripheral, name: sim.localName, deviceId: i + 1, address });
    return { sim, controller, bleno: hostOnBleno(sim, i + 1), address, id: address.replaceAll(':', '') };
  });
  return {
    link,
    central,
    peripherals,
    byName(localName) {
      const p = peripherals.find((x) => x.sim.localName === localName);
      if (!p) throw new Error(`no peripheral named ${localName}`);
      return p;
    },
    problems() {
      return [
        ...link.violations().map((v) => `${v.controller}: ${v.rule}: ${v.detail} (${Buffer.from(v.bytes).toString('hex')})`),
        ...link.hostErrors().map((e) => `host error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
      ];
    },
  };
}

/** Builds the world: link, controllers, bleno peripherals (advertising once powered on), noble and the app's transport. */
export function hciWorld(options: HciWorldOptions): HciWorld {
  const radio = virtualWorld(options);
  const { link } = radio;
  if (options.freshNoble) purgeNoble();
  // The app's own path: loadSystemTransport requires '@abandonware/noble', which picks the HCI binding on Linux.
  const transport = loadSystemTransport({ load: () => require('@abandonware/noble'), helper: null, platform: 'linux' });
  if (!(transport instanceof NobleTransport)) throw new Error(`noble did not load on the virtual controller: ${transport.adapterState().message}`);
  const noble = (transport as unknown as { noble: NobleLike }).noble;
  return {
    ...radio,
    noble,
    transport,
    async dispose() {
      await transport.dispose();
      link.dispose();
      useVirtualLink(null);
    },
  };
}
