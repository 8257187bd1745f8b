/**
 * A drop-in for `@abandonware/bluetooth-hci-socket`'s `BluetoothHciSocket`, joined to a
 * {@link VirtualLink} instead of the kernel. noble and bleno build their socket with
 * `new BluetoothHciSocket()` and then call `bindRaw(deviceId)`, `start()`, `isDevUp()`,
 * `setFilter(16 bytes)` and `write(packet)`, and listen to `data` and `error`; bleno's
 * management socket calls `bindControl()` (accepted, and otherwise ignored).
 *
 * {@link installVirtualHciSocket} puts this class into `require.cache` where noble and
 * bleno resolve the real package, before either loads, so nothing in node_modules is
 * patched. Which link a socket joins is decided when it binds ({@link useVirtualLink}),
 * not when it is constructed: noble's hci.js captures the class once, at load time.
 */
import { EventEmitter } from 'node:events';
import Module, { createRequire } from 'node:module';
import type { HostPort, VirtualController, VirtualLink } from './virtual-link';

let activeLink: VirtualLink | null = null;

/** Sockets bound from now on join `link` (null: binding fails as on a machine without Bluetooth). */
export function useVirtualLink(link: VirtualLink | null): void {
  activeLink = link;
}

/** An error shaped like the native socket's (`code` set). */
function socketError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The virtual HCI socket: the `BluetoothHciSocket` contract on a virtual controller. */
export class VirtualHciSocket extends EventEmitter implements HostPort {
  private controller: VirtualController | null = null;
  private detach: (() => void) | null = null;
  private mode: 'unbound' | 'raw' | 'user' | 'control' = 'unbound';
  private started = false;

  /**
   * Binds to the controller with HCI device id `deviceId` (the lowest when undefined) on
   * the active link; returns the device id.
   * @throws Error with code `ENODEV` when there is no such controller (or no link).
   */
  bindRaw(deviceId?: number): number {
    return this.bind(deviceId, 'raw');
  }

  /** As {@link bindRaw}, for hosts in user-channel mode (`HCI_CHANNEL_USER`). */
  bindUser(deviceId?: number): number {
    return this.bind(deviceId, 'user');
  }

  /** The management channel (bleno's `mgmt.js`): accepted; its writes go nowhere. */
  bindControl(): void {
    this.mode = 'control';
  }

  /** Starts delivering packets. */
  start(): void {
    this.started = true;
  }

  /** Stops delivering packets and detaches from the controller. */
  stop(): void {
    this.started = false;
    this.detach?.();
    this.detach = null;
  }

  /** Whether the bound controller is switched on. */
  isDevUp(): boolean {
    return this.controller?.powered ?? false;
  }

  /** The kernel's packet filter: 4 bytes packet-type mask, 8 bytes event mask, 2 bytes opcode. */
  setFilter(filter: Buffer): void {
    if (this.controller && this.mode !== 'control') this.controller.filter = Uint8Array.from(filter);
  }

  /** The controllers on the active link, as the native `getDeviceList` lists adapters. */
  getDeviceList(): { devId: number; devUp: boolean; idVendor: null; idProduct: null; busNumber: null; deviceAddress: null }[] {
    return (activeLink?.allControllers() ?? []).map((c) => ({ devId: c.deviceId, devUp: c.powered, idVendor: null, idProduct: null, busNumber: null, deviceAddress: null }));
  }

  /**
   * Hands one packet (indicator byte first) to the controller.
   * @throws Error when the socket is not bound.
   */
  write(packet: Buffer): void {
    if (this.mode === 'control') return;
    if (!this.controller) throw socketError('The HCI socket is not bound to a device.', 'EBADF');
    this.controller.receiveFromHost(Uint8Array.from(packet));
  }

  /** @internal A packet from the controller. */
  deliver(packet: Buffer): void {
    if (!this.started) return;
    this.emit('data', packet);
  }

  /** @internal A write reached a switched-off controller. */
  deviceDown(): void {
    const link = activeLink;
    const emit = (): void => void this.emit('error', socketError('Network is down', 'ENETDOWN'));
    if (link) link.scheduler.soon(emit);
    else setImmediate(emit);
  }

  private bind(deviceId: number | undefined, mode: 'raw' | 'user'): number {
    const controller = activeLink?.controller(deviceId);
    if (!controller) throw socketError(`No Bluetooth device hci${deviceId ?? 0} on the virtual link.`, 'ENODEV');
    this.detach?.();
    this.controller = controller;
    this.mode = mode;
    this.detach = controller.attach(this);
    return controller.deviceId;
  }
}

const PACKAGE = '@abandonware/bluetooth-hci-socket';

/**
 * Makes `require('@abandonware/bluetooth-hci-socket')` give {@link VirtualHciSocket} to
 * noble and to bleno (wherever each resolves the package), by putting a module into
 * `require.cache`. Must run before noble's or bleno's HCI code is first required in the
 * process. Idempotent.
 * @returns the resolved paths that now hold the virtual socket.
 */
export function installVirtualHciSocket(): string[] {
  const here = createRequire(import.meta.url);
  const paths = new Set<string>();
  for (const host of ['@abandonware/noble', '@abandonware/bleno']) {
    try {
      paths.add(createRequire(here.resolve(host)).resolve(PACKAGE));
    } catch {
      // that host is not installed: nothing to replace for it
    }
  }
  for (const path of paths) {
    if (here.cache[path]?.exports === VirtualHciSocket) continue;
    const m = new Module(path);
    m.filename = path;
    m.loaded = true;
    m.exports = VirtualHciSocket;
    here.cache[path] = m;
  }
  return [...paths];
}
