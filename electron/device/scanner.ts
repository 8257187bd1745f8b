/**
 * The scanner: merges the scans of several transports (the system adapter and the
 * simulated radio) into one list with one entry per peripheral, however often it
 * advertises. RSSI follows the latest advertisement; entries not heard for a while
 * fade out; the scan stops by itself after a timeout and when a device connects.
 */
import type { DiscoveredPeripheral, Transport } from '../ble/types';
import { systemClock, type TimeoutClock } from '../lib/clock';
import { Emitter } from '../lib/emitter';

/** One peripheral in the merged list. */
export interface ScannerEntry extends DiscoveredPeripheral {
  /** The transport it was heard on (connect through this one). */
  transport: Transport;
  /** Scanner clock (ms) when first heard in this scan. */
  firstSeenMs: number;
}

/** Why a scan ended. */
export type ScanStopReason = 'user' | 'timeout' | 'connected' | 'disposed';

/** Options of {@link Scanner}. Times in milliseconds. */
export interface ScannerOptions {
  transports: Transport[];
  /** Entries not heard for this long are removed (default 10 000). */
  fadeMs?: number;
  /** The scan stops by itself after this long (default 30 000). */
  scanTimeoutMs?: number;
  /** How often faded entries are looked for (default 1 000). */
  sweepIntervalMs?: number;
  /** Minimum time between two `results` events caused only by RSSI changes (default 250). */
  rssiUpdateIntervalMs?: number;
  /** Clock and timers (default: the system's, with wall-clock `now()`, like `lastSeenMs`). */
  clock?: TimeoutClock;
}

/** Outcome of {@link Scanner.start} per transport. */
export interface ScanStartReport {
  /** Names of the transports now scanning. */
  started: string[];
  /** Transports that could not scan, with the reason for the user. */
  failed: { transport: string; message: string }[];
}

/** Events of {@link Scanner}. */
export interface ScannerEvents {
  /** The merged list changed (sorted by RSSI, strongest first). */
  results: ScannerEntry[];
  /** The scan ended. */
  stopped: { reason: ScanStopReason };
  /** A transport failed to (re)start scanning. */
  error: { transport: string; message: string };
}

/** The scanner's default clock: the system clock with wall-clock `now()`, like `lastSeenMs`. */
const WALL_CLOCK: TimeoutClock = { ...systemClock, now: () => Date.now() };


/** Merges scans of several transports. See the module comment. */
export class Scanner {
  private readonly transports: Transport[];
  private readonly fadeMs: number;
  private readonly scanTimeoutMs: number;
  private readonly sweepIntervalMs: number;
  private readonly rssiUpdateIntervalMs: number;
  private readonly clock: TimeoutClock;
  private readonly found = new Map<string, ScannerEntry>();
  private readonly events = new Emitter<ScannerEvents>();
  private readonly active = new Set<Transport>();
  private stateOffs: (() => void)[] = [];
  private isScanning = false;
  private timeoutTimer: unknown = null;
  private sweepTimer: unknown = null;
  private rssiTimer: unknown = null;
  private rssiDirty = false;
  private lastEmitMs = Number.NEGATIVE_INFINITY;

  constructor(options: ScannerOptions) {
    this.transports = [...options.transports];
    this.fadeMs = options.fadeMs ?? 10_000;
    this.scanTimeoutMs = options.scanTimeoutMs ?? 30_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
    this.rssiUpdateIntervalMs = options.rssiUpdateIntervalMs ?? 250;
    this.clock = options.clock ?? WALL_CLOCK;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof ScannerEvents>(event: K, listener: (payload: ScannerEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Whether a scan is running. */
  get scanning(): boolean {
    return this.isScanning;
  }

  /** The merged list, strongest RSSI first. */
  entries(): ScannerEntry[] {
    return [...this.found.values()].sort((a, b) => b.rssi - a.rssi || a.id.localeCompare(b.id));
  }

  /** One entry by peripheral id. */
  entry(peripheralId: string): ScannerEntry | undefined {
    return this.found.get(peripheralId);
  }

  /** Whether a peripheral was heard within the fade time (e.g. for the link's reconnect policy). */
  isFresh(peripheralId: string): boolean {
    const e = this.found.get(peripheralId);
    return !!e && this.clock.now() - e.lastSeenMs <= this.fadeMs;
  }

  /**
   * Starts scanning on every transport that can. Never throws: transports that
   * cannot scan (adapter off, unavailable) are reported in `failed` and retried when
   * their adapter comes on while the scan runs. The scan stops by itself after
   * `scanTimeoutMs`.
   */
  async start(): Promise<ScanStartReport> {
    const report: ScanStartReport = { started: [], failed: [] };
    if (!this.isScanning) {
      this.isScanning = true;
      this.timeoutTimer = this.clock.setTimeout(() => void this.stop('timeout'), this.scanTimeoutMs);
      this.scheduleSweep();
      for (const t of this.transports) {
        this.stateOffs.push(
          t.onAdapterState((s) => {
            if (!this.isScanning) return;
            if (s.state === 'poweredOn') {
              if (!this.active.has(t)) void this.startOn(t);
            } else {
              this.active.delete(t);
            }
          }),
        );
      }
    }
    await Promise.all(
      this.transports.map(async (t) => {
        if (this.active.has(t)) {
          report.started.push(t.name);
          return;
        }
        const message = await this.startOn(t);
        if (message === null) report.started.push(t.name);
        else report.failed.push({ transport: t.name, message });
      }),
    );
    return report;
  }

  /** Stops scanning on every transport. Entries stay (and stop fading) until the next scan. */
  async stop(reason: ScanStopReason = 'user'): Promise<void> {
    if (!this.isScanning) return;
    this.isScanning = false;
    for (const off of this.stateOffs.splice(0)) off();
    for (const h of [this.timeoutTimer, this.sweepTimer, this.rssiTimer]) if (h !== null) this.clock.clearTimeout(h);
    this.timeoutTimer = this.sweepTimer = this.rssiTimer = null;
    const active = [...this.active];
    this.active.clear();
    await Promise.all(active.map((t) => t.stopScan().catch(() => undefined)));
    this.emit('stopped', { reason });
  }

  /** Tells the scanner a device connected: the scan stops (radios work better without it). */
  deviceConnected(): Promise<void> {
    return this.stop('connected');
  }

  /** Stops scanning and forgets every entry and listener. */
  async dispose(): Promise<void> {
    await this.stop('disposed');
    this.found.clear();
    this.events.clear();
  }

  private async startOn(t: Transport): Promise<string | null> {
    try {
      this.active.add(t);
      await t.startScan((p) => this.heard(t, p));
      if (!this.isScanning) {
        this.active.delete(t);
        await t.stopScan().catch(() => undefined);
      }
      return null;
    } catch (error) {
      this.active.delete(t);
      const message = error instanceof Error ? error.message : String(error);
      this.emit('error', { transport: t.name, message });
      return message;
    }
  }

  private heard(t: Transport, p: DiscoveredPeripheral): void {
    if (!this.isScanning) return;
    const now = this.clock.now();
    const existing = this.found.get(p.id);
    if (!existing) {
      this.found.set(p.id, { ...p, transport: t, firstSeenMs: now, lastSeenMs: now });
      this.emitResults();
      return;
    }
    const rssiChanged = existing.rssi !== p.rssi;
    const nameChanged = p.localName !== undefined && existing.localName !== p.localName;
    existing.rssi = p.rssi;
    existing.lastSeenMs = now;
    existing.advertisement = p.advertisement;
    existing.address = p.address;
    if (p.localName !== undefined) existing.localName = p.localName;
    if (nameChanged) this.emitResults();
    else if (rssiChanged) this.rssiChanged();
  }

  private rssiChanged(): void {
    const wait = this.lastEmitMs + this.rssiUpdateIntervalMs - this.clock.now();
    if (wait <= 0) {
      this.emitResults();
      return;
    }
    this.rssiDirty = true;
    if (this.rssiTimer === null) {
      this.rssiTimer = this.clock.setTimeout(() => {
        this.rssiTimer = null;
        if (this.rssiDirty && this.isScanning) this.emitResults();
      }, wait);
    }
  }

  private scheduleSweep(): void {
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweepTimer = null;
      if (!this.isScanning) return;
      this.sweep();
      this.scheduleSweep();
    }, this.sweepIntervalMs);
  }

  private sweep(): void {
    const now = this.clock.now();
    let removed = false;
    for (const [id, e] of this.found) {
      if (now - e.lastSeenMs > this.fadeMs) {
        this.found.delete(id);
        removed = true;
      }
    }
    if (removed) this.emitResults();
  }

  private emitResults(): void {
    this.rssiDirty = false;
    this.lastEmitMs = this.clock.now();
    this.emit('results', this.entries());
  }

  private emit<K extends keyof ScannerEvents>(event: K, payload: ScannerEvents[K]): void {
    this.events.emit(event, payload);
  }
}
