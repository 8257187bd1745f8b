/**
 * Hooks by name: code for what a profile's data cannot say. A profile refers to one with
 * `"hook": "<name>"`; the engine then lets the hook build the connection's session.
 */
import type { ProfileHook } from '../profile/engine';
import { RONGTAI_POWER_RULE, rongtaiPowerRule } from './rongtai-power';

/** Every known hook. */
export const HOOKS: Readonly<Record<string, ProfileHook>> = { [RONGTAI_POWER_RULE]: rongtaiPowerRule };
