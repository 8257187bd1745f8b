/**
 * The HCI-level suite for one simulated device: noble's real HCI binding, through the
 * app's own transport and device link, against the device's simulator served by bleno on
 * a virtual controller (the other simulated devices advertise beside it). One call per
 * test file: noble is one per process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLink } from '../../../electron/device/link';
import type { LinkInfo } from '../../../electron/device/link';
import type { DiscoveredPeripheral } from '../../../electron/ble/types';
import { identify, simulateAll } from '../../../protocols/registry';
import type { Command, DeviceStatus, ProtocolModule } from '../../../protocols/types';
import { ATT, attPdus, attWrites } from './att-trace';
import { hciWorld } from './hci-world';
import type { HciPeripheral, HciWorld } from './hci-world';

/** What the suite needs to know of the device under test. */
export interface HciDeviceSpec {
  protocol: ProtocolModule;
  /** Its simulator's local name (the simulators of `simulateAll()` all advertise). */
  localName: string;
  /** Commands of a short routine, sent in order through the device link. */
  routine: Command[];
  /** When given: the exact hex of every write the routine must put on the wire, in order. */
  routineHex?: string[];
  /** The device's stop bytes, when they do not depend on its state (the gun, the pad). */
  stopHex?: string;
  /** Whether the simulator says its motor runs. */
  running(state: Record<string, number | string | boolean>): boolean;
}

const waitFor = async (predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> => {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Scans until every peripheral of the world was heard twice; resolves to what was heard. */
export async function scanAll(world: HciWorld): Promise<DiscoveredPeripheral[]> {
  const heard: DiscoveredPeripheral[] = [];
  await world.transport.startScan((p) => heard.push(p));
  await waitFor(() => world.peripherals.every((x) => heard.filter((h) => h.id === x.id).length >= 2), 5000, 'every peripheral twice');
  await world.transport.stopScan();
  return heard;
}

/** Registers the suite for `spec`. */
export function describeHciDevice(spec: HciDeviceSpec): void {
  describe(`${spec.protocol.displayName} over noble's HCI binding, served by bleno on a virtual controller (30 ms connection interval)`, () => {
    let world: HciWorld;
    let dut: HciPeripheral;
    let link: DeviceLink;
    let info: LinkInfo;
    const statuses: DeviceStatus[] = [];
    const wrote: { hex: string; withResponse: boolean }[] = [];

    beforeAll(() => {
      world = hciWorld({ sims: simulateAll(), link: { connectionIntervalMs: 30 } });
      dut = world.byName(spec.localName);
    });
    afterAll(async () => {
      await link?.disconnect({ stopFirst: false }).catch(() => undefined);
      await world?.dispose();
    });

    it('the adapter comes up as poweredOn through the app’s system transport (noble’s HCI binding, no Reset in raw mode)', async () => {
      await waitFor(() => world.transport.adapterState().state === 'poweredOn', 5000, 'poweredOn');
      expect(world.transport.name).toBe('noble');
      expect(world.transport.adapterState()).toEqual({ state: 'poweredOn', message: 'Bluetooth is on.', hint: '' });
      expect(world.central.commandCounts.get('leSetScanParameters')).toBeGreaterThanOrEqual(1);
      expect(world.central.commandCounts.has('reset')).toBe(false);
      expect(world.problems()).toEqual([]);
    });

    it('a scan lists each advertising device once, with its name, RSSI and what identifies its protocol', async () => {
      const heard = await scanAll(world);
      const ids = [...new Set(heard.map((h) => h.id))].sort();
      expect(ids).toEqual(world.peripherals.map((p) => p.id).sort());
      const mine = heard.filter((h) => h.id === dut.id);
      const last = mine.at(-1)!;
      expect(last.localName).toBe(spec.localName);
      expect(last.address).toBe(dut.address);
      expect(last.simulated).toBe(false);
      expect(last.rssi).toBe(dut.sim.rssi);
      expect(identify(last.advertisement)[0]?.module.id).toBe(spec.protocol.id);
      expect(world.problems()).toEqual([]);
    });

    it('the device link connects, discovers the protocol’s services, and noble negotiates an ATT MTU of 256', async () => {
      link = new DeviceLink({ transport: world.transport, peripheralId: dut.id, protocol: spec.protocol, localName: spec.localName, reconnect: { initialDelayMs: 100 } });
      link.on('status', (s) => statuses.push(s));
      link.on('wrote', (w) => wrote.push({ hex: hexOf(w.bytes), withResponse: w.withResponse }));
      info = await link.connect();
      expect(info.protocolId).toBe(spec.protocol.id);
      for (const s of spec.protocol.services.filter((u) => dut.sim.services.some((x) => x.uuid === u))) expect(info.services.has(s)).toBe(true);
      // noble asks for 256 right after connecting; bleno grants it
      const fromNoble = attPdus(world.link.trace(), 'central', 'host');
      expect(hexOf(fromNoble.find((p) => p.opcode === ATT.mtuRequest)!.bytes)).toBe('020001');
      expect(info.mtu).toBe(256);
      expect(dut.bleno.connected).toBe(true);
      expect(world.problems()).toEqual([]);
    });

    it('a routine’s writes reach the device byte for byte, as noble’s own ATT requests of the write type the protocol declares', async () => {
      const fromWrites = dut.bleno.writes().length;
      const fromWrote = wrote.length;
      world.link.clearTrace();
      for (const command of spec.routine) await link.send(command);
      await sleep(100);
      const atDevice = dut.bleno.writes().slice(fromWrites).map((w) => ({ hex: hexOf(w.bytes), withResponse: w.withResponse }));
      expect(atDevice.length).toBeGreaterThan(0);
      expect(atDevice).toEqual(wrote.slice(fromWrote));
      if (spec.routineHex) expect(atDevice.map((w) => w.hex)).toEqual(spec.routineHex);
      // in noble's ATT traffic: a Write Request for each write with response, a Write Command for each without
      const onAir = attWrites(attPdus(world.link.trace(), 'central', 'host')).map((w) => ({ hex: w.hex, withResponse: w.opcode === ATT.writeRequest }));
      expect(onAir).toEqual(atDevice);
      expect(spec.running(dut.sim.state())).toBe(true);
      expect(world.problems()).toEqual([]);
    });

    it('the device’s notifications reach the link, each decoded once', async () => {
      await waitFor(() => statuses.some((s) => s.running !== undefined || s.level !== undefined), 5000, 'a status from the device');
      const notifications = attPdus(world.link.trace(), 'central', 'controller').filter((p) => p.opcode === ATT.notification).length;
      expect(notifications).toBeGreaterThan(0);
      expect(world.problems()).toEqual([]);
    });

    it('a stop overtakes the writes queued before it and the motor stops', async () => {
      const from = dut.bleno.writes().length;
      const queued = [0.2, 0.25, 0.3, 0.35].map((v) => link.setIntensity(v));
      const stopped = link.stop();
      const outcomes = await Promise.all(queued);
      expect(await stopped).toBe('written');
      // at most the write already in flight went ahead of the stop; the rest never reached the device
      expect(outcomes.filter((o) => o === 'written').length).toBeLessThanOrEqual(1);
      expect(outcomes.filter((o) => o === 'dropped' || o === 'superseded').length).toBeGreaterThanOrEqual(3);
      await waitFor(() => !spec.running(dut.sim.state()), 5000, 'the motor to stop');
      const after = dut.bleno.writes().slice(from).map((w) => hexOf(w.bytes));
      if (spec.stopHex) expect(after.indexOf(spec.stopHex)).toBeLessThanOrEqual(1);
      expect(world.problems()).toEqual([]);
    });

    it('after a dropped radio link it reconnects, and its first write is a stop', async () => {
      const fromWrote = wrote.length;
      const reconnected = new Promise<LinkInfo>((resolve) => link.on('reconnected', resolve));
      const reasons: string[] = [];
      link.on('disconnected', (d) => reasons.push(d.reason));
      expect(world.link.dropConnections(dut.controller)).toBe(1);
      const again = await reconnected;
      expect(reasons[0]).toContain('timed out');
      expect(again.mtu).toBe(256);
      if (spec.stopHex) expect(wrote[fromWrote]?.hex).toBe(spec.stopHex);
      expect(spec.running(dut.sim.state())).toBe(false);
      expect(world.problems()).toEqual([]);
    });

    it('closing the link closes the connection on both sides, with no protocol violation in the whole run', async () => {
      await link.disconnect();
      await waitFor(() => !dut.bleno.connected, 3000, 'bleno to see the disconnect');
      expect(world.link.openConnections()).toEqual([]);
      expect(world.link.violations()).toEqual([]);
      expect(world.problems()).toEqual([]);
    });
  });
}
