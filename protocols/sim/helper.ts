/**
 * The plumbing every simulated peripheral shares: the notifier the radio hands over, the
 * subscription to the notify characteristic, the standard services, the faults a real
 * device shows (a lost stop, no status replies) and the assembly of the
 * {@link SimulatedPeripheral} object. A simulator supplies only what its device does with
 * the bytes it receives.
 */
import { StandardServicesSim, type StandardSimInfo } from '../standard';
import type { Advertisement, SimReadout, SimService, SimulatedPeripheral } from '../types';

/** The fault actions every simulator with a stop offers (see {@link StopFaults}). */
export const STOP_FAULT_ACTIONS = ['ignore-next-stop', 'ignore-every-stop'] as const;

/**
 * The demo panel's words for the actions several simulators share (the stop faults, the
 * device's own buttons, a silent device); a simulator names its other actions itself
 * ({@link SimParts.actionLabels}).
 */
export const SHARED_ACTION_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'button-max': 'Press its own “max” button',
  'button-power': 'Press its power button',
  'ignore-next-stop': 'Ignore the next stop',
  'ignore-every-stop': 'Ignore every stop',
  'no-status-replies': 'Never report its state',
});

/**
 * The `ignore-next-stop` / `ignore-every-stop` faults: while the device runs, the next (or
 * every) stop is swallowed, until the device's own power button ({@link clear}).
 */
export class StopFaults {
  private next = false;
  private every = false;
  /** Stops swallowed so far. */
  swallowed = 0;

  /** Performs a fault action; false when `action` is not one of {@link STOP_FAULT_ACTIONS}. */
  act(action: string): boolean {
    if (action === 'ignore-next-stop') this.next = true;
    else if (action === 'ignore-every-stop') this.every = true;
    else return false;
    return true;
  }

  /** Whether a stop arriving now is swallowed (counted in {@link swallowed}); only while `running`. */
  swallow(running: boolean): boolean {
    if (!running || !(this.next || this.every)) return false;
    this.next = false;
    this.swallowed++;
    return true;
  }

  /** The device's own power button ends the faults. */
  clear(): void {
    this.every = false;
  }
}

/** The link side of a simulated peripheral: its notify characteristic and whether the central listens. */
export class SimLink {
  private notifier: ((service: string, characteristic: string, bytes: Uint8Array) => void) | undefined;
  /** Whether the central is subscribed to the notify characteristic. */
  subscribed = false;
  /** The `no-status-replies` fault: nothing is sent. */
  silent = false;

  constructor(
    readonly service: string,
    readonly notify: string,
  ) {}

  /** Whether the central listens (and the device is not silenced). */
  get listening(): boolean {
    return this.subscribed && this.notifier !== undefined && !this.silent;
  }

  /** Sends one notification while the central listens; otherwise drops it. */
  send(bytes: Uint8Array): void {
    if (this.listening) this.notifier!(this.service, this.notify, bytes);
  }

  setNotifier(fn: (service: string, characteristic: string, bytes: Uint8Array) => void): void {
    this.notifier = fn;
  }
}

/** What a simulator supplies to {@link simulatedPeripheral}. */
export interface SimParts {
  /** The id of the protocol the simulated device speaks (see {@link SimulatedPeripheral.protocolId}). */
  protocolId: string;
  address: string;
  localName: string;
  advertisement: Advertisement;
  rssi: number;
  link: SimLink;
  /** The device's own service table (the standard services are appended). */
  services: SimService[];
  standard: StandardSimInfo | StandardServicesSim;
  /** A write to one of the device's characteristics; return false to reject it (ATT error). */
  onWrite(service: string, characteristic: string, bytes: Uint8Array, withResponse: boolean): boolean;
  /** The central subscribed to (true) or left (false) the notify characteristic. */
  onSubscribed?(on: boolean): void;
  /** The link dropped (the subscription is already gone). */
  onDisconnect?(): void;
  readout(): SimReadout[];
  state(): Record<string, number | string | boolean>;
  actions: readonly string[];
  /** Button words for actions not in {@link SHARED_ACTION_LABELS} (or to say a shared one differently). */
  actionLabels?: Readonly<Record<string, string>>;
  act(action: string): void;
}

/**
 * Assembles a simulated peripheral from its parts: the notifier goes to the link,
 * subscriptions to the notify characteristic are tracked (others are ignored), the link
 * drop ends the subscription, and reads of standard characteristics are answered. Its
 * action labels are the parts' own, else the shared ones; an action with neither has none.
 */
export function simulatedPeripheral(parts: SimParts): SimulatedPeripheral {
  const standard = parts.standard instanceof StandardServicesSim ? parts.standard : new StandardServicesSim(parts.standard);
  const link = parts.link;
  const labels: Record<string, string> = {};
  for (const action of parts.actions) {
    const label = parts.actionLabels?.[action] ?? SHARED_ACTION_LABELS[action];
    if (label !== undefined) labels[action] = label;
  }
  return {
    protocolId: parts.protocolId,
    address: parts.address,
    localName: parts.localName,
    advertisement: parts.advertisement,
    rssi: parts.rssi,
    services: [...parts.services, ...standard.services()],
    onWrite: (service, characteristic, bytes, withResponse) => parts.onWrite(service, characteristic, bytes, withResponse),
    onRead: (service, characteristic) => standard.read(service, characteristic),
    setNotifier: (fn) => link.setNotifier(fn),
    onSubscribe(service, characteristic, on) {
      if (service !== link.service || characteristic !== link.notify) return;
      link.subscribed = on;
      parts.onSubscribed?.(on);
    },
    onDisconnect() {
      // A device keeps running when the link drops (DESIGN §4); only the subscription goes.
      link.subscribed = false;
      parts.onDisconnect?.();
    },
    readout: () => parts.readout(),
    state: () => parts.state(),
    actions: [...parts.actions],
    actionLabels: labels,
    act: (action) => parts.act(action),
  };
}
