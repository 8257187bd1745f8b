/** Shared helpers for the protocol tests: a connection context built from a simulator's GATT table. */
import type { ConnectionContext, FoundCharacteristic, SimulatedPeripheral } from '../../../protocols/types';

/** A clock the tests move by hand. */
export interface FakeClock {
  now: () => number;
  advance(ms: number): void;
}

export function fakeClock(start = 1_000_000): FakeClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** The ConnectionContext discovery would produce for this simulated peripheral. */
export function contextFor(sim: SimulatedPeripheral, now: () => number = () => 0, model?: string): ConnectionContext {
  const services = new Map<string, FoundCharacteristic[]>();
  for (const s of sim.services) services.set(s.uuid, s.characteristics.map((c) => ({ uuid: c.uuid, properties: [...c.properties] })));
  const ctx: ConnectionContext = { localName: sim.localName, services, now };
  if (model !== undefined) ctx.model = model;
  return ctx;
}

/** Subscribes a central to the simulator's notifications; returns the collected frames. */
export function connectSim(sim: SimulatedPeripheral, notify: { service: string; characteristic: string }): Uint8Array[] {
  const received: Uint8Array[] = [];
  sim.setNotifier((service, characteristic, bytes) => {
    if (service === notify.service && characteristic === notify.characteristic) received.push(bytes);
  });
  sim.onSubscribe?.(notify.service, notify.characteristic, true);
  return received;
}
