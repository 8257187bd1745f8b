/**
 * The test preload of the Bluetooth helper: `node --require <this, bundled> out/main/ble-helper.js`.
 * It runs before the helper's own code and builds a virtual Bluetooth world inside the
 * helper process — the virtual HCI socket planted in `require.cache` where noble's HCI
 * binding will require `@abandonware/bluetooth-hci-socket`, the link, the central's
 * controller (hci0, which noble opens), and the simulated peripherals on bleno — so the
 * shipped helper runs unchanged on noble's real HCI code. The helper has no switch for
 * this; only this preload reads its configuration, from `UNKNOT_TEST_HCI_WORLD` (JSON,
 * {@link HelperWorldConfig}), and connects to the test's radio-control socket.
 *
 * Everything it prints goes to stderr: the helper's stdout carries the pipe protocol.
 */
import { createConnection } from 'node:net';
import { simulateAll } from '../../../protocols/registry';
import { virtualWorld } from './hci-world';
import { HELPER_WORLD_ENV, serveRadioControl } from './radio-control';
import type { HelperWorldConfig } from './radio-control';

function start(): void {
  const raw = process.env[HELPER_WORLD_ENV];
  if (!raw) {
    process.stderr.write(`hci preload: ${HELPER_WORLD_ENV} is not set; nothing planted\n`);
    return;
  }
  const config = JSON.parse(raw) as HelperWorldConfig;
  const all = simulateAll();
  const sims = config.sims.map((name) => {
    const sim = all.find((s) => s.localName === name);
    if (!sim) throw new Error(`hci preload: no simulator named ${name}`);
    return sim;
  });
  const world = virtualWorld({ sims, link: { connectionIntervalMs: config.connectionIntervalMs ?? 30 } });
  const socket = createConnection(config.control);
  serveRadioControl(world, socket);
  process.stderr.write(`hci preload: virtual controller planted for ${config.sims.join(', ')} (pid ${process.pid})\n`);
}

start();
