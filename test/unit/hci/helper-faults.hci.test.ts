/**
 * Link faults through the Bluetooth helper process: the built helper
 * (`out/main/ble-helper.js`, unchanged) on noble's HCI binding over a virtual controller
 * its test preload planted, driven by the app core through the app's HelperTransport
 * over the JSON-line pipe. The cases are in `test/support/hci/link-faults.ts`; the same
 * run in-process in `faults.hci.test.ts`. Needs `npm run build`.
 */
import { describeLinkFaults } from '../../support/hci/link-faults';
import { startHelperOnVirtualController } from '../../support/hci/helper-rig';

describeLinkFaults('link faults through the Bluetooth helper (noble’s HCI binding in the helper, the app over the pipe)', async () => {
  const rig = await startHelperOnVirtualController({ sims: ['Pro'], connectionIntervalMs: 15 });
  return { transport: rig.transport, radio: rig.radio, dispose: () => rig.dispose() };
});
