/**
 * The registry of protocol modules (DESIGN §3): the one list the app consults to
 * recognise advertisements and to find a module by id.
 */
import { jieli } from './jieli';
import { rongtai } from './rongtai';
import { theragun } from './theragun';
import type { Advertisement, Confidence, ProtocolModule } from './types';

/** One protocol an advertisement may belong to. */
export interface Candidate {
  module: ProtocolModule;
  confidence: Confidence;
  /** Model name when the advertisement tells it. */
  model?: string;
}

const MODULES: ProtocolModule[] = [theragun, rongtai, jieli];

/** Every registered protocol module, in registration order. */
export function all(): readonly ProtocolModule[] {
  return MODULES;
}

/** The module with this id, or undefined. */
export function get(id: string): ProtocolModule | undefined {
  return MODULES.find((m) => m.id === id);
}

/**
 * The protocols an advertisement may belong to, `strong` matches first (registration
 * order within a confidence). Empty when none matches. Never throws: a module whose
 * `identify` throws is skipped.
 */
export function identify(adv: Advertisement): Candidate[] {
  const out: Candidate[] = [];
  for (const module of MODULES) {
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
}

/** Creates one simulated peripheral per registered protocol (demo mode's default set). */
export function simulateAll(): ReturnType<ProtocolModule['simulate']>[] {
  return MODULES.map((m) => m.simulate());
}
