/**
 * Power and quit hooks: the motor never runs on while nobody can see or reach the app.
 * - `powerMonitor` 'suspend' and 'lock-screen' → `core.stopAll('suspend')`;
 * - 'shutdown' (the OS is shutting down) → `core.stopAll('app-quit')`;
 * - app 'before-quit' → the quit is held until `core.stopAll('app-quit')` and then
 *   `core.shutdown()` finished, each within a short cap, then the app quits for real.
 */
import type { App, PowerMonitor } from 'electron';
import type { Core } from '../core/types';
import type { SessionEndReason } from '../ipc/contract';

/**
 * Calls `core.stopAll(reason)` at once (synchronously, no microtask in between) and
 * reports a failure or a synchronous throw through `log` instead of letting it escape.
 */
export function safeStopAll(
  core: Pick<Core, 'stopAll'>,
  reason: SessionEndReason,
  what: string,
  log: (message: string, error?: unknown) => void,
): void {
  try {
    core.stopAll(reason).catch((err: unknown) => log(`stop on ${what} failed`, err));
  } catch (err) {
    log(`stop on ${what} failed`, err);
  }
}

/** Dependencies of {@link installPowerHooks}. */
export interface PowerHookOptions {
  app: Pick<App, 'on' | 'quit'>;
  powerMonitor: Pick<PowerMonitor, 'on'>;
  core: Pick<Core, 'stopAll' | 'shutdown'>;
  /** Cap on each of stopAll and shutdown during quit, ms (default 3000). */
  quitStepTimeoutMs?: number;
  /** Called once the quit sequence finished, just before the real quit (cleanup of tray, shortcut…). */
  beforeExit?: () => void;
  log?: (message: string, error?: unknown) => void;
}

/** Resolves when `promise` settles or after `ms`, whichever first; true when it settled in time. */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

/** What {@link installPowerHooks} returns. */
export interface PowerHooks {
  /** Whether the quit sequence has finished (the next quit goes through). */
  readyToQuit(): boolean;
  /** The running quit sequence, if any (tests await it). */
  quitting(): Promise<void> | null;
}

/** Installs the suspend, lock-screen, shutdown and before-quit hooks. */
export function installPowerHooks(options: PowerHookOptions): PowerHooks {
  const { app, powerMonitor, core } = options;
  const log = options.log ?? ((m: string, e?: unknown) => console.warn(`Unknot: ${m}`, e ?? ''));
  const cap = options.quitStepTimeoutMs ?? 3000;
  const stop = (reason: SessionEndReason, what: string) => (): void => safeStopAll(core, reason, what, log);
  powerMonitor.on('suspend', stop('suspend', 'suspend'));
  powerMonitor.on('lock-screen', stop('suspend', 'lock-screen'));
  powerMonitor.on('shutdown', stop('app-quit', 'shutdown'));

  let done = false;
  let sequence: Promise<void> | null = null;
  app.on('before-quit', (event) => {
    if (done) return;
    event.preventDefault();
    if (sequence) return;
    sequence = (async () => {
      if (!(await settleWithin(Promise.resolve().then(() => core.stopAll('app-quit')), cap))) log(`stopping the massagers took over ${cap} ms; quitting anyway`);
      if (!(await settleWithin(Promise.resolve().then(() => core.shutdown()), cap))) log(`shutting down took over ${cap} ms; quitting anyway`);
      done = true;
      try {
        options.beforeExit?.();
      } catch (err) {
        log('cleanup before quit failed', err);
      }
      app.quit();
    })();
  });
  return { readyToQuit: () => done, quitting: () => sequence };
}
