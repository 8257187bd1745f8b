/**
 * Which signals the browser host process treats as a request to quit or to suspend,
 * and the wait for a massager's proof that it stopped. Used by the host's entry point
 * (`./cli.ts`); the launcher (`scripts/start.mjs`) keeps its own copy of the lists (it
 * is plain JavaScript run before the build).
 */
import { constants } from 'node:os';
import type { Core } from '../core/types';
import type { DeviceStatusEvent } from '../ipc/contract';

/**
 * Signals whose default action ends the process and that Node lets a program catch,
 * by name. Each one goes through the host's quit (every massager stopped first).
 * Left out: SIGUSR1 (handled on its own: Node would open its inspector), SIGPIPE (Node
 * ignores it already), and SIGILL, SIGBUS, SIGFPE, SIGSEGV (raised by a fault in the
 * process itself, a handler that returns would run the faulting instruction again).
 * SIGKILL and SIGSTOP cannot be caught at all.
 */
const TERMINATING = [
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGQUIT',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGPWR',
  'SIGPOLL',
  'SIGIO',
  'SIGTRAP',
  'SIGSYS',
  'SIGSTKFLT',
  'SIGABRT',
] as const;

/** Job-control signals that stop the process by default: the host stops every massager first. */
export const SUSPEND_SIGNALS = ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const satisfies readonly NodeJS.Signals[];

/**
 * The terminating signals this platform has (by `os.constants.signals`), one name per
 * signal number (SIGPOLL and SIGIO are the same signal on Linux: only the first is kept).
 */
export function quitSignals(available: Record<string, number> = constants.signals): NodeJS.Signals[] {
  const seen = new Set<number>();
  const out: NodeJS.Signals[] = [];
  for (const name of TERMINATING) {
    const n = available[name];
    if (n === undefined || seen.has(n)) continue;
    seen.add(n);
    out.push(name as NodeJS.Signals);
  }
  return out;
}

/** How often {@link waitForStopProof} asks the core how the stop stands, ms. */
const PROOF_POLL_MS = 25;

/**
 * Resolves once the connected massager's latest stop has a verdict (confirmed by the
 * device, unconfirmed after every repeat, or one it cannot confirm), when no massager is
 * connected or the link is down (nothing more can be written), or after `maxMs`
 * milliseconds, whichever comes first. Asks the core's own `device.get` (connection id
 * `host:signals`); never rejects.
 * @returns the device status it ended on (`null` when the core did not answer).
 */
export async function waitForStopProof(core: Pick<Core, 'handle'>, maxMs: number): Promise<DeviceStatusEvent | null> {
  const end = Date.now() + maxMs;
  for (;;) {
    let status: DeviceStatusEvent | null = null;
    try {
      const reply = await core.handle('host:signals', 'device.get', undefined);
      if (reply.ok) status = reply.result as DeviceStatusEvent;
    } catch {
      status = null;
    }
    if (!status || status.connection !== 'connected' || status.stop?.state !== 'waiting') return status;
    if (Date.now() >= end) return status;
    await new Promise((r) => setTimeout(r, PROOF_POLL_MS));
  }
}
