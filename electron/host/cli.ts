/**
 * Entry point of the browser host process (`out/main/host.js`): builds the app core
 * without Electron, serves the renderer on 127.0.0.1 and prints the address to open.
 * Every exit path Node can intercept (signals, the launcher's death, an uncaught
 * error) stops every massager before exiting; see {@link installExitPaths}.
 */
import { join } from 'node:path';
import { createCore } from '../core/app-core';
import { parseOptions } from '../core/options';
import { startBrowserHost } from './server';
import { SUSPEND_SIGNALS, quitSignals, waitForStopProof } from './signals';

async function main(): Promise<void> {
  // From the first moment: a signal during start-up still ends in an orderly way.
  const plan: ExitPlan = { stop: async () => undefined, suspend: async () => undefined };
  installExitPaths(plan);
  const options = parseOptions(process.argv.slice(2));
  for (const notice of options.notices) console.warn(`Unknot: ${notice}`);
  const version = process.env.npm_package_version ?? '0.1.0';
  const core = await createCore({
    dataDir: options.dataDir,
    demo: options.demo,
    timeScale: options.timeScale,
    host: 'browser',
    version,
  });
  plan.stop = async () => {
    await core.stopAll('app-quit');
    await core.shutdown();
  };
  plan.suspend = async () => {
    // The session ends (the user starts again after carrying on); the stop is the one
    // quit makes, and the device's proof is awaited as long as a quit would.
    await core.stopAll('suspend');
    await waitForStopProof(core, SUSPEND_PROOF_MS);
  };
  let host;
  try {
    host = await startBrowserHost({ core, rendererDir: join(__dirname, '..', 'renderer'), port: options.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    console.error(
      code === 'EADDRINUSE'
        ? `Unknot: port ${options.port} is already in use. Pick another with --port N, or leave it out to use a free one.`
        : `Unknot: could not start the browser host: ${(err as Error).message}`,
    );
    await core.shutdown();
    process.exit(1);
  }
  console.log(`Unknot is running. Open ${host.url}`);
  if (options.demo) console.log(`Unknot: demo mode — simulated devices are on${options.timeScale !== 1 ? `, routine time ×${options.timeScale}` : ''}.`);
  console.log(`Unknot: data folder ${options.dataDir}. Press Ctrl+C to stop (every massager is stopped first).`);

  const running = host;
  plan.stop = async () => {
    // Stop first; then let the device link wait (up to 2 s) for the device's proof
    // that it stopped while the browsers are still connected and see it; then close.
    await core.stopAll('app-quit');
    await core.shutdown();
    await running.close();
  };
}

/** What {@link installExitPaths} does on the way out; `stop` and `suspend` grow as the host comes up. */
interface ExitPlan {
  /** Stops every massager, flushes the store and closes the host. */
  stop: () => Promise<void>;
  /** Stops every massager (the running session ends) and waits for each one's proof, within {@link SUSPEND_PROOF_MS}. */
  suspend: () => Promise<void>;
}

/** After a quit request, the process exits after this many ms even when a stop hangs (each stop has its own GATT timeout). */
const QUIT_DEADLINE_MS = 8000;
/**
 * Before suspending itself, the host waits at most this many ms for the massager to
 * prove it stopped (the chair's proof takes up to 2 s); the whole stop is cut off at
 * {@link QUIT_DEADLINE_MS} like a quit's.
 */
const SUSPEND_PROOF_MS = 5000;
/** A suspend request from the launcher older than this (ns, monotonic clock) is spent: see {@link installExitPaths}. */
const STALE_SUSPEND_REQUEST_NS = 1_000_000_000n;

/**
 * Every way out that Node lets a process intercept goes through one quit: every signal
 * whose default action ends the process and that can be caught ({@link quitSignals}:
 * SIGINT from Ctrl+C, SIGTERM, SIGHUP when the terminal closes, SIGQUIT, SIGUSR2,
 * SIGALRM, SIGXCPU…), the launcher's death (its IPC channel closes, or this process is
 * re-parented), an uncaught exception and an unhandled rejection. Each stops every
 * massager first, then exits (status 0 for a signal or the launcher's death, 1 after an
 * error). SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (Node 20 has no flag to
 * turn that off); a listener of its own keeps it closed.
 *
 * Job control (SIGTSTP from Ctrl+Z, SIGTTIN, SIGTTOU, or the launcher's `suspend`
 * message) would freeze the process with the motor on, the watchdog frozen with it:
 * instead every massager is stopped (its proof awaited), then the process stops itself
 * with SIGSTOP. On SIGCONT it carries on; the session stopped stays ended. Nothing is
 * printed on this path: a process the shell put in the background that writes to the
 * terminal may get SIGTTOU again for every write.
 */
function installExitPaths(plan: ExitPlan): void {
  let quitting = false;
  const quit = (why: string, code: number): void => {
    if (quitting) return;
    quitting = true;
    say(`Unknot: ${why}; stopping every massager, then exiting.`);
    setTimeout(() => process.exit(code), QUIT_DEADLINE_MS).unref();
    void plan
      .stop()
      .catch((err: unknown) => say(`Unknot: while stopping: ${String(err)}`))
      .finally(() => process.exit(code));
  };
  // A closed terminal makes writes to it fail (EIO, EPIPE): never an exception of its own.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  for (const signal of quitSignals()) process.on(signal, () => quit(`${signal} received`, 0));
  process.on('SIGUSR1', () => say('Unknot: SIGUSR1 ignored (the inspector stays closed).'));

  let suspending: Promise<void> | null = null;
  /** When this process last carried on after stopping itself (`process.hrtime`, ns): older suspend requests are spent. */
  let resumedAt = 0n;
  const suspend = (): Promise<void> => {
    if (quitting) return Promise.resolve();
    suspending ??= (async () => {
      const cut = new Promise<void>((r) => setTimeout(r, QUIT_DEADLINE_MS).unref());
      await Promise.race([plan.suspend().catch(() => undefined), cut]);
      if (quitting) return;
      // The launcher waits for this before it stops itself; then this process stops.
      await tellLauncher({ unknot: 'suspended' });
      process.kill(process.pid, 'SIGSTOP');
      // Here only after SIGCONT.
      resumedAt = process.hrtime.bigint();
    })().finally(() => {
      suspending = null;
    });
    return suspending;
  };
  for (const signal of SUSPEND_SIGNALS) process.on(signal, () => void suspend());
  process.on('SIGCONT', () => {
    resumedAt = process.hrtime.bigint();
  });

  if (process.send) {
    // Started by the launcher with an IPC channel: it closes when the launcher dies.
    process.on('disconnect', () => quit('the launcher has gone away', 0));
    // The launcher got a job-control signal: it asks for the same suspend, stamped
    // with when it asked (a request older than the last resume was already served).
    process.on('message', (m: unknown) => {
      const msg = m as { unknot?: unknown; sentAt?: unknown } | null;
      if (!msg || msg.unknot !== 'suspend') return;
      let sentAt: bigint;
      try {
        sentAt = BigInt(String(msg.sentAt));
      } catch {
        sentAt = process.hrtime.bigint();
      }
      // A spent request (this process stopped and carried on since it was sent, or it is
      // older than a second: this process was stopped or starved meanwhile) is answered
      // `stale`: the launcher then carries on too instead of stopping after the user's `fg`.
      const now = process.hrtime.bigint();
      if (sentAt > resumedAt && now - sentAt < STALE_SUSPEND_REQUEST_NS) void suspend();
      else void tellLauncher({ unknot: 'suspended', stale: true });
    });
    process.channel?.unref();
  }
  if (process.env.UNKNOT_EXIT_WITH_PARENT === '1') {
    // Started by a launcher without a channel: when it goes away (killed outright), this process is re-parented.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) quit('the launcher has gone away', 0);
    }, 500).unref();
  }
  process.on('uncaughtException', (err) => {
    sayError('Unknot: unexpected error.', err);
    quit('after an unexpected error', 1);
  });
  process.on('unhandledRejection', (err) => {
    sayError('Unknot: unexpected error.', err);
    quit('after an unexpected error', 1);
  });
}

/** Sends `message` to the launcher over the IPC channel, if there is one; resolves once written (or after 1 s). Never rejects. */
function tellLauncher(message: object): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    const t = setTimeout(resolve, 1000);
    try {
      process.send(message, undefined, {}, () => {
        clearTimeout(t);
        resolve();
      });
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

/** Prints a line; a terminal that is gone is not an error. */
function say(line: string): void {
  try {
    console.log(line);
  } catch {
    /* the terminal closed */
  }
}

function sayError(line: string, err: unknown): void {
  try {
    console.error(line, err);
  } catch {
    /* the terminal closed */
  }
}

void main();
