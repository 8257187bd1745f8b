/**
 * Power and quit hooks: the motor never runs on while nobody can see or reach the app.
 * - `powerMonitor` 'suspend' and 'lock-screen' (macOS, Windows) → `core.stopAll('suspend')`;
 *   on Linux, where Electron has no 'lock-screen', the screen lock is polled once a second
 *   while a session exists (`powerMonitor.getSystemIdleState`, and `screenLocked`: the
 *   shell reads logind's `LockedHint`) and a lock stops the same way;
 * - 'shutdown' (Linux, macOS) → the shutdown is held (`preventDefault`), the stop starts
 *   and the app quits through 'before-quit';
 * - a window's 'query-session-end' / 'session-end' (Windows: shutdown, restart, log-off,
 *   where 'before-quit' is not emitted, electron/electron#9613) → `core.stopAll('app-quit')`;
 * - app 'before-quit' → the quit is held until `core.stopAll('app-quit')` and then
 *   `core.shutdown()` finished, each within a short cap, then the app quits for real;
 * - every catchable signal that would end the process (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 *   SIGUSR2, SIGALRM…) → the stop starts, then the app quits as above; Ctrl+Z (SIGTSTP,
 *   SIGTTIN, SIGTTOU) → every massager is stopped, its proof awaited, then the process
 *   stops itself (see {@link installSignalHandlers});
 * - while a session exists (running or paused), a `powerSaveBlocker`
 *   ('prevent-display-sleep') keeps the display awake and the app out of App Nap, so an
 *   idle auto-lock does not end a routine nobody touches the computer during.
 */
import type { App, BrowserWindow, PowerMonitor, PowerSaveBlocker } from 'electron';
import type { Core } from '../core/types';
import type { SessionEndReason } from '../ipc/contract';
// The browser host's signal lists and proof wait: both shells treat signals alike.
import { SUSPEND_SIGNALS, quitSignals, waitForStopProof } from '../host/signals';

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
  powerMonitor: Pick<PowerMonitor, 'on'> & Partial<Pick<PowerMonitor, 'getSystemIdleState'>>;
  core: Pick<Core, 'stopAll' | 'shutdown'> & Partial<Pick<Core, 'onRunningChange' | 'runningSummary'>>;
  /** Held while a session exists; without it nothing keeps the display awake. */
  powerSaveBlocker?: Pick<PowerSaveBlocker, 'start' | 'stop'>;
  /** The OS (`process.platform`); decides whether the screen lock is polled (Linux). */
  platform?: NodeJS.Platform;
  /** How often the Linux screen lock is polled while a session exists, ms (default 1000). */
  lockPollMs?: number;
  /**
   * Extra ways to tell a locked screen on Linux (the shell reads logind's `LockedHint`):
   * true when locked, null when it cannot tell. Asked together with
   * `powerMonitor.getSystemIdleState`; either saying locked stops.
   */
  screenLocked?: () => Promise<boolean | null>;
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
  /** Whether the power-save blocker is held now (a session exists). */
  keepingAwake(): boolean;
  /**
   * Hooks a window's Windows session-end events ('query-session-end', 'session-end'):
   * both stop every massager at once. Log-off is not held: stopping is enough.
   */
  watchWindow(win: Pick<BrowserWindow, 'on'>): void;
  /** Releases the blocker and the lock poll (at quit). */
  dispose(): void;
}

/** Installs the suspend, lock-screen, shutdown, before-quit and keep-awake hooks. */
export function installPowerHooks(options: PowerHookOptions): PowerHooks {
  const { app, powerMonitor, core } = options;
  const log = options.log ?? ((m: string, e?: unknown) => console.warn(`Unknot: ${m}`, e ?? ''));
  const cap = options.quitStepTimeoutMs ?? 3000;
  const stop = (reason: SessionEndReason, what: string) => (): void => safeStopAll(core, reason, what, log);
  powerMonitor.on('suspend', stop('suspend', 'suspend'));
  powerMonitor.on('lock-screen', stop('suspend', 'lock-screen'));
  // Electron passes an event whose preventDefault delays the shutdown (its typings omit
  // it; see shell/browser/api/electron_api_power_monitor.cc, `return !Emit("shutdown")`),
  // and then expects the app to quit soon: the stop starts now and 'before-quit' waits for it.
  const onShutdown = (event?: { preventDefault?: () => void }): void => {
    event?.preventDefault?.();
    safeStopAll(core, 'app-quit', 'shutdown', log);
    app.quit();
  };
  powerMonitor.on('shutdown', onShutdown as () => void);

  // Keep-awake and the Linux lock poll, while a session exists.
  let blockerId: number | null = null;
  let lockTimer: ReturnType<typeof setInterval> | null = null;
  let locked = false;
  const pollLock = options.platform === 'linux';
  let checking = false;
  const idleSaysLocked = (): boolean => {
    if (typeof powerMonitor.getSystemIdleState !== 'function') return false;
    try {
      return powerMonitor.getSystemIdleState(60) === 'locked';
    } catch (err) {
      log('could not read the screen lock state', err);
      return false;
    }
  };
  const checkLock = async (): Promise<void> => {
    if (checking) return; // the previous read is still out
    checking = true;
    try {
      let now = idleSaysLocked();
      if (!now && options.screenLocked) now = (await options.screenLocked().catch(() => null)) === true;
      if (now && !locked && lockTimer) safeStopAll(core, 'suspend', 'screen lock', log);
      locked = now;
    } finally {
      checking = false;
    }
  };  const follow = (summary: string | null): void => {
    const active = summary !== null;
    if (active && blockerId === null && options.powerSaveBlocker) {
      try {
        blockerId = options.powerSaveBlocker.start('prevent-display-sleep');
      } catch (err) {
        log('could not keep the display awake', err);
      }
    } else if (!active && blockerId !== null) {
      try {
        options.powerSaveBlocker?.stop(blockerId);
      } catch (err) {
        log('could not release the display', err);
      }
      blockerId = null;
    }
    if (active && pollLock && !lockTimer) {
      locked = false;
      lockTimer = setInterval(() => void checkLock(), options.lockPollMs ?? 1000);
      lockTimer.unref?.();
    } else if (!active && lockTimer) {
      clearInterval(lockTimer);
      lockTimer = null;
    }
  };
  const unsubscribe = core.onRunningChange?.(follow) ?? (() => undefined);
  follow(core.runningSummary?.() ?? null);

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
  const dispose = (): void => {
    unsubscribe();
    follow(null);
  };
  return {
    readyToQuit: () => done,
    quitting: () => sequence,
    keepingAwake: () => blockerId !== null,
    watchWindow(win) {
      win.on('query-session-end', stop('app-quit', 'the end of the Windows session'));
      win.on('session-end', stop('app-quit', 'the end of the Windows session'));
    },
    dispose,
  };
}

/**
 * The signals that quit the app: Ctrl+C, `kill`, a closed terminal or ended login session,
 * and every other catchable signal whose default action would end the process
 * (`quitSignals` of the browser host: SIGQUIT, SIGUSR2, SIGALRM, SIGXCPU…).
 */
export const QUIT_SIGNALS: readonly NodeJS.Signals[] = quitSignals();

/** How long a suspend waits for the device's proof that it stopped before the process stops itself, ms. */
export const SUSPEND_PROOF_MS = 5000;

/** The process surface {@link installSignalHandlers} needs (the real `process` by default). */
export type SignalProcess = Pick<NodeJS.Process, 'on' | 'removeListener'>;

/**
 * On each of {@link QUIT_SIGNALS}: starts `core.stopAll('app-quit')` at once, then calls
 * `quit` (the app's quit, held by 'before-quit' until the stop finished). On SIGTSTP,
 * SIGTTIN and SIGTTOU (Ctrl+Z, a background job touching the terminal), which would freeze
 * the process with the motor on and its watchdog frozen too: `core.stopAll('suspend')`,
 * then the device's proof is awaited (at most {@link SUSPEND_PROOF_MS}), then
 * `suspendSelf` (by default SIGSTOP to this process; SIGCONT carries on, the session
 * stays ended).
 *
 * noble's HCI binding adds its own SIGINT listener when it initialises (whenever the
 * first scan or adapter query happens) and calls `process.exit(1)` from it when it is the
 * *last* SIGINT listener, which would end the process before the stop reached the device.
 * So our listener keeps itself last: whenever another listener is added for one of these
 * signals, ours is moved behind it. Returns a function that removes the handlers.
 */
export function installSignalHandlers(
  proc: SignalProcess,
  core: Pick<Core, 'stopAll' | 'handle'>,
  quit: () => void,
  log: (message: string, error?: unknown) => void,
  suspendSelf: () => void = () => process.kill(process.pid, 'SIGSTOP'),
): () => void {
  const handlers = new Map<string, () => void>();
  for (const signal of QUIT_SIGNALS) {
    const handler = (): void => {
      log(`${signal} received; stopping every massager, then quitting`);
      safeStopAll(core, 'app-quit', signal, log);
      quit();
    };
    handlers.set(signal, handler);
    proc.on(signal, handler);
  }
  let suspending = false;
  for (const signal of SUSPEND_SIGNALS) {
    const handler = (): void => {
      if (suspending) return;
      suspending = true;
      void (async () => {
        try {
          // bounded: a stop that hangs must not keep the user's Ctrl+Z waiting for ever
          const cut = new Promise<void>((r) => setTimeout(r, SUSPEND_PROOF_MS + 3000).unref());
          await Promise.race([(async () => {
            await core.stopAll('suspend');
            await waitForStopProof(core, SUSPEND_PROOF_MS);
          })(), cut]);
        } catch (err) {
          log(`stop on ${signal} failed`, err);
        }
        suspending = false;
        suspendSelf();
      })();
    };
    handlers.set(signal, handler);
    proc.on(signal, handler);
  }
  const onNewListener = (event: string | symbol, listener: unknown): void => {
    if (typeof event !== 'string') return;
    const ours = handlers.get(event);
    if (!ours || listener === ours) return;
    // 'newListener' runs before the new listener is added: move ours behind it just after.
    queueMicrotask(() => {
      if (handlers.get(event) !== ours) return;
      proc.removeListener(event as NodeJS.Signals, ours);
      proc.on(event as NodeJS.Signals, ours);
    });
  };
  proc.on('newListener' as NodeJS.Signals, onNewListener as never);
  return () => {
    proc.removeListener('newListener' as NodeJS.Signals, onNewListener as never);
    for (const [signal, handler] of handlers) proc.removeListener(signal as NodeJS.Signals, handler);
    handlers.clear();
  };
}
