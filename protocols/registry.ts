/**
 * The registry of device protocols (DESIGN §3): the one list the app consults to recognise
 * advertisements and to find a protocol by id. Every protocol is a device profile (JSON,
 * `protocols/profiles/`, validated by `profile/schema.ts`) turned into a module by the
 * profile engine. The built-in profiles are imported, so the bundler inlines them into
 * the main process, the browser host and the Bluetooth helper; they are validated when
 * this module loads (a broken one fails the start and every test).
 */
import { HOOKS } from './hooks';
import { moduleFromProfile, type ProfileHook } from './profile/engine';
import { simulateFromProfile } from './profile/generated-sim';
import { parseProfile, type DeviceProfile } from './profile/schema';
import jieliProfile from './profiles/jieli-ems.json';
import rongtaiProfile from './profiles/rongtai.json';
import theragunProfile from './profiles/theragun.json';
import { simulateJieli } from './sim/jieli';
import { simulateRongTai } from './sim/rongtai';
import { simulateTheragun } from './sim/theragun';
import type { Advertisement, Confidence, ProtocolModule, SimOptions, SimulatedPeripheral } from './types';

/** One protocol an advertisement may belong to. */
export interface Candidate {
  module: ProtocolModule;
  confidence: Confidence;
  /** Model name when the advertisement tells it. */
  model?: string;
}

/** A simulator factory. */
export type Simulate = (options?: SimOptions) => SimulatedPeripheral;

/** The built-in profiles as shipped (parsed JSON, not yet validated), in registration order. */
export const BUILT_IN_PROFILES: readonly unknown[] = [theragunProfile, rongtaiProfile, jieliProfile];

/**
 * The hand-written simulators of the built-in profiles, by profile id (`protocols/sim/`).
 * A profile without one gets a simulator generated from its data (demo mode and UI tests
 * only), unless it names a hook, which data cannot simulate.
 */
export const HAND_WRITTEN_SIMULATORS: Readonly<Record<string, Simulate>> = {
  theragun: simulateTheragun,
  rongtai: simulateRongTai,
  'jieli-ems': simulateJieli,
};

/** A set of protocols built from profiles. */
export interface Registry {
  /** Every protocol, in registration order. */
  all(): readonly ProtocolModule[];
  /** The protocol with this id, or undefined. */
  get(id: string): ProtocolModule | undefined;
  /** The validated profile behind a protocol, or undefined. */
  profile(id: string): DeviceProfile | undefined;
  /**
   * The protocols an advertisement may belong to, `strong` matches first (registration
   * order within a confidence). Empty when none matches. Never throws.
   */
  identify(adv: Advertisement): Candidate[];
  /** One simulated peripheral per protocol that has a simulator (demo mode's default set). */
  simulateAll(): SimulatedPeripheral[];
}

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  /** Hand-written simulators by profile id (default: {@link HAND_WRITTEN_SIMULATORS}). */
  simulators?: Readonly<Record<string, Simulate>>;
  /** Hooks by name (default: every hook in `protocols/hooks/`). */
  hooks?: Readonly<Record<string, ProfileHook>>;
}

/**
 * Builds a registry from profiles (parsed JSON, in order).
 * @throws ProfileError for a profile that is not valid, Error for two profiles with one id
 * or a profile naming an unknown hook.
 */
export function createRegistry(profiles: readonly unknown[], options: RegistryOptions = {}): Registry {
  const simulators = options.simulators ?? HAND_WRITTEN_SIMULATORS;
  const hooks = options.hooks ?? HOOKS;
  const parsed = profiles.map((p, i) => parseProfile(p, `profile #${i + 1}${typeof (p as { id?: unknown })?.id === 'string' ? ` (${(p as { id: string }).id})` : ''}`));
  const byId = new Map<string, DeviceProfile>();
  for (const p of parsed) {
    if (byId.has(p.id)) throw new Error(`two profiles have the id ${p.id}`);
    byId.set(p.id, p);
  }
  const modules = parsed.map((p) => {
    const simulate: Simulate | undefined = Object.hasOwn(simulators, p.id)
      ? simulators[p.id]
      : p.hook === undefined
        ? (o) => simulateFromProfile(p, o)
        : undefined;
    return moduleFromProfile(p, simulate ? { simulate, hooks } : { hooks });
  });
  const simulated = parsed.filter((p) => Object.hasOwn(simulators, p.id) || p.hook === undefined).map((p) => p.id);
  return {
    all: () => modules,
    get: (id) => modules.find((m) => m.id === id),
    profile: (id) => byId.get(id),
    identify(adv) {
      const out: Candidate[] = [];
      for (const module of modules) {
        let match;
        try {
          match = module.identify(adv);
        } catch {
          continue;
        }
        if (!match) continue;
        const candidate: Candidate = { module, confidence: match.confidence };
        if (match.model !== undefined) candidate.model = match.model;
        out.push(candidate);
      }
      const rank = (c: Candidate): number => (c.confidence === 'strong' ? 0 : 1);
      return out.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map(({ c }) => c);
    },
    simulateAll: () => modules.filter((m) => simulated.includes(m.id)).map((m) => m.simulate()),
  };
}

/** The registry of the built-in profiles, built when this module loads. */
const BUILT_IN = createRegistry(BUILT_IN_PROFILES);

/** Every registered protocol module, in registration order. */
export function all(): readonly ProtocolModule[] {
  return BUILT_IN.all();
}

/** The module with this id, or undefined. */
export function get(id: string): ProtocolModule | undefined {
  return BUILT_IN.get(id);
}

/** The validated built-in profile with this id, or undefined. */
export function profile(id: string): DeviceProfile | undefined {
  return BUILT_IN.profile(id);
}

/**
 * The protocols an advertisement may belong to, `strong` matches first (registration
 * order within a confidence). Empty when none matches. Never throws: a module whose
 * `identify` throws is skipped.
 */
export function identify(adv: Advertisement): Candidate[] {
  return BUILT_IN.identify(adv);
}

/** Creates one simulated peripheral per registered protocol (demo mode's default set). */
export function simulateAll(): SimulatedPeripheral[] {
  return BUILT_IN.simulateAll();
}

/**
 * A built-in profile by id, validated.
 * @throws Error when there is none (a programming error: the ids are fixed).
 */
export function builtInProfile(id: string): DeviceProfile {
  const p = BUILT_IN.profile(id);
  if (!p) throw new Error(`no built-in profile ${id}`);
  return p;
}

/**
 * A built-in protocol module by id.
 * @throws Error when there is none.
 */
export function builtInModule(id: string): ProtocolModule {
  const m = BUILT_IN.get(id);
  if (!m) throw new Error(`no built-in protocol ${id}`);
  return m;
}
