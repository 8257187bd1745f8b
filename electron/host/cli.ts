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

async function main(): Promise<void> {
  // From the first moment: a signal during start-up still ends in an orderly way.
  const plan: ExitPlan = { stop: async () => undefined };
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

/** What {@link installExitPaths} does on the way out; `stop` grows as the host comes up. */
interface ExitPlan {
  /** Stops every massager, flushes the store and closes the host. */
  stop: () => Promise<void>;
}

/** After a quit request, the process exits after this many ms even when a stop hangs (each stop has its own GATT timeout). */
const QUIT_DEADLINE_MS = 8000;

/**
 * Every way out that Node lets a process intercept goes through one quit: SIGINT
 * (Ctrl+C), SIGTERM, SIGHUP (the terminal closed), SIGQUIT, the launcher's death (its
 * IPC channel closes, or this process is re-parented), an uncaught exception and an
 * unhandled rejection. Each stops every massager first, then exits (status 0 for a
 * signal or the launcher's death, 1 after an error). SIGUSR1 would open Node's
 * inspector on 127.0.0.1:9229 (Node 20 has no flag to turn that off); a listener of its
 * own keeps it closed.
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
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => quit(`${signal} received`, 0));
  process.on('SIGUSR1', () => say('Unknot: SIGUSR1 ignored (the inspector stays closed).'));
  if (process.send) {
    // Started by the launcher with an IPC channel: it closes when the launcher dies.
    process.on('disconnect', () => quit('the launcher has gone away', 0));
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
