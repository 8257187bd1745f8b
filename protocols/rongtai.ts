/**
 * RongTai / Infinity massage chairs (`RT8600S`, `EVOLUTION-…`): a profile plus its power-rule
 * hook. The facts and sources are the profile `protocols/profiles/rongtai.json` (names,
 * GATT variants, keys, status layout, checksum); the power rule, which data cannot say, is
 * the hook `protocols/hooks/rongtai-power.ts`; the hand-written simulator is
 * `protocols/sim/rongtai.ts`. This file only names them for the code and tests that import
 * the chair by name.
 */
import { createDecoder } from './profile';
import { builtInModule, builtInProfile } from './registry';
import type { DeviceStatus, ProtocolModule } from './types';

export {
  RONGTAI_BY_HAND_NOTICE,
  RONGTAI_POWER_ON_DELAY_MS,
  RONGTAI_RESETTING_NOTICE,
  RONGTAI_STATUS_FRESH_MS,
  RONGTAI_STOP_GRACE_MS,
  RONGTAI_STOP_NOTICE,
  RONGTAI_STOP_RETRY_MS,
  RONGTAI_WAIT_STATUS_NOTICE,
} from './hooks/rongtai-power';
export {
  RONGTAI_NOTIFY,
  RONGTAI_SERVICE,
  RONGTAI_SIM_RESET_MS,
  RONGTAI_SIM_STATUS_MS,
  RONGTAI_WRITE_83,
  RONGTAI_WRITE_84,
  parseCommandFrame,
  simulateRongTai,
  statusFrame,
  type RongTaiStatusFields,
} from './sim/rongtai';

const profile = builtInProfile('rongtai');

/** The RongTai / Infinity chair protocol module, built from its profile and hook. */
export const rongtai: ProtocolModule = builtInModule('rongtai');

/** Reads one 17-byte status frame by the profile; undefined when its length, markers or checksum are wrong. Never throws. */
export function parseStatusFrame(bytes: Uint8Array): DeviceStatus | undefined {
  const r = createDecoder(profile)(bytes);
  return r.kind === 'status' ? r.status : undefined;
}
