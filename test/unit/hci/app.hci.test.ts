/**
 * The whole app on noble's real HCI binding (in its own process: noble is one per
 * process): connect/disconnect cycles without listener growth, the MTU − 3 rule against
 * the negotiated MTU, a connection attempt to a device that went away, the adapter
 * switched off and on, and a routine through the app core, whose trace shows noble's own
 * ATT requests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../../electron/core/app-core';
import type { ScanResults } from '../../../electron/ipc/contract';
import { GattError } from '../../../electron/ble/types';
import { simulateAll } from '../../../protocols/registry';
import { THERAGUN_SERVICE, THERAGUN_NOTIFY, THERAGUN_WRITE, speedFrame } from '../../../protocols/theragun';
import { ATT, attPdus, attWrites } from '../../support/hci/att-trace';
import { hciWorld } from '../../support/hci/hci-world';
import type { HciWorld } from '../../support/hci/hci-world';
import { scanAll } from '../../support/hci/device-suite';
import { listenerCounts } from '../ble/sim-world';
import type { NoblePeripheralLike } from '../../../electron/ble/noble-transport';

const waitFor = async (predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> => {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

let world: HciWorld;
beforeAll(async () => {
  // the shortest connection interval keeps the 20 cycles quick; the device suites run at 30 ms
  world = hciWorld({ sims: simulateAll(), link: { connectionIntervalMs: 7.5 } });
  await waitFor(() => world.transport.adapterState().state === 'poweredOn', 5000, 'poweredOn');
  await scanAll(world);
});
afterAll(async () => {
  await world?.dispose();
});

describe('the app on noble’s HCI binding', () => {
  it('20 connect, discover, subscribe, disconnect cycles leave no listener behind', async () => {
    const gun = world.byName('Pro');
    const peripheral = (world.noble as unknown as { _peripherals: Record<string, NoblePeripheralLike> })._peripherals[gun.id]!;
    const baseline = { transport: world.transport.listenerCount(), noble: listenerCounts(world.noble), process: process.listenerCount('exit') };
    let peripheralAfterFirst: Record<string, number> | undefined;
    for (let i = 0; i < 20; i++) {
      const conn = await world.transport.connect(gun.id, 3000);
      await conn.discover([THERAGUN_SERVICE], 3000);
      await conn.subscribe(THERAGUN_SERVICE, THERAGUN_NOTIFY, () => undefined, 2000);
      await conn.write(THERAGUN_SERVICE, THERAGUN_WRITE, speedFrame(0), true, 2000);
      await conn.disconnect();
      await waitFor(() => !gun.bleno.connected, 3000, 'bleno to see the disconnect');
      if (i === 0) peripheralAfterFirst = listenerCounts(peripheral);
    }
    expect(world.transport.listenerCount()).toBe(baseline.transport);
    expect(listenerCounts(world.noble)).toEqual(baseline.noble);
    expect(listenerCounts(peripheral)).toEqual(peripheralAfterFirst);
    expect(process.listenerCount('exit')).toBe(baseline.process);
    expect(gun.bleno.writes().filter((w) => hex(w.bytes) === 'aa070103000003')).toHaveLength(20);
    expect(world.problems()).toEqual([]);
  });

  it('a write of MTU − 3 bytes (253 at the negotiated 256) goes as one ATT Write Request, fragmented over 27-byte ACL buffers', async () => {
    const gun = world.byName('Pro');
    const conn = await world.transport.connect(gun.id, 3000);
    await conn.discover([THERAGUN_SERVICE], 3000);
    expect(conn.mtu).toBe(256);
    world.link.clearTrace();
    const long = new Uint8Array(253).fill(0x5a);
    await conn.write(THERAGUN_SERVICE, THERAGUN_WRITE, long, true, 3000);
    const writes = attPdus(world.link.trace(), 'central', 'host').filter((p) => p.opcode === ATT.writeRequest);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.bytes.length).toBe(256);
    expect(writes[0]!.fragments).toBe(Math.ceil((256 + 4) / 27));
    expect(hex(gun.bleno.writes().at(-1)!.bytes)).toBe(hex(long));
    await conn.disconnect();
    expect(world.problems()).toEqual([]);
  });

  it('connecting to a device that went away times out with the app’s message, and noble’s connection attempt is cancelled', async () => {
    const pad = world.byName('hy1');
    pad.controller.powerOff();
    const error = await world.transport.connect(pad.id, 400).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GattError);
    expect((error as GattError).code).toBe('timeout');
    await waitFor(() => (world.central.commandCounts.get('leCreateConnectionCancel') ?? 0) >= 1, 2000, 'LE Create Connection Cancel');
    // bleno polls its adapter every second: keep it off until bleno has noticed, then switch it on again
    await waitFor(() => pad.bleno.state === 'poweredOff', 3000, 'bleno to see its adapter off');
    pad.controller.powerOn();
    await waitFor(() => pad.bleno.poweredOnCount >= 2, 5000, 'the pad to come back');
    // and the next attempt succeeds
    const conn = await world.transport.connect(pad.id, 3000);
    await conn.disconnect();
    expect(world.problems()).toEqual([]);
  });

  it('the adapter switched off is reported as poweredOff (after noble’s 1 s poll), tears the link down, and comes back poweredOn', async () => {
    const gun = world.byName('Pro');
    const conn = await world.transport.connect(gun.id, 3000);
    const reasons: string[] = [];
    conn.onDisconnect((r) => reasons.push(r));
    const states: string[] = [];
    const off = world.transport.onAdapterState((s) => states.push(s.state));
    world.central.powerOff();
    await waitFor(() => states.includes('poweredOff'), 3000, 'poweredOff');
    expect(reasons).toEqual(['Bluetooth was switched off']);
    await expect(conn.write(THERAGUN_SERVICE, THERAGUN_WRITE, speedFrame(0), true, 500)).rejects.toMatchObject({ code: 'disconnected' });
    world.central.powerOn();
    await waitFor(() => states.at(-1) === 'poweredOn', 3000, 'poweredOn again');
    off();
    // the peripheral lost its link by supervision timeout and advertises again: it can be found and connected
    await waitFor(() => !gun.bleno.connected, 3000, 'bleno to lose the link');
    await scanAll(world);
    const again = await world.transport.connect(gun.id, 3000);
    await again.disconnect();
    expect(world.problems()).toEqual([]);
  });

  it('a routine through the app core: the governor’s bytes reach the gun as noble’s own ATT Write Requests, and the stop ends it', async () => {
    const gun = world.byName('Pro');
    const core = await createCore({ dataDir: mkdtempSync(join(tmpdir(), 'unknot-hci-')), demo: false, timeScale: 1, host: 'browser', version: 'test', systemTransport: world.transport });
    const events: { event: string; payload: unknown }[] = [];
    core.attach({ id: 'ws:1', kind: 'ws', send: (event, payload) => events.push({ event, payload }) });
    const ok = async <T,>(channel: string, payload?: unknown): Promise<T> => {
      const r = await core.handle('ws:1', channel, payload);
      if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
      return r.result as T;
    };
    try {
      await ok('screening.set', { answers: { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false } });
      await ok('settings.set', { doctorNoticeAcknowledged: true });
      await ok('scan.start');
      await waitFor(() => {
        const last = [...events].reverse().find((e) => e.event === 'scan.results')?.payload as ScanResults | undefined;
        return !!last?.devices.some((d) => d.peripheralId === gun.id);
      }, 5000, 'the gun in the scan results');
      await ok('device.connect', { peripheralId: gun.id });
      const from = gun.bleno.writes().length;
      world.link.clearTrace();
      const s = await ok<{ sessionId: string }>('session.start', { muscleGroup: 'upper-back', plannedMotorSeconds: 60 });
      const hb = setInterval(() => void core.handle('ws:1', 'session.heartbeat', { sessionId: s.sessionId }), 300);
      try {
        await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.3, motion: 'circular' });
        await waitFor(() => Number(gun.sim.state().rpm) > 0, 5000, 'the gun to run');
        await ok('session.setStep', { sessionId: s.sessionId, intensity: 0.5, motion: 'on-knot' });
        await waitFor(() => Number(gun.sim.state().rpm) >= 1808, 5000, 'the second step');
        await ok('device.stop');
        await waitFor(() => Number(gun.sim.state().rpm) === 0, 5000, 'the gun to stop');
      } finally {
        clearInterval(hb);
      }
      const atGun = gun.bleno.writes().slice(from).map((w) => hex(w.bytes));
      // the speed frames the governor let through (ramped, capped at the 60% ceiling: 2169 rpm), then the stop
      const speeds = atGun.filter((h) => h.startsWith('aa') && h.slice(4, 8) === '0103').map((h) => parseInt(h.slice(8, 12), 16));
      expect(speeds.length).toBeGreaterThanOrEqual(2);
      expect(Math.max(...speeds)).toBeLessThanOrEqual(2169);
      expect(speeds).toContain(1808); // ceil(0.5 × 3616)
      expect(atGun).toContain('aa070103000003');
      // the same bytes in the central's trace, as ATT Write Requests noble built itself
      const onAir = attWrites(attPdus(world.link.trace(), 'central', 'host'));
      expect(onAir.map((w) => w.hex)).toEqual(atGun);
      expect(onAir.every((w) => w.opcode === ATT.writeRequest)).toBe(true);
      const stopAt = onAir.findIndex((w) => w.hex === 'aa070103000003');
      // after the stop, no speed above 0 was written
      const laterSpeeds = onAir.slice(stopAt + 1).filter((w) => w.hex.slice(4, 8) === '0103').map((w) => parseInt(w.hex.slice(8, 12), 16));
      expect(laterSpeeds.every((rpm) => rpm === 0)).toBe(true);
      expect(world.problems()).toEqual([]);
    } finally {
      await core.shutdown();
    }
  });
});
