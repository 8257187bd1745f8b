/**
 * The simulated JieLi EMS pad over noble's real HCI binding (in its own process: noble is
 * one per process), served by bleno on a virtual controller.
 */
import { jieli, jieliLevelFrame } from '../../../protocols/jieli';
import { describeHciDevice } from '../../support/hci/device-suite';

describeHciDevice({
  protocol: jieli,
  localName: 'hy1',
  routine: [
    { type: 'setIntensity', value: 0.1 },
    { type: 'setIntensity', value: 0.2 },
  ],
  // the current app's stop: level 0 (DESIGN §3)
  stopHex: Buffer.from(jieliLevelFrame(0)).toString('hex'),
  running: (s) => s.running === true,
});
