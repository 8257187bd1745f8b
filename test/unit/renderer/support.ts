/**
 * Shared pieces of the renderer tests. A controller bridge over a fake preload object (`window.unknot`-shaped: camel-case
 * methods answering `{ ok, result }` or `{ ok: false, error }`), with the bridge client's
 * semantics (api.ts): a refusal throws a BridgeError with its code, a channel the fake
 * lacks is refused as `unknown-channel`, `tryCall` answers null for either. Events and the
 * link state are not simulated (the controllers under test are not `init()`ed).
 */
import { BridgeError } from '../../../renderer/src/api';
import type { Bridge } from '../../../renderer/src/controller';
import type { ErrorCode } from '../../../renderer/src/contract';
import type { Run } from '../../../renderer/src/run';

type Reply = { ok: true; result: unknown } | { ok: false; error?: { code?: ErrorCode; message?: string } };

const camel = (channel: string): string => channel.replace(/\.([a-z])/g, (_m, x: string) => x.toUpperCase());

/** A {@link Bridge} whose requests go to `unknot[camelCase(channel)](payload)`. */
export function bridgeOver(unknot: Record<string, unknown>): Bridge {
  const call = async (channel: string, payload?: unknown): Promise<unknown> => {
    const fn = unknot[camel(channel)] as ((p: unknown) => Promise<Reply>) | undefined;
    if (typeof fn !== 'function') throw new BridgeError('unknown-channel', `Unknown channel ${channel}`);
    const reply = await fn(payload ?? {});
    if (reply.ok) return reply.result;
    throw new BridgeError(reply.error?.code ?? 'internal', reply.error?.message ?? 'Refused.');
  };
  const tryCall = async (channel: string, payload?: unknown): Promise<unknown> => {
    try {
      return await call(channel, payload);
    } catch {
      return null;
    }
  };
  return {
    call: call as Bridge['call'],
    tryCall: tryCall as Bridge['tryCall'],
    on: () => () => {},
    onLinkState: () => () => {},
  };
}

type KeysOfUnion<T> = T extends unknown ? keyof T : never;
type ValueOfUnion<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

/** A run with every field of every phase optional: for reading any field in an assertion. */
export type LooseRun = { [K in KeysOfUnion<Run>]?: ValueOfUnion<Run, K> };

/** `run`, typed so that a test can read any phase's fields without narrowing first. */
export const loose = (run: Run | null): LooseRun | null => run;
