/**
 * Link faults in-process: noble's HCI binding in this process over a virtual controller,
 * driven by the app core through the app's NobleTransport. The cases are in
 * `test/support/hci/link-faults.ts`; the same run through the helper in
 * `helper-faults.hci.test.ts`.
 */
import { simulateAll } from '../../../protocols/registry';
import { describeLinkFaults } from '../../support/hci/link-faults';
import { hciWorld } from '../../support/hci/hci-world';
import { localRadio } from '../../support/hci/radio-control';

describeLinkFaults('link faults in-process (noble’s HCI binding in this process)', async () => {
  const world = hciWorld({ sims: simulateAll().filter((s) => s.localName === 'Pro'), link: { connectionIntervalMs: 15 } });
  return { transport: world.transport, radio: localRadio(world), dispose: () => world.dispose() };
});
