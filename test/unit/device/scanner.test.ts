import { afterEach, describe, expect, it } from 'vitest';
import { Scanner } from '../../../electron/device/scanner';
import type { ScannerEntry, ScanStopReason } from '../../../electron/device/scanner';
import type { AdapterState, DiscoveredPeripheral, GattConnection, Transport } from '../../../electron/ble/types';
import { GattError } from '../../../electron/ble/types';
import { describeAdapterState } from '../../../electron/ble/noble-transport';
import { UnavailableTransport } from '../../../electron/ble/system';
import { ManualClock, simWorld, tinyPeripheral, waitFor } from '../ble/sim-world';
import type { SimWorld } from '../ble/sim-world';

/** A transport the test drives by hand. */
class FakeTransport implements Transport {
  state: AdapterState = describeAdapterState('poweredOn');
  onDiscover: ((p: DiscoveredPeripheral) => void) | null = null;
  starts = 0;
  stops = 0;
  private listeners = new Set<(s: AdapterState) => void>();
  constructor(readonly name: 'noble' | 'simulated') {}
  adapterState(): AdapterState {
    return this.state;
  }
  onAdapterState(listener: (state: AdapterState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  setState(name: 'poweredOn' | 'poweredOff'): void {
    this.state = describeAdapterState(name);
    if (name !== 'poweredOn') this.onDiscover = null;
    for (const l of this.listeners) l(this.state);
  }
  async startScan(onDiscover: (p: DiscoveredPeripheral) => void): Promise<void> {
    if (this.state.state !== 'poweredOn') throw new GattError('adapter-off', 'Cannot scan: Bluetooth is switched off.');
    this.starts++;
    this.onDiscover = onDiscover;
  }
  async stopScan(): Promise<void> {
    this.stops++;
    this.onDiscover = null;
  }
  connect(): Promise<GattConnection> {
    return Promise.reject(new Error('not used'));
  }
  advertise(id: string, rssi: number, localName = 'Pro'): void {
    this.onDiscover?.({ id, address: id, localName, rssi, advertisement: { localName, serviceUuids: [] }, simulated: this.name === 'simulated', lastSeenMs: 0 });
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Scanner', () => {
  it('keeps one entry per peripheral across transports, updating RSSI', async () => {
    const clock = new ManualClock();
    const system = new FakeTransport('noble');
    const sim = new FakeTransport('simulated');
    const scanner = new Scanner({ transports: [system, sim], clock, rssiUpdateIntervalMs: 0 });
    const results: ScannerEntry[][] = [];
    scanner.on('results', (r) => results.push(r));
    expect(await scanner.start()).toEqual({ started: ['noble', 'simulated'], failed: [] });
    for (let i = 0; i < 10; i++) {
      system.advertise('aabbccddeeff', -80 + i);
      sim.advertise('sim-theragun-pro', -55);
      clock.advance(100);
    }
    const entries = scanner.entries();
    expect(entries.map((e) => [e.id, e.rssi, e.simulated, e.transport.name])).toEqual([
      ['sim-theragun-pro', -55, true, 'simulated'],
      ['aabbccddeeff', -71, false, 'noble'],
    ]);
    expect(entries[1]!.lastSeenMs).toBe(clock.now() - 100);
    expect(entries[1]!.firstSeenMs).toBe(1_000_000);
    expect(results[results.length - 1]!.map((e) => e.rssi)).toEqual([-55, -71]);
    await scanner.dispose();
  });

  it('throttles results caused only by RSSI changes', async () => {
    const clock = new ManualClock();
    const t = new FakeTransport('simulated');
    const scanner = new Scanner({ transports: [t], clock, rssiUpdateIntervalMs: 250 });
    let count = 0;
    scanner.on('results', () => count++);
    await scanner.start();
    t.advertise('sim-a', -60); // new entry: immediate
    expect(count).toBe(1);
    for (let i = 0; i < 20; i++) {
      t.advertise('sim-a', -60 - (i % 5));
      clock.advance(10);
    }
    // 200 ms of updates: at most one throttled emission so far
    expect(count).toBeLessThanOrEqual(2);
    clock.advance(300);
    expect(count).toBe(2);
    expect(scanner.entry('sim-a')!.rssi).toBe(-64);
    await scanner.dispose();
  });

  it('fades out entries not heard from for fadeMs', async () => {
    const clock = new ManualClock();
    const t = new FakeTransport('simulated');
    const scanner = new Scanner({ transports: [t], clock, fadeMs: 10_000, scanTimeoutMs: 60_000 });
    const results: string[][] = [];
    scanner.on('results', (r) => results.push(r.map((e) => e.id)));
    await scanner.start();
    t.advertise('sim-a', -60);
    t.advertise('sim-b', -70);
    for (let s = 0; s < 12; s++) {
      t.advertise('sim-b', -70);
      clock.advance(1000);
    }
    expect(scanner.entries().map((e) => e.id)).toEqual(['sim-b']);
    expect(scanner.isFresh('sim-a')).toBe(false);
    expect(scanner.isFresh('sim-b')).toBe(true);
    expect(results[results.length - 1]).toEqual(['sim-b']);
    await scanner.dispose();
  });

  it('stops by itself after scanTimeoutMs', async () => {
    const clock = new ManualClock();
    const t = new FakeTransport('simulated');
    const scanner = new Scanner({ transports: [t], clock, scanTimeoutMs: 30_000 });
    const stopped: ScanStopReason[] = [];
    scanner.on('stopped', (e) => stopped.push(e.reason));
    await scanner.start();
    clock.advance(29_999);
    expect(scanner.scanning).toBe(true);
    clock.advance(1);
    await flush();
    expect(scanner.scanning).toBe(false);
    expect(stopped).toEqual(['timeout']);
    expect(t.stops).toBe(1);
    t.advertise('sim-late', -50);
    expect(scanner.entries()).toEqual([]);
  });

  it('stops when a device connects', async () => {
    const t = new FakeTransport('simulated');
    const scanner = new Scanner({ transports: [t], clock: new ManualClock() });
    const stopped: ScanStopReason[] = [];
    scanner.on('stopped', (e) => stopped.push(e.reason));
    await scanner.start();
    await scanner.deviceConnected();
    expect(stopped).toEqual(['connected']);
    expect(t.stops).toBe(1);
    expect(scanner.scanning).toBe(false);
  });

  it('reports transports that cannot scan, and restarts one whose adapter comes on during the scan', async () => {
    const clock = new ManualClock();
    const off = new FakeTransport('noble');
    off.setState('poweredOff');
    const sim = new FakeTransport('simulated');
    const scanner = new Scanner({ transports: [off, sim, new UnavailableTransport('No Bluetooth here.')], clock });
    const report = await scanner.start();
    expect(report.started).toEqual(['simulated']);
    expect(report.failed).toEqual([
      { transport: 'noble', message: 'Cannot scan: Bluetooth is switched off.' },
      { transport: 'noble', message: 'Cannot scan: No Bluetooth here. Plug in a Bluetooth LE adapter and restart Unknot, or try the simulated devices.' },
    ]);
    off.setState('poweredOn');
    await flush();
    expect(off.starts).toBe(1);
    off.advertise('aabbcc', -65);
    expect(scanner.entry('aabbcc')?.transport).toBe(off);
    await scanner.dispose();
  });
});

describe('Scanner on the simulated radio', () => {
  let world: SimWorld | undefined;
  afterEach(async () => {
    await world?.dispose();
    world = undefined;
  });

  it('finds the simulated Theragun Pro and the tiny peripheral once each', async () => {
    world = simWorld();
    world.radio.addPeripheral(tinyPeripheral());
    const scanner = new Scanner({ transports: [world.transport, new UnavailableTransport('No Bluetooth here.')], rssiUpdateIntervalMs: 0 });
    let results = 0;
    scanner.on('results', () => results++);
    const report = await scanner.start();
    expect(report.started).toEqual(['simulated']);
    await waitFor(() => scanner.entries().length === 2 && results >= 6, 3000);
    expect(scanner.entries().map((e) => [e.id, e.localName, e.simulated])).toEqual([
      ['sim-theragun-pro', 'Pro', true],
      ['sim-tiny', 'Tiny', true],
    ]);
    await scanner.deviceConnected();
    expect(world.transport.scanning).toBe(false);
  });
});
