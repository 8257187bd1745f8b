import { afterEach, describe, expect, it } from 'vitest';
import { DeviceLink, LinkError } from '../../../electron/device/link';
import type { DeviceLinkEvents, DeviceLinkOptions, WriteOutcome } from '../../../electron/device/link';
import { GattError } from '../../../electron/ble/types';
import { theragun } from '../../../protocols/theragun';
import type { DeviceStatus, ProtocolModule } from '../../../protocols/types';
import { hear, hex, listenerCounts, ManualClock, simWorld, sleep, tinyPeripheral, tinyProtocol, waitFor } from '../ble/sim-world';
import type { SimWorld } from '../ble/sim-world';
import type { NoblePeripheralLike } from '../../../electron/ble/noble-transport';

const STOP = 'AA 07 01 03 00 00 03';
const RPM_1750 = 'AA E3 01 03 06 D6 03';
const PRO_STEPS = 3616;

let world: SimWorld | undefined;
let link: DeviceLink | undefined;
afterEach(async () => {
  await link?.disconnect({ stopFirst: false });
  link = undefined;
  await world?.dispose();
  world = undefined;
});

/** Records every event of a link. */
function record(l: DeviceLink): { [K in keyof DeviceLinkEvents]: DeviceLinkEvents[K][] } {
  const out = { status: [], unrecognised: [], disconnected: [], reconnecting: [], reconnected: [], 'reconnect-failed': [], notice: [], wrote: [], state: [], 'stop-state': [], 'stop-proof': [] } as {
    [K in keyof DeviceLinkEvents]: DeviceLinkEvents[K][];
  };
  for (const key of Object.keys(out) as (keyof DeviceLinkEvents)[]) {
    (l.on as (event: string, listener: (payload: unknown) => void) => () => void)(key, (payload) => (out[key] as unknown[]).push(payload));
  }
  return out;
}

async function gunLink(w: SimWorld, options: Partial<DeviceLinkOptions> = {}): Promise<DeviceLink> {
  await hear(w.transport, w.gunId);
  return new DeviceLink({ transport: w.transport, peripheralId: w.gunId, protocol: theragun, localName: 'Pro', reconnect: { initialDelayMs: 20, maxDelayMs: 160 }, ...options });
}

const written = (w: SimWorld, id?: string): string[] => w.radio.writes(id ?? w.gunId).map((r) => hex(r.bytes));
const rpmOf = (hexBytes: string): number => {
  const b = hexBytes.split(' ').map((x) => parseInt(x, 16));
  return (b[4]! << 8) | b[5]!;
};

/**
 * Connects a link whose clock is `clock`: the init writes wait for the write gap on that
 * clock, so it is moved along (10 ms at a time) until they are done; then 1 s more, so
 * the next write goes at once.
 */
async function connectOnManualClock(l: DeviceLink, clock: ManualClock): Promise<void> {
  const connecting = l.connect();
  while (l.state !== 'connected' || l.queued > 0) {
    clock.advance(10);
    await sleep(2);
  }
  await connecting;
  await sleep(30);
  clock.advance(1000);
}

describe('DeviceLink with the simulated Theragun Pro', () => {
  it('connects, discovers, subscribes, makes the init writes and reads the battery', async () => {
    world = simWorld();
    link = await gunLink(world);
    const events = record(link);
    const info = await link.connect();
    expect(info).toMatchObject({ peripheralId: 'sim-theragun-pro', protocolId: 'theragun', model: 'Pro', mtu: 23, batteryPercent: 80 });
    expect(info.capabilities.steps).toBe(PRO_STEPS);
    expect([...info.services.keys()].sort()).toEqual(['180f', 'ffe0']);
    expect(link.state).toBe('connected');
    // init: firmware query (without response), status request (with response)
    await waitFor(() => written(world!).length === 2);
    expect(world.radio.writes(world.gunId).map((r) => [hex(r.bytes), r.withResponse])).toEqual([
      ['AA 20 20 00', false],
      ['AA 10 10 00', true],
    ]);
    await waitFor(() => events.status.length === 3);
    expect(events.status).toEqual([{ batteryPercent: 80 }, { firmware: '4.1.5' }, { running: false, level: 0, levelIsIntensity: true }]);
    expect(events.state).toEqual(['connecting', 'connected']);
    expect(await link.readBattery()).toBe(80);
  });

  it('a speed write arrives at the simulator as the exact bytes (1750 rpm)', async () => {
    world = simWorld();
    link = await gunLink(world);
    await link.connect();
    await waitFor(() => written(world!).length === 2);
    world.radio.clearWriteLog();
    expect(await link.setIntensity(1750 / PRO_STEPS)).toBe('written');
    expect(written(world)).toEqual([RPM_1750]);
    expect(world.gun.state()).toMatchObject({ rpm: 1750, running: true });
  });

  it('one notification gives exactly one status event', async () => {
    world = simWorld();
    link = await gunLink(world);
    await link.connect();
    await sleep(60);
    const statuses: DeviceStatus[] = [];
    link.on('status', (s) => statuses.push(s));
    world.gun.act!('button-max');
    await waitFor(() => statuses.length >= 1);
    await sleep(40);
    expect(statuses).toEqual([{ running: true, level: 3616, levelIsIntensity: true }]);
  });

  it('a stop overtakes queued intensity writes: it arrives right after the write in flight, ignoring the gap', async () => {
    world = simWorld({ slowLatencyMs: 200 });
    const protocol: ProtocolModule = { ...theragun, writeGapMs: 2000 };
    link = await gunLink(world, { protocol });
    await link.connect();
    await sleep(2100); // let the gap after the init writes pass
    world.radio.clearWriteLog();
    world.radio.inject(world.gunId, 'slow');
    const a = link.setIntensity(1000 / PRO_STEPS);
    await sleep(20); // a is in flight now
    const b = link.setIntensity(2000 / PRO_STEPS);
    const c = link.setIntensity(3000 / PRO_STEPS);
    expect(link.queued).toBe(1);
    const stop = link.stop();
    expect(await Promise.all([a, b, c, stop])).toEqual<WriteOutcome[]>(['written', 'superseded', 'dropped', 'written']);
    const log = world.radio.writes(world.gunId);
    expect(log.map((r) => hex(r.bytes))).toEqual(['AA F2 01 03 03 E8 03', STOP]);
    expect(rpmOf(hex(log[0]!.bytes))).toBe(1000);
    // had the stop waited for the 2000 ms gap it would arrive ≥ 2100 ms after the first write
    expect(log[1]!.atMs - log[0]!.atMs).toBeLessThan(1500);
    expect(world.gun.state()).toMatchObject({ rpm: 0, running: false });
    await sleep(300);
    expect(world.radio.writes(world.gunId)).toHaveLength(2);
  });

  it('coalesces intensity updates: at most one write per write gap, the last value wins', async () => {
    world = simWorld();
    const gap = 100;
    link = await gunLink(world, { protocol: { ...theragun, writeGapMs: gap } });
    await link.connect();
    await sleep(150);
    world.radio.clearWriteLog();
    const outcomes: Promise<WriteOutcome>[] = [];
    const start = performance.now();
    let last = 0;
    for (let i = 1; i <= 100; i++) {
      last = i / 200;
      outcomes.push(link.setIntensity(last));
      await sleep(5);
    }
    const elapsed = performance.now() - start;
    const results = await Promise.all(outcomes);
    const log = world.radio.writes(world.gunId);
    expect(results[results.length - 1]).toBe('written');
    expect(results.filter((r) => r === 'written')).toHaveLength(log.length);
    expect(results.filter((r) => r === 'superseded')).toHaveLength(100 - log.length);
    // the last value wins: 0.5 of 3616 rpm = 1808 rpm
    expect(rpmOf(hex(log[log.length - 1]!.bytes))).toBe(1808);
    expect(world.gun.state().rpm).toBe(1808);
    // at most one write per gap (the gap runs from one write's acknowledgement to the next write)
    for (let i = 1; i < log.length; i++) expect(log[i]!.atMs - log[i - 1]!.atMs).toBeGreaterThanOrEqual(gap - 1);
    expect(log.length).toBeLessThanOrEqual(Math.ceil(elapsed / gap) + 1);
    expect(log.length).toBeGreaterThanOrEqual(2);
  });

  it('coalescing on an injected clock: nothing more is written until the gap has passed on that clock', async () => {
    world = simWorld();
    const clock = new ManualClock();
    link = await gunLink(world, { protocol: { ...theragun, writeGapMs: 100 }, clock });
    await connectOnManualClock(link, clock);
    world.radio.clearWriteLog();
    expect(await link.setIntensity(0.1)).toBe('written'); // the gap has passed: goes at once
    const later = [0.2, 0.3, 0.4].map((v) => link!.setIntensity(v));
    await sleep(50);
    clock.advance(99);
    await sleep(50);
    expect(written(world).map(rpmOf)).toEqual([362]);
    clock.advance(1);
    expect(await Promise.all(later)).toEqual<WriteOutcome[]>(['superseded', 'superseded', 'written']);
    expect(written(world).map(rpmOf)).toEqual([362, 1447]);
  });

  it('the ramp bound on an injected clock: from rest the gun gets 1 rpm, then at most 723 rpm per second of that clock; a stop ends the climb', async () => {
    world = simWorld();
    const clock = new ManualClock();
    link = await gunLink(world, { clock, rampPerSecond: 0.2 });
    await connectOnManualClock(link, clock);
    const speeds: { rpm: number; atMs: number }[] = [];
    link.on('wrote', (w) => {
      if (w.bytes.length === 7 && w.bytes[1] !== 0x07) speeds.push({ rpm: rpmOf(hex(w.bytes)), atMs: w.atMs });
    });
    const asked = clock.now();
    expect(await link.setIntensity(0.5)).toBe('written'); // written, as far as allowed now
    expect(speeds).toEqual([{ rpm: 1, atMs: asked }]);
    // one second of the injected clock, in 10 ms slices with real time for the radio
    for (let t = 0; t < 1000; t += 10) {
      clock.advance(10);
      await sleep(3);
    }
    const top = speeds.at(-1)!;
    expect(top.rpm).toBeGreaterThan(600); // it climbs …
    expect(top.rpm).toBeLessThanOrEqual(1 + 723.2 * ((top.atMs - asked) / 1000)); // … no faster than the ramp
    for (let i = 1; i < speeds.length; i++) {
      const rise = speeds[i]!.rpm - speeds[i - 1]!.rpm;
      expect(rise).toBeLessThanOrEqual(Math.floor(723.2 * ((speeds[i]!.atMs - speeds[i - 1]!.atMs) / 1000)) + 1);
    }
    // a stop ends the climb: nothing more is asked for afterwards
    await link.stop();
    const n = speeds.length;
    for (let t = 0; t < 500; t += 10) {
      clock.advance(10);
      await sleep(2);
    }
    expect(speeds.length).toBe(n);
    expect(world.gun.state().rpm).toBe(0);
  });

  it('a stop while a bounded intensity is being written ends the rise: nothing follows the stop', async () => {
    world = simWorld();
    const clock = new ManualClock();
    link = await gunLink(world, { clock, rampPerSecond: 0.2 });
    await connectOnManualClock(link, clock);
    world.radio.clearWriteLog();
    const rising = link.setIntensity(0.5); // in flight at once, bounded to 1 rpm; the rest would follow
    const stopping = link.stop();
    expect(await rising).toBe('written');
    expect(await stopping).toBe('written');
    for (let t = 0; t < 1000; t += 10) {
      clock.advance(10);
      await sleep(2);
    }
    // speed frames only (the stop's proof asks for a status too)
    const speedFrames = written(world).filter((h) => h.split(' ').length === 7);
    expect(speedFrames).toEqual([speedFrames[0], STOP]);
    expect(rpmOf(speedFrames[0]!)).toBe(1);
    expect(world.gun.state().rpm).toBe(0);
  });

  /**
   * Drives a governor-like ramp (0.2 of full range per second, capped at 0.5) through a
   * link whose first 1.2 s are slow (300 ms per ATT operation), and returns the rise the
   * gun saw between each two consecutive speed writes it received, rpm per second.
   */
  async function rampThroughSlowLink(rampPerSecond?: number): Promise<{ rates: number[]; last: number }> {
    world = simWorld({ slowLatencyMs: 300 });
    link = await gunLink(world, rampPerSecond === undefined ? {} : { rampPerSecond });
    await link.connect();
    await sleep(150);
    world.radio.clearWriteLog();
    world.radio.inject(world.gunId, 'slow');
    const start = performance.now();
    const pending: Promise<WriteOutcome>[] = [];
    for (;;) {
      const t = (performance.now() - start) / 1000;
      if (t > 3.2) break;
      if (t > 1.2) world.radio.clearFaults(world.gunId);
      pending.push(link.setIntensity(Math.min(0.5, 0.2 * t)));
      await sleep(50);
    }
    await Promise.allSettled(pending);
    await waitFor(() => world!.gun.state().rpm === 1808, 3000, 'the ramp to reach 0.5 (1808 rpm)');
    const log = world.radio.writes(world.gunId).filter((r) => r.bytes.length === 7 && r.bytes[1] !== 0x07);
    const rates: number[] = [];
    for (let i = 1; i < log.length; i++) {
      const dv = rpmOf(hex(log[i]!.bytes)) - rpmOf(hex(log[i - 1]!.bytes));
      const dt = (log[i]!.atMs - log[i - 1]!.atMs) / 1000;
      if (dv > 0) rates.push(dv / Math.max(dt, 1e-3));
    }
    return { rates, last: rpmOf(hex(log.at(-1)!.bytes)) };
  }

  it('bounds each intensity at dequeue: after a slow link recovers, the gun never sees a rise faster than the ramp (723 rpm/s on a Pro)', async () => {
    const { rates, last } = await rampThroughSlowLink(0.2);
    expect(last).toBe(1808);
    expect(rates.length).toBeGreaterThan(3);
    // 0.2 × 3616 = 723.2 rpm/s; 5% for the simulated radio's own timing of each receipt
    expect(Math.max(...rates)).toBeLessThanOrEqual(723.2 * 1.05);
  }, 15_000);

  it('without the bound (no rampPerSecond), the same recovering link shows the gun a faster rise', async () => {
    const { rates } = await rampThroughSlowLink();
    expect(Math.max(...rates)).toBeGreaterThan(723.2 * 1.05);
  }, 15_000);

  it('rejects intensities outside 0..1 and NaN without writing', async () => {
    world = simWorld();
    link = await gunLink(world);
    await link.connect();
    await sleep(60);
    world.radio.clearWriteLog();
    for (const bad of [Number.NaN, -0.01, 1.0001, Number.POSITIVE_INFINITY]) {
      await expect(link.setIntensity(bad)).rejects.toBeInstanceOf(RangeError);
    }
    await sleep(60);
    expect(written(world)).toEqual([]);
  });

  it('a write with no answer times out with a clear error and the link is torn down', async () => {
    world = simWorld();
    link = await gunLink(world, { timeouts: { writeMs: 150 }, reconnect: { enabled: false } });
    const events = record(link);
    await link.connect();
    await sleep(60);
    world.radio.inject(world.gunId, 'no-write-response');
    const error = await link.setIntensity(0.3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GattError);
    expect(error).toMatchObject({ code: 'timeout', message: 'A write got no answer within 150 ms; Unknot closed the link to the device.' });
    expect(events.disconnected).toEqual([{ reason: 'a write timed out', expected: false }]);
    expect(link.state).toBe('closed');
    await waitFor(() => !world!.radio.isConnected(world!.gunId));
    await expect(link.setIntensity(0.1)).rejects.toBeInstanceOf(LinkError);
    await expect(link.stop()).rejects.toMatchObject({ code: 'closed' });
  });

  it('refuses a device the protocol does not accept, writing nothing', async () => {
    world = simWorld();
    link = await gunLink(world, { protocol: tinyProtocol });
    const error = await link.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LinkError);
    expect(error).toMatchObject({ code: 'refused', message: 'This device does not answer as a Tiny test device: no abc0 service. Unknot wrote nothing to it.' });
    expect(link.state).toBe('idle');
    await waitFor(() => !world!.radio.isConnected(world!.gunId));
    expect(world.radio.writes()).toEqual([]);
  });

  it('disconnect() writes a stop first and reports an expected disconnection; no reconnect follows', async () => {
    world = simWorld();
    link = await gunLink(world);
    const events = record(link);
    await link.connect();
    await link.setIntensity(0.25);
    const verdict = await link.disconnect();
    // the stop, then the status request whose answer proves it, before the link closes
    expect(written(world).slice(-3)).toEqual(['AA 92 01 03 03 88 03', STOP, 'AA 10 10 00']);
    expect(verdict).toMatchObject({ state: 'confirmed', attempts: 1 });
    expect(events.disconnected).toEqual([{ reason: 'closed by Unknot', expected: true }]);
    expect(link.state).toBe('closed');
    await sleep(100);
    expect(events.reconnecting).toEqual([]);
    expect(world.radio.isConnected(world.gunId)).toBe(false);
  });

  describe('after a drop', () => {
    it('reconnects with backoff; the first write is a stop and nothing else is written until the owner commands', async () => {
      world = simWorld();
      link = await gunLink(world);
      const events = record(link);
      await link.connect();
      await link.setIntensity(0.5);
      world.radio.clearWriteLog();
      world.radio.inject(world.gunId, 'drop-link');
      await waitFor(() => events.reconnected.length === 1);
      expect(events.disconnected).toEqual([
        { reason: 'the connection timed out (the device went out of range, was switched off or its battery ran out)', expected: false },
      ]);
      expect(events.reconnecting[0]).toEqual({ attempt: 1, delayMs: 20 });
      expect(events.state).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
      expect(link.holding).toBe(true);
      await sleep(150);
      expect(written(world)).toEqual([STOP]);
      expect(world.gun.state().rpm).toBe(0);
      await link.setIntensity(1750 / PRO_STEPS);
      expect(link.holding).toBe(false);
      expect(written(world)).toEqual([STOP, RPM_1750]);
    });

    it('awaitStopVerdict: false when the link drops before the stop has its verdict, true once the reconnect\'s stop has one', async () => {
      world = simWorld();
      link = await gunLink(world);
      const events = record(link);
      await link.connect();
      await link.setIntensity(0.5);
      await link.stop();
      const lost = link.awaitStopVerdict(5000);
      world.radio.inject(world.gunId, 'drop-link');
      expect(await lost).toBe(false);
      expect(await link.awaitStopVerdict(5000)).toBe(false); // down: nothing is proven
      await waitFor(() => events.reconnected.length === 1);
      expect(await link.awaitStopVerdict(5000)).toBe(true);
      expect(link.stopState?.state).not.toBe('waiting');
    });

    it('backs off 20, 40, 80, 160 (cap) ms while the peripheral does not advertise, then reconnects when it does', async () => {
      world = simWorld();
      link = await gunLink(world, { timeouts: { connectMs: 30 } });
      const events = record(link);
      await link.connect();
      world.radio.inject(world.gunId, 'stop-advertising');
      world.radio.inject(world.gunId, 'drop-link');
      await waitFor(() => events.reconnecting.length >= 6, 5000);
      expect(events.reconnecting.slice(0, 6).map((e) => e.delayMs)).toEqual([20, 40, 80, 160, 160, 160]);
      expect(events.reconnecting.slice(0, 6).map((e) => e.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
      world.radio.clearWriteLog();
      world.radio.inject(world.gunId, 'resume-advertising');
      await waitFor(() => events.reconnected.length === 1, 5000);
      expect(written(world)).toEqual([STOP]);
    });

    it('skips attempts while isAdvertising() says no, and gives up after giveUpAfterMs', async () => {
      world = simWorld();
      let attempts = 0;
      link = await gunLink(world, {
        reconnect: {
          initialDelayMs: 10,
          maxDelayMs: 20,
          giveUpAfterMs: 150,
          isAdvertising: () => {
            attempts++;
            return false;
          },
        },
      });
      const events = record(link);
      await link.connect();
      world.radio.inject(world.gunId, 'drop-link');
      await waitFor(() => events['reconnect-failed'].length === 1, 3000);
      expect(events['reconnect-failed'][0]).toMatchObject({ reason: 'the device is not advertising' });
      expect(attempts).toBeGreaterThanOrEqual(3);
      expect(link.state).toBe('closed');
      expect(world.radio.isConnected(world.gunId)).toBe(false);
    });

    it('listener counts stay flat over 20 drop/reconnect cycles, and each notification is one status event', async () => {
      world = simWorld();
      link = await gunLink(world);
      const events = record(link);
      await link.connect();
      const peripheral = (world.noble as unknown as { _peripherals: Record<string, NoblePeripheralLike> })._peripherals[world.gunId]!;
      const counts = (): unknown => ({
        noble: listenerCounts(world!.noble),
        radio: listenerCounts(world!.radio),
        peripheral: listenerCounts(peripheral),
        transport: world!.transport.listenerCount(),
        link: (['status', 'disconnected', 'reconnected'] as const).map((e) => link!.listenerCount(e)),
      });
      await sleep(60);
      const baseline = counts();
      for (let i = 0; i < 20; i++) {
        const before = events.reconnected.length;
        world.radio.inject(world.gunId, 'drop-link');
        await waitFor(() => events.reconnected.length === before + 1, 3000, `reconnect ${i + 1}`);
        expect(counts()).toEqual(baseline);
        const statusBefore = events.status.length;
        await link.setIntensity((i + 1) / 100); // the gun answers with one status notification
        await waitFor(() => events.status.length > statusBefore);
        await sleep(15);
        expect(events.status.length).toBe(statusBefore + 1);
        expect(events.status[events.status.length - 1]).toEqual({ running: true, level: Math.ceil(((i + 1) / 100) * PRO_STEPS - 1e-9), levelIsIntensity: true });
      }
      expect(events.disconnected).toHaveLength(20);
      expect(events.reconnected).toHaveLength(20);
    });

    it('drop-link-mid-write: the pending write fails "disconnected", the link comes back with a stop', async () => {
      world = simWorld();
      link = await gunLink(world);
      const events = record(link);
      await link.connect();
      await sleep(60);
      world.radio.clearWriteLog();
      world.radio.inject(world.gunId, 'drop-link-mid-write');
      await expect(link.setIntensity(0.4)).rejects.toMatchObject({ code: 'disconnected' });
      await waitFor(() => events.reconnected.length === 1);
      expect(written(world)).toEqual([STOP]);
    });

    it('adapter-off: the link drops, attempts fail while off, and after adapter-on it reconnects with a stop', async () => {
      world = simWorld();
      link = await gunLink(world);
      const events = record(link);
      await link.connect();
      await link.setIntensity(0.2);
      world.radio.clearWriteLog();
      world.radio.inject(world.gunId, 'adapter-off');
      expect(events.disconnected).toEqual([{ reason: 'Bluetooth was switched off', expected: false }]);
      await expect(link.stop()).rejects.toMatchObject({ code: 'not-connected' });
      await waitFor(() => events.reconnecting.length >= 3);
      expect(events.reconnected).toEqual([]);
      world.radio.inject(world.gunId, 'adapter-on');
      await waitFor(() => events.reconnected.length === 1, 5000);
      expect(written(world)).toEqual([STOP]);
    });

    it('refuse-connection: attempts fail until the fault is cleared', async () => {
      world = simWorld();
      link = await gunLink(world);
      const events = record(link);
      await link.connect();
      await sleep(60);
      world.radio.inject(world.gunId, 'refuse-connection');
      world.radio.inject(world.gunId, 'drop-link');
      await waitFor(() => events.reconnecting.length >= 3);
      expect(events.reconnected).toEqual([]);
      world.radio.clearFaults(world.gunId);
      await waitFor(() => events.reconnected.length === 1, 5000);
    });

    it('no-discovery-response: a reconnect attempt times out in discovery and the next one succeeds once cleared', async () => {
      world = simWorld();
      link = await gunLink(world, { timeouts: { discoveryMs: 80 } });
      const events = record(link);
      await link.connect();
      await sleep(60);
      world.radio.inject(world.gunId, 'no-discovery-response');
      world.radio.inject(world.gunId, 'drop-link');
      await waitFor(() => events.reconnecting.length >= 2);
      expect(events.reconnected).toEqual([]);
      world.radio.clearWriteLog();
      world.radio.clearFaults(world.gunId);
      await waitFor(() => events.reconnected.length === 1, 5000);
      expect(written(world)).toEqual([STOP]);
    });
  });

  describe('notification faults', () => {
    it('garbage and truncated notifications give no status, only "unrecognised"', async () => {
      world = simWorld();
      link = await gunLink(world);
      await link.connect();
      await sleep(60);
      const events = record(link);
      world.radio.inject(world.gunId, 'garbage-notifications');
      await link.setIntensity(0.1);
      await waitFor(() => events.unrecognised.length === 2);
      world.radio.clearFaults(world.gunId);
      world.radio.inject(world.gunId, 'truncated-notifications');
      await link.setIntensity(0.2);
      await waitFor(() => events.unrecognised.length === 3);
      expect(events.unrecognised[2]!.bytes).toHaveLength(7);
      expect(events.status).toEqual([]);
      expect(link.state).toBe('connected');
    });

    it('slow: writes still succeed when the timeout is longer than the slow answer', async () => {
      world = simWorld({ slowLatencyMs: 120 });
      link = await gunLink(world, { timeouts: { writeMs: 1000 } });
      await link.connect();
      await sleep(60);
      world.radio.inject(world.gunId, 'slow');
      const t0 = performance.now();
      expect(await link.setIntensity(1750 / PRO_STEPS)).toBe('written');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    });
  });
});

describe('DeviceLink with the tiny test peripheral', () => {
  async function tinyLink(): Promise<{ w: SimWorld; id: string; tiny: ReturnType<typeof tinyPeripheral>; l: DeviceLink }> {
    const w = simWorld();
    const tiny = tinyPeripheral();
    const id = w.radio.addPeripheral(tiny);
    await hear(w.transport, id);
    const l = new DeviceLink({ transport: w.transport, peripheralId: id, protocol: tinyProtocol });
    world = w;
    link = l;
    await l.connect();
    await waitFor(() => tiny.received.length === 1); // init write 49
    await sleep(30);
    return { w, id, tiny, l };
  }

  it('refuses a payload longer than MTU − 3 with "too-long" and stays usable', async () => {
    const { tiny, l } = await tinyLink();
    const error = await l.send({ type: 'setMode', mode: 'long' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GattError);
    expect(error).toMatchObject({ code: 'too-long', message: 'A 30-byte write does not fit the link (at most 20 bytes with MTU 23); nothing was written.' });
    expect(l.state).toBe('connected');
    expect(await l.setIntensity(0.25)).toBe('written');
    expect(tiny.received.map((b) => hex(b))).toEqual(['49', '01 19']);
  });

  it('splits a payload marked splittable (without response) into MTU − 3 pieces', async () => {
    const { tiny, l } = await tinyLink();
    expect(await l.send({ type: 'setMode', mode: 'long-split' })).toBe('written');
    // written without response: "written" means sent; delivery follows
    await waitFor(() => tiny.received.length === 3);
    expect(tiny.received.slice(1).map((b) => b.length)).toEqual([20, 10]);
  });

  it('queues the follow-up writes a decoded notification asks for', async () => {
    const { tiny, l } = await tinyLink();
    const statuses: DeviceStatus[] = [];
    l.on('status', (s) => statuses.push(s));
    tiny.push(Uint8Array.of(0xee, 0x7f));
    await waitFor(() => tiny.received.length === 2);
    expect(hex(tiny.received[1]!)).toBe('7F 01');
    await sleep(30);
    // the follow-up's echo (EE 7F 01) is a plain status
    expect(statuses).toEqual([{ level: 127 }, { level: 127 }]);
  });

  it('a stop between the writes of a multi-write command drops the rest of it', async () => {
    const { tiny, l } = await tinyLink();
    const two = l.send({ type: 'setMode', mode: 'two' });
    await waitFor(() => tiny.received.length === 2);
    const stop = l.stop();
    expect(await Promise.all([two, stop])).toEqual(['dropped', 'written']);
    expect(tiny.received.slice(1).map((b) => hex(b))).toEqual(['02 01', '00']);
  });

  it('commands without bytes resolve "nothing"', async () => {
    const { l } = await tinyLink();
    expect(await l.send({ type: 'setHeat', on: true })).toBe('nothing');
  });
});
