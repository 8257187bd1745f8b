/** Standard Battery Service: the level is read on connecting and followed through its notifications. */
import withBindings from '@abandonware/noble/with-bindings';
import { afterEach, expect, it } from 'vitest';
import { NobleTransport, type NobleLike } from '../../../electron/ble/noble-transport';
import { SimRadio } from '../../../electron/ble/sim-radio';
import { DeviceLink } from '../../../electron/device/link';
import { BATTERY_LEVEL, BATTERY_SERVICE } from '../../../protocols/standard';
import { simulateTheragun, theragun } from '../../../protocols/theragun';
import type { DeviceStatus } from '../../../protocols/types';
import { hear, waitFor } from '../ble/sim-world';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

it('reads the battery on connecting, then follows battery notifications', async () => {
  const radio = new SimRadio({ latencyMs: 2, advertiseIntervalMs: 20 });
  const gun = simulateTheragun({ model: 'Pro' });
  let notify: ((service: string, characteristic: string, bytes: Uint8Array) => void) | undefined;
  const id = radio.addPeripheral({
    ...gun,
    setNotifier(fn) {
      notify = fn;
      gun.setNotifier(fn);
    },
  });
  const transport = new NobleTransport(withBindings(radio) as NobleLike, { simulated: true, disconnectWaitMs: 500 });
  await hear(transport, id);
  const link = new DeviceLink({ transport, peripheralId: id, protocol: theragun, localName: 'Pro' });
  cleanup = async () => {
    await link.disconnect({ stopFirst: false });
    await transport.dispose();
    radio.dispose();
  };
  const statuses: DeviceStatus[] = [];
  link.on('status', (s) => statuses.push(s));
  const info = await link.connect();
  expect(info.batteryPercent).toBe(80);
  notify!(BATTERY_SERVICE, BATTERY_LEVEL, Uint8Array.of(42));
  await waitFor(() => statuses.some((s) => s.batteryPercent === 42));
  // an out-of-range level is not reported
  notify!(BATTERY_SERVICE, BATTERY_LEVEL, Uint8Array.of(250));
  await new Promise((r) => setTimeout(r, 50));
  expect(statuses.filter((s) => s.batteryPercent !== undefined).map((s) => s.batteryPercent)).toEqual([80, 42]);
});
