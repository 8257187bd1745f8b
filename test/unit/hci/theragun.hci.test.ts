/**
 * The simulated Theragun Pro over noble's real HCI binding (in its own process: noble is
 * one per process), served by bleno on a virtual controller.
 */
import { speedFrame, theragun } from '../../../protocols/theragun';
import { describeHciDevice } from '../../support/hci/device-suite';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describeHciDevice({
  protocol: theragun,
  localName: 'Pro',
  // steps are rpm: ceil(0.3 × 3616) = 1085, ceil(0.45 × 3616) = 1628
  routine: [
    { type: 'setIntensity', value: 0.3 },
    { type: 'setIntensity', value: 0.45 },
  ],
  routineHex: [hex(speedFrame(1085)), hex(speedFrame(1628))],
  stopHex: 'aa070103000003',
  running: (s) => Number(s.rpm) > 0,
});
