/**
 * Theragun Gen 4 (Pro, Elite, Prime): a data-only protocol. Its facts and sources are the
 * profile `protocols/profiles/theragun.json`; the module is built from it by the profile
 * engine, and the hand-written simulator is `protocols/sim/theragun.ts`. This file only
 * names them for the code and tests that import the Theragun by name.
 */
import { createDecoder, profileFrame } from './profile';
import { builtInModule, builtInProfile } from './registry';
import type { DecodeResult, ProtocolModule } from './types';

export { firmwareNotification, simulateTheragun, statusNotification, type TheragunStatusFields } from './sim/theragun';

const profile = builtInProfile('theragun');
const variant = profile.gatt.variants[0]!;

/** The Theragun Gen 4 protocol module, built from its profile. */
export const theragun: ProtocolModule = builtInModule('theragun');
/** The gun's GATT service (found after connecting; not necessarily advertised). */
export const THERAGUN_SERVICE = variant.service;
/** Characteristic the app writes command frames to. */
export const THERAGUN_WRITE = variant.write;
/** Characteristic the gun notifies status and firmware replies on. */
export const THERAGUN_NOTIFY = variant.notify;
/** Write gap, ms (the profile's `writeGapMs`). */
export const THERAGUN_WRITE_GAP_MS = profile.writeGapMs;

/**
 * The set-speed frame `AA cs 01 03 rpmHi rpmLo 03` for `rpm` (0 stops), from the profile.
 * @throws RangeError when `rpm` does not fit 0..65535.
 */
export function speedFrame(rpm: number): Uint8Array {
  return profileFrame(profile, 'speed', { step: rpm });
}

/** Decodes one notification from the gun by its profile, without session state. Never throws. */
export function decodeTheragun(bytes: Uint8Array): DecodeResult {
  return createDecoder(profile)(bytes);
}
