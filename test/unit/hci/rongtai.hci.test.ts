/**
 * The simulated RongTai chair over noble's real HCI binding (in its own process: noble is
 * one per process), served by bleno on a virtual controller. Its stop is a power toggle
 * whose bytes depend on the chair's state, so the suite compares the wire with what the
 * link wrote instead of fixed bytes.
 */
import { rongtai } from '../../../protocols/rongtai';
import { describeHciDevice } from '../../support/hci/device-suite';

describeHciDevice({
  protocol: rongtai,
  localName: 'EVOLUTION-1',
  routine: [{ type: 'powerOn' }, { type: 'setIntensity', value: 0.3 }, { type: 'setMotion', motion: 'circular' }],
  running: (s) => s.runState === 'running' || s.powered === true,
});
