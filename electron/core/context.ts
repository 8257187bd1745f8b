/**
 * What the core's concerns share: the options the core was built with, its clock, the
 * store, the safety governor and the way to push an event to every renderer. Each concern
 * (devices and connection, sessions, settings and screening, history and data, simulator)
 * gets this and fills its own slice of the typed handler map (`Handlers<'device.*'>`, …).
 */
import type { Transport } from '../ble/types';
import type { LinkTimeouts, ReconnectPolicy } from '../device/link';
import type { EventChannel, EventPayload } from '../ipc/contract';
import type { Clock, TimeoutClock } from '../lib/clock';
import type { SafetyGovernor } from '../safety/governor';
import type { SettingsStore } from '../store/settings';
import type { UsageLog } from '../store/usage';
import type { ProtocolCatalog } from './profiles';

/** How the core is built. */
export interface CoreOptions {
  dataDir: string;
  demo: boolean;
  /** Demo only: routine time runs this many times faster. */
  timeScale: number;
  host: 'electron' | 'browser';
  version: string;
  /**
   * Injected for tests: the core's clock. The governor, every device link and the scanner
   * run on it (the scanner on its `wallNow`, like the transports' `lastSeenMs`).
   */
  clock?: Clock;
  /** Injected for tests: the system transport (default: noble, loaded lazily). */
  systemTransport?: Transport;
  /** Injected for tests: the simulated radio's ATT latency, ms. */
  simLatencyMs?: number;
  /** Injected for tests: shorter GATT timeouts or reconnect delays. */
  linkTimeouts?: Partial<LinkTimeouts>;
  reconnect?: Partial<ReconnectPolicy>;
}

/** The shared parts of the core, handed to each concern. */
export interface CoreContext {
  readonly options: CoreOptions;
  /** The core's clock (monotonic `now()` in ms, `wallNow()` for calendar days). */
  readonly clock: Clock;
  readonly settings: SettingsStore;
  readonly usage: UsageLog;
  readonly governor: SafetyGovernor;
  /** The protocols in force (built-in and the user's profiles), see `profiles.ts`. */
  readonly protocols: ProtocolCatalog;
  /** Pushes an event to every connected renderer; a renderer that throws is skipped. */
  broadcast<E extends EventChannel>(event: E, payload: EventPayload<E>): void;
}

/** The routine-time factor: demo mode's time scale, 1 otherwise. */
export function timeScaleOf(options: CoreOptions): number {
  return options.demo ? options.timeScale : 1;
}

/** The scanner's view of a clock: its timers, with `now()` on the wall clock (what `lastSeenMs` is measured on). */
export function wallTimeoutClock(clock: Clock): TimeoutClock {
  return {
    now: () => clock.wallNow(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
}

/** A no-op, for promises whose failure another path reports. */
export function ignore(): void {}
