/**
 * The transport interface the rest of the main process uses for Bluetooth LE.
 * Two implementations share it: noble on the system adapter (loaded lazily), and
 * noble's real classes on the simulated radio (`@abandonware/noble/with-bindings`).
 * UUIDs are in noble's form (lowercase hex, no dashes). Times are milliseconds.
 */
import type { Advertisement, FoundCharacteristic } from '../../protocols/types';
import type { AdapterInfo } from '../ipc/contract';

export type { AdapterStateName } from '../ipc/contract';

/** The adapter's state with a human message and what the user can do about it (the contract's `AdapterInfo` without `demo`). */
export type AdapterState = Omit<AdapterInfo, 'demo'>;

/** A peripheral heard while scanning (one entry per peripheral, RSSI updated). */
export interface DiscoveredPeripheral {
  /** Transport-unique id (noble's peripheral id; `sim-` prefixed on the simulated radio). */
  id: string;
  address: string;
  localName?: string;
  /** dBm, the latest heard. */
  rssi: number;
  advertisement: Advertisement;
  simulated: boolean;
  /** Date.now() when last heard. */
  lastSeenMs: number;
}

/** One open GATT connection. Every operation takes a timeout and rejects with {@link GattError} when it passes. */
export interface GattConnection {
  readonly id: string;
  /** Negotiated ATT MTU in bytes (23 when none was negotiated). */
  readonly mtu: number;
  /** Discovers the given services (all when empty) and their characteristics. */
  discover(serviceUuids: string[], timeoutMs: number): Promise<Map<string, FoundCharacteristic[]>>;
  write(service: string, characteristic: string, bytes: Uint8Array, withResponse: boolean, timeoutMs: number): Promise<void>;
  read(service: string, characteristic: string, timeoutMs: number): Promise<Uint8Array>;
  /**
   * The descriptor UUIDs (noble form, e.g. `2902` for the CCCD) of one discovered
   * characteristic, read-only (for the device lab). Optional: a transport without
   * descriptor discovery leaves it out. Rejects with `not-found` for a characteristic
   * not discovered first.
   */
  descriptors?(service: string, characteristic: string, timeoutMs: number): Promise<string[]>;
  /** Subscribes to notifications; `onData` is called once per notification. */
  subscribe(service: string, characteristic: string, onData: (bytes: Uint8Array) => void, timeoutMs: number): Promise<void>;
  /** Called once when the link drops or is closed; returns an unsubscribe function. */
  onDisconnect(listener: (reason: string) => void): () => void;
  /** Closes the link and removes every listener this connection added. */
  disconnect(): Promise<void>;
}

/** A Bluetooth LE central. */
export interface Transport {
  readonly name: 'noble' | 'simulated';
  adapterState(): AdapterState;
  /** Listens for adapter state changes; returns an unsubscribe function. */
  onAdapterState(listener: (state: AdapterState) => void): () => void;
  /** Starts scanning; `onDiscover` is called for each advertisement heard. */
  startScan(onDiscover: (peripheral: DiscoveredPeripheral) => void): Promise<void>;
  stopScan(): Promise<void>;
  connect(peripheralId: string, timeoutMs: number): Promise<GattConnection>;
  /** Releases the adapter (and a helper process, where there is one). Optional. */
  dispose?(): Promise<void>;
}

/** Error codes of GATT operations. */
export type GattErrorCode = 'timeout' | 'disconnected' | 'not-found' | 'rejected' | 'adapter-off' | 'too-long';

/** An error from a GATT operation, with a machine-readable code and a human message. */
export class GattError extends Error {
  constructor(
    readonly code: GattErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GattError';
  }
}
