/**
 * JieLi "hy" EMS massager, protocol v2: a data-only protocol. Its facts and sources are the
 * profile `protocols/profiles/jieli-ems.json` (framing, reassembly, CRC, commands, the
 * stop steps, status layout); the module is built from it by the profile engine, and the
 * hand-written simulator is `protocols/sim/jieli.ts`. This file only names them for the
 * code and tests that import the pad by name.
 */
import { createDecoder, profileFrame } from './profile';
import { builtInModule, builtInProfile } from './registry';
import type { DecodeResult, ProtocolModule } from './types';

export {
  JIELI_CMD,
  JIELI_FROM_DEVICE,
  JIELI_LEVELS,
  JIELI_MAX_ZONE,
  JIELI_SIM_ACTIONS,
  JIELI_STATUS_PERIOD_MS,
  JIELI_TO_DEVICE,
  jieliFrame,
  jieliLegacyStartFrame,
  parseJieliFrame,
  simulateJieli,
  type JieliCrcOrder,
  type JieliFrame,
} from './sim/jieli';

const profile = builtInProfile('jieli-ems');

/** The JieLi "hy" EMS v2 protocol module, built from its profile. */
export const jieli: ProtocolModule = builtInModule('jieli-ems');
/** Write gap, ms (the profile's `writeGapMs`). */
export const JIELI_WRITE_GAP_MS = profile.writeGapMs;

/** The level frame (cmd 2) for `level`, from the profile. @throws RangeError when it does not fit a byte. */
export function jieliLevelFrame(level: number): Uint8Array {
  return profileFrame(profile, 'level', { step: level });
}

/** The timer frame (cmd 8, two bytes of seconds), from the profile. @throws RangeError when `seconds` does not fit 16 bits. */
export function jieliTimerFrame(seconds: number): Uint8Array {
  return profileFrame(profile, 'timer', { timer: seconds });
}

/** The first stop step of the profile: level 0. */
export function jieliStopFrame(): Uint8Array {
  return jieliLevelFrame(0);
}

/** The profile's second stop step: run state off (cmd 0x0B `00 00 00`). */
export function jieliRunStateOffFrame(): Uint8Array {
  return profileFrame(profile, 'runStateOff');
}

/** The profile's third stop step: the first app versions' cmd-0 stop. */
export function jieliLegacyStopFrame(): Uint8Array {
  return profileFrame(profile, 'legacyStop');
}

/** The heartbeat request (cmd 0x0A, empty body), from the profile. */
export function jieliHeartbeatRequestFrame(): Uint8Array {
  return profileFrame(profile, 'heartbeatRequest');
}

/** Decodes one notification by the profile on its own, without carrying bytes over to the next. Never throws. */
export function decodeJieli(bytes: Uint8Array): DecodeResult {
  return createDecoder(profile)(bytes);
}
