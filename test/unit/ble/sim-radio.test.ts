import { afterEach, describe, expect, it } from 'vitest';
import { SIM_FAULTS, SimRadio } from '../../../electron/ble/sim-radio';
import type { SimPeripheralSnapshot, SimWriteRecord } from '../../../electron/ble/sim-radio';
import type { DiscoveredPeripheral, GattConnection } from '../../../electron/ble/types';
import { decodeTheragun, speedFrame } from '../../../protocols/theragun';
import { hear, hex, simWorld, sleep, tinyPeripheral, waitFor } from './sim-world';
import type { SimWorld } from './sim-world';

let world: SimWorld | undefined;
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});

async function connected(w: SimWorld, subscribe?: (b: Uint8Array) => void): Promise<GattConnection> {
  await hear(w.transport, w.gunId);
  const conn = await w.transport.connect(w.gunId, 2000);
  await conn.discover(['ffe0'], 2000);
  if (subscribe) await conn.subscribe('ffe0', 'ffe1', subscribe, 2000);
  return conn;
}

describe('SimRadio', () => {
  it('lists every fault by name', () => {
    const radio = new SimRadio();
    expect(radio.faults().map((f) => f.name)).toEqual([
      'drop-link',
      'drop-link-mid-write',
      'no-write-response',
      'no-discovery-response',
      'slow',
      'garbage-notifications',
      'truncated-notifications',
      'adapter-off',
      'adapter-on',
      'refuse-connection',
      'stop-advertising',
      'resume-advertising',
    ]);
    expect(SIM_FAULTS.every((f) => f.description.length > 10)).toBe(true);
    radio.dispose();
  });

  it('refuses unknown faults, unknown peripherals and duplicate ids', () => {
    const radio = new SimRadio();
    const id = radio.addPeripheral(tinyPeripheral('tiny-1'));
    expect(id).toBe('sim-tiny-1');
    expect(() => radio.inject(id, 'explode' as never)).toThrow(/Unknown fault "explode"/);
    expect(() => radio.inject('sim-nope', 'drop-link')).toThrow('No simulated peripheral with id sim-nope.');
    expect(() => radio.addPeripheral(tinyPeripheral('sim-tiny-1'))).toThrow(/already on the radio/);
    radio.dispose();
  });

  it('keeps one ATT request in flight per link: a write without response waits its turn and is not acknowledged', async () => {
    world = simWorld({ latencyMs: 30 });
    const conn = await connected(world);
    world.radio.clearWriteLog();
    const done: string[] = [];
    const a = conn.write('ffe0', 'ffe2', speedFrame(1000), true, 2000).then(() => done.push('A acknowledged'));
    const b = conn.write('ffe0', 'ffe2', speedFrame(2000), false, 2000).then(() => done.push('B sent'));
    const c = conn.write('ffe0', 'ffe2', speedFrame(0), true, 2000).then(() => done.push('C acknowledged'));
    await Promise.all([a, b, c]);
    expect(done).toEqual(['A acknowledged', 'B sent', 'C acknowledged']);
    const log = world.radio.writes();
    expect(log.map((r) => [((r.bytes[4]! << 8) | r.bytes[5]!), r.withResponse])).toEqual([
      [1000, true],
      [2000, false],
      [0, true],
    ]);
    // B could only start after A's response (one full latency after A started): A arrives at
    // half latency, B one latency later. Lower bounds only: timers never fire early by more than 1 ms.
    expect(log[1]!.atMs - log[0]!.atMs).toBeGreaterThanOrEqual(29);
    // C queued behind B's turn on the link (half a latency for a write command)
    expect(log[2]!.atMs - log[1]!.atMs).toBeGreaterThanOrEqual(14);
  });

  it('logs every write with a performance.now() timestamp and tells observers (write, state change)', async () => {
    world = simWorld();
    const writes: SimWriteRecord[] = [];
    const states: SimPeripheralSnapshot[] = [];
    const offWrite = world.radio.onWrite((r) => writes.push(r));
    const offState = world.radio.onStateChange((s) => states.push(s));
    const before = performance.now();
    const conn = await connected(world);
    await conn.write('ffe0', 'ffe2', Uint8Array.from([0xaa, 0xe3, 0x01, 0x03, 0x06, 0xd6, 0x03]), true, 1000);
    expect(writes).toHaveLength(1);
    expect(hex(writes[0]!.bytes)).toBe('AA E3 01 03 06 D6 03');
    expect(writes[0]!.atMs).toBeGreaterThanOrEqual(before);
    expect(writes[0]!.atMs).toBeLessThanOrEqual(performance.now());
    const last = states[states.length - 1]!;
    expect(last).toMatchObject({ id: 'sim-theragun-pro', localName: 'Pro', connected: true, advertising: false, faults: [] });
    expect(last.readout).toEqual([{ label: 'Motor', value: '1750 rpm' }]);
    expect(last.state.rpm).toBe(1750);
    expect(world.radio.snapshot(world.gunId)?.connected).toBe(true);
    offWrite();
    offState();
    await conn.write('ffe0', 'ffe2', speedFrame(0), true, 1000);
    expect(writes).toHaveLength(1);
    expect(world.radio.writes()).toHaveLength(2);
  });

  describe('faults', () => {
    it('drop-link: the link drops now, the peripheral advertises again and can be reconnected', async () => {
      world = simWorld();
      const conn = await connected(world);
      const reason = new Promise<string>((r) => conn.onDisconnect(r));
      world.radio.inject(world.gunId, 'drop-link');
      expect(await reason).toContain('the connection timed out');
      expect(world.radio.snapshot(world.gunId)).toMatchObject({ connected: false, advertising: true });
      const heard: DiscoveredPeripheral[] = [];
      await world.transport.startScan((p) => heard.push(p));
      await waitFor(() => heard.some((p) => p.id === world!.gunId));
      await world.transport.stopScan();
      const again = await world.transport.connect(world.gunId, 1000);
      expect(again.id).toBe(world.gunId);
    });

    it('slow: operations are answered only after the slow latency', async () => {
      world = simWorld({ slowLatencyMs: 150 });
      const conn = await connected(world);
      world.radio.inject(world.gunId, 'slow');
      expect(world.radio.snapshot(world.gunId)?.faults).toEqual(['slow']);
      const t0 = performance.now();
      await conn.write('ffe0', 'ffe2', speedFrame(500), true, 2000);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
      // an operation with a shorter timeout than the slow answer times out
      await expect(conn.write('ffe0', 'ffe2', speedFrame(0), true, 60)).rejects.toMatchObject({ code: 'timeout' });
    });

    it('garbage-notifications: one garbage notification now, later payloads replaced by random bytes', async () => {
      world = simWorld();
      const got: Uint8Array[] = [];
      const conn = await connected(world, (b) => got.push(b));
      world.radio.inject(world.gunId, 'garbage-notifications');
      await waitFor(() => got.length === 1);
      expect(got[0]).toHaveLength(8);
      expect(decodeTheragun(got[0]!).kind).toBe('unknown');
      await conn.write('ffe0', 'ffe2', speedFrame(1200), true, 1000); // the gun answers with a status
      await waitFor(() => got.length === 2);
      expect(got[1]).toHaveLength(15);
      expect(decodeTheragun(got[1]!).kind).toBe('unknown');
      world.radio.clearFaults(world.gunId);
      await conn.write('ffe0', 'ffe2', speedFrame(1300), true, 1000);
      await waitFor(() => got.length === 3);
      expect(decodeTheragun(got[2]!)).toEqual({ kind: 'status', status: { running: true, level: 1300, levelIsIntensity: true } });
    });

    it('truncated-notifications: later notifications are cut to half their length', async () => {
      world = simWorld();
      const got: Uint8Array[] = [];
      const conn = await connected(world, (b) => got.push(b));
      world.radio.inject(world.gunId, 'truncated-notifications');
      await conn.write('ffe0', 'ffe2', speedFrame(1200), true, 1000);
      await waitFor(() => got.length === 1);
      expect(got[0]).toHaveLength(7);
      expect(decodeTheragun(got[0]!).kind).toBe('unknown');
    });

    it('stop-advertising: not heard while scanning; resume-advertising: heard again', async () => {
      world = simWorld();
      await waitFor(() => world!.transport.adapterState().state === 'poweredOn');
      world.radio.inject(world.gunId, 'stop-advertising');
      const heard: string[] = [];
      await world.transport.startScan((p) => heard.push(p.id));
      await sleep(100);
      expect(heard).toEqual([]);
      world.radio.inject(world.gunId, 'resume-advertising');
      await waitFor(() => heard.includes(world!.gunId));
      await world.transport.stopScan();
    });

    it('adapter-off stops scanning and reports poweredOff; adapter-on reports poweredOn', async () => {
      world = simWorld();
      const heard: string[] = [];
      await world.transport.startScan((p) => heard.push(p.id));
      await waitFor(() => heard.length > 0);
      world.radio.inject('', 'adapter-off');
      expect(world.radio.isAdapterOn()).toBe(false);
      expect(world.transport.adapterState().state).toBe('poweredOff');
      expect(world.transport.scanning).toBe(false);
      const n = heard.length;
      await sleep(60);
      expect(heard.length).toBe(n);
      world.radio.inject('', 'adapter-on');
      expect(world.transport.adapterState().state).toBe('poweredOn');
    });

    // drop-link-mid-write, no-write-response, no-discovery-response and refuse-connection
    // are covered in noble-transport.test.ts (their outcomes are the transport's errors).
  });
});
