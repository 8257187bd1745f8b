import { afterEach, describe, expect, it } from 'vitest';
import { GattError } from '../../../electron/ble/types';
import type { DiscoveredPeripheral, GattConnection } from '../../../electron/ble/types';
import { describeAdapterState, describeDisconnectReason } from '../../../electron/ble/noble-transport';
import type { NoblePeripheralLike } from '../../../electron/ble/noble-transport';
import { simulateJieli } from '../../../protocols/jieli';
import { identify } from '../../../protocols/registry';
import type { Advertisement } from '../../../protocols/types';
import { hear, hex, listenerCounts, simWorld, sleep, waitFor } from './sim-world';
import type { SimWorld } from './sim-world';

let world: SimWorld | undefined;
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});

async function connectGun(w: SimWorld, timeoutMs = 2000): Promise<GattConnection> {
  await hear(w.transport, w.gunId);
  return w.transport.connect(w.gunId, timeoutMs);
}

function noblePeripheral(w: SimWorld, id: string): NoblePeripheralLike {
  return (w.noble as unknown as { _peripherals: Record<string, NoblePeripheralLike> })._peripherals[id] as NoblePeripheralLike;
}

describe('NobleTransport on the simulated radio (real noble classes)', () => {
  it('reports the adapter powered on once noble has initialised the radio', async () => {
    world = simWorld();
    expect(world.transport.name).toBe('simulated');
    await waitFor(() => world!.transport.adapterState().state === 'poweredOn');
    expect(world.transport.adapterState()).toEqual({ state: 'poweredOn', message: 'Bluetooth is on.', hint: '' });
  });

  it('finds the simulated Theragun Pro, marked simulated, with RSSI updates (duplicates allowed)', async () => {
    world = simWorld();
    const heard: DiscoveredPeripheral[] = [];
    await world.transport.startScan((p) => heard.push(p));
    await waitFor(() => heard.filter((p) => p.id === 'sim-theragun-pro').length >= 3, 3000, 'three advertisements');
    await world.transport.stopScan();
    const gun = heard.find((p) => p.id === 'sim-theragun-pro')!;
    expect(gun.localName).toBe('Pro');
    expect(gun.simulated).toBe(true);
    expect(gun.advertisement).toEqual({ localName: 'Pro', serviceUuids: [] });
    expect(gun.rssi).toBeGreaterThanOrEqual(-58);
    expect(gun.rssi).toBeLessThanOrEqual(-52);
    expect(typeof gun.lastSeenMs).toBe('number');
    // after stopScan no more discoveries reach us
    const count = heard.length;
    await sleep(80);
    expect(heard.length).toBe(count);
  });

  it('passes service data through, so an EMS pad advertising 68 79 only there is recognised', async () => {
    world = simWorld();
    const pad = simulateJieli({ address: 'sim-pad-sd' });
    // No name and no manufacturer data: the "hy" bytes come in service data alone.
    (pad as { advertisement: Advertisement }).advertisement = {
      serviceUuids: ['ffe0'],
      serviceData: [{ uuid: 'ffe0', data: Uint8Array.of(0x68, 0x79, 0x31, 0x41, 0xde, 0xad, 0xbe, 0xef) }],
    };
    world.radio.addPeripheral(pad);
    const heard: DiscoveredPeripheral[] = [];
    await world.transport.startScan((p) => heard.push(p));
    await waitFor(() => heard.some((p) => p.id === 'sim-pad-sd'), 3000, 'the pad');
    await world.transport.stopScan();
    const found = heard.find((p) => p.id === 'sim-pad-sd')!;
    expect(found.advertisement.serviceData).toEqual([{ uuid: 'ffe0', data: Uint8Array.of(0x68, 0x79, 0x31, 0x41, 0xde, 0xad, 0xbe, 0xef) }]);
    expect(identify(found.advertisement).map((c) => [c.module.id, c.confidence])).toEqual([['jieli-ems', 'strong']]);
  });

  it('connects, discovers services and characteristics, reads the battery', async () => {
    world = simWorld();
    const conn = await connectGun(world);
    expect(conn.id).toBe('sim-theragun-pro');
    const services = await conn.discover(['ffe0', '180f', '180a'], 2000);
    expect([...services.keys()].sort()).toEqual(['180f', 'ffe0']);
    expect(services.get('ffe0')).toEqual([
      { uuid: 'ffe1', properties: ['notify'] },
      { uuid: 'ffe2', properties: ['write', 'writeWithoutResponse'] },
    ]);
    expect(await conn.read('180f', '2a19', 1000)).toEqual(Uint8Array.of(80));
    await waitFor(() => conn.mtu === 23);
  });

  it('a speed write arrives at the simulator as the exact bytes', async () => {
    world = simWorld();
    const conn = await connectGun(world);
    await conn.discover(['ffe0'], 2000);
    await conn.write('ffe0', 'ffe2', Uint8Array.from([0xaa, 0xe3, 0x01, 0x03, 0x06, 0xd6, 0x03]), true, 1000);
    const log = world.radio.writes(world.gunId);
    expect(log).toHaveLength(1);
    expect(hex(log[0]!.bytes)).toBe('AA E3 01 03 06 D6 03');
    expect(log[0]).toMatchObject({ service: 'ffe0', characteristic: 'ffe2', withResponse: true, accepted: true });
    expect(world.gun.state().rpm).toBe(1750);
  });

  it('delivers each notification exactly once to the subscriber', async () => {
    world = simWorld();
    const conn = await connectGun(world);
    await conn.discover(['ffe0'], 2000);
    const got: Uint8Array[] = [];
    await conn.subscribe('ffe0', 'ffe1', (b) => got.push(b), 1000);
    world.gun.act!('button-max');
    await waitFor(() => got.length >= 1);
    await sleep(30);
    expect(got).toHaveLength(1);
    expect(got[0]![0]).toBe(0xbb);
    expect((got[0]![13]! << 8) | got[0]![14]!).toBe(3616);
  });

  it('a write with no answer times out with a clear error and the link is torn down', async () => {
    world = simWorld();
    const conn = await connectGun(world);
    await conn.discover(['ffe0'], 2000);
    const reasons: string[] = [];
    conn.onDisconnect((r) => reasons.push(r));
    world.radio.inject(world.gunId, 'no-write-response');
    const t0 = Date.now();
    const error = await conn.write('ffe0', 'ffe2', Uint8Array.of(0xaa, 0x07, 0x01, 0x03, 0x00, 0x00, 0x03), true, 150).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GattError);
    expect((error as GattError).code).toBe('timeout');
    expect((error as GattError).message).toBe('A write got no answer within 150 ms; Unknot closed the link to the device.');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(reasons).toEqual(['a write timed out']);
    await waitFor(() => !world!.radio.isConnected(world!.gunId), 2000, 'the radio to see the link closed');
    // the write never reached the gun
    expect(world.radio.writes(world.gunId)).toHaveLength(0);
    // later operations fail at once
    await expect(conn.read('180f', '2a19', 1000)).rejects.toMatchObject({ code: 'disconnected' });
    expect(world.transport.listenerCount()).toBe(1); // only the transport's own stateChange listener
  });

  it('discovery with no answer times out and tears the link down', async () => {
    world = simWorld();
    const conn = await connectGun(world);
    world.radio.inject(world.gunId, 'no-discovery-response');
    await expect(conn.discover(['ffe0'], 120)).rejects.toMatchObject({ code: 'timeout', message: expect.stringContaining('Service discovery got no answer within 120 ms') });
    await waitFor(() => !world!.radio.isConnected(world!.gunId));
  });

  it('a pending write fails with "disconnected" when the link drops mid-write', async () => {
    world = simWorld();
    const conn = await connectGun(world);
    await conn.discover(['ffe0'], 2000);
    const reasons: string[] = [];
    conn.onDisconnect((r) => reasons.push(r));
    world.radio.inject(world.gunId, 'drop-link-mid-write');
    const error = await conn.write('ffe0', 'ffe2', Uint8Array.of(0xaa, 0x07, 0x01, 0x03, 0x00, 0x00, 0x03), true, 2000).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'disconnected' });
    expect(reasons).toEqual(['the connection timed out (the device went out of range, was switched off or its battery ran out)']);
    expect(world.radio.writes(world.gunId)).toHaveLength(0);
  });

  it('connect times out when the peripheral stops advertising, and works again after resume-advertising', async () => {
    world = simWorld();
    await hear(world.transport, world.gunId);
    world.radio.inject(world.gunId, 'stop-advertising');
    await expect(world.transport.connect(world.gunId, 100)).rejects.toMatchObject({ code: 'timeout' });
    world.radio.inject(world.gunId, 'resume-advertising');
    const conn = await world.transport.connect(world.gunId, 1000);
    expect(world.radio.isConnected(world.gunId)).toBe(true);
    await conn.disconnect();
    expect(world.radio.isConnected(world.gunId)).toBe(false);
  });

  it('a refused connection rejects with "rejected"', async () => {
    world = simWorld();
    await hear(world.transport, world.gunId);
    world.radio.inject(world.gunId, 'refuse-connection');
    await expect(world.transport.connect(world.gunId, 1000)).rejects.toMatchObject({
      code: 'rejected',
      message: 'The device refused the connection (Connection Failed to be Established (0x3e)).',
    });
  });

  it('unknown peripherals are "not-found"', async () => {
    world = simWorld();
    await waitFor(() => world!.transport.adapterState().state === 'poweredOn');
    await expect(world.transport.connect('sim-nothing', 100)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('adapter off: links end with "adapter-off", scanning is refused with the hint; adapter on restores', async () => {
    world = simWorld();
    const conn = await connectGun(world);
    await conn.discover(['ffe0'], 2000);
    world.radio.inject(world.gunId, 'no-write-response'); // keep a write pending
    const pending = conn.write('ffe0', 'ffe2', Uint8Array.of(1), true, 5000).catch((e: unknown) => e);
    const states: string[] = [];
    world.transport.onAdapterState((s) => states.push(s.state));
    const reasons: string[] = [];
    conn.onDisconnect((r) => reasons.push(r));
    world.radio.inject(world.gunId, 'adapter-off');
    expect(await pending).toMatchObject({ code: 'adapter-off', message: 'Bluetooth was switched off; the link to the device is gone.' });
    expect(reasons).toEqual(['Bluetooth was switched off']);
    expect(world.transport.adapterState()).toEqual(describeAdapterState('poweredOff'));
    await expect(world.transport.startScan(() => undefined)).rejects.toMatchObject({ code: 'adapter-off', message: expect.stringContaining('Bluetooth is switched off.') });
    await expect(world.transport.connect(world.gunId, 500)).rejects.toMatchObject({ code: 'adapter-off' });
    world.radio.clearFaults();
    world.radio.inject(world.gunId, 'adapter-on');
    expect(states).toEqual(['poweredOff', 'poweredOn']);
    const again = await world.transport.connect(world.gunId, 1000);
    await again.discover(['ffe0'], 1000);
    await again.write('ffe0', 'ffe2', Uint8Array.of(0xaa, 0x07, 0x01, 0x03, 0x00, 0x00, 0x03), true, 1000);
    expect(world.radio.writes(world.gunId).map((r) => hex(r.bytes))).toEqual(['AA 07 01 03 00 00 03']);
  });

  it('listener counts on noble objects stay flat over 20 drop/reconnect cycles', async () => {
    world = simWorld();
    await hear(world.transport, world.gunId);
    const peripheral = noblePeripheral(world, world.gunId);
    const snapshot = (): unknown => ({
      noble: listenerCounts(world!.noble),
      radio: listenerCounts(world!.radio),
      peripheral: listenerCounts(peripheral),
      transport: world!.transport.listenerCount(),
    });
    let baseline: unknown;
    for (let i = 0; i < 20; i++) {
      const conn = await world.transport.connect(world.gunId, 1000);
      const services = await conn.discover(['ffe0', '180f'], 1000);
      expect(services.has('ffe0')).toBe(true);
      let notified = 0;
      await conn.subscribe('ffe0', 'ffe1', () => notified++, 1000);
      await conn.write('ffe0', 'ffe2', Uint8Array.of(0xaa, 0x10, 0x10, 0x00), true, 1000);
      await waitFor(() => notified >= 1);
      await sleep(10);
      expect(notified).toBe(1);
      const dropped = new Promise<string>((resolve) => conn.onDisconnect(resolve));
      world.radio.inject(world.gunId, 'drop-link');
      await dropped;
      const now = snapshot();
      if (i === 0) baseline = now;
      else expect(now).toEqual(baseline);
    }
    // while connected: one disconnect listener on the peripheral, three per discovered characteristic
    const conn = await world.transport.connect(world.gunId, 1000);
    await conn.discover(['ffe0'], 1000);
    expect(peripheral.listenerCount('disconnect')).toBe(1);
    expect(world.transport.listenerCount()).toBe(1 + 1 + 2 * 3);
    await conn.disconnect();
    expect(snapshot()).toEqual(baseline);
    expect(world.transport.listenerCount()).toBe(1);
  });
});

describe('adapter state texts', () => {
  it('gives Linux users the capability hint for unauthorized', () => {
    const s = describeAdapterState('unauthorized', 'linux');
    expect(s.message).toBe('Unknot is not allowed to use Bluetooth.');
    expect(s.hint).toContain('cap_net_raw');
    expect(describeAdapterState('unauthorized', 'darwin').hint).toContain('Privacy & Security');
  });

  it('explains unsupported, powered off and unavailable', () => {
    expect(describeAdapterState('unsupported').message).toContain('does not support Bluetooth Low Energy');
    expect(describeAdapterState('poweredOff').hint).toBe('Switch Bluetooth on in your system settings, then scan again.');
    expect(describeAdapterState('unavailable', 'linux', 'No socket.').message).toBe('No socket.');
  });

  it('turns HCI disconnect codes into sentences', () => {
    expect(describeDisconnectReason(0x13)).toBe('the device closed the connection');
    expect(describeDisconnectReason(0x3d)).toBe('the link dropped (HCI code 0x3d)');
  });
});
