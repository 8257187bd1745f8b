/**
 * Entry point of the browser host process (`out/main/host.js`): builds the app core
 * without Electron, serves the renderer on 127.0.0.1 and prints the address to open.
 * Ctrl+C (SIGINT) or SIGTERM stops every motor before exiting.
 */
import { join } from 'node:path';
import { createCore } from '../core/app-core';
import { parseOptions } from '../core/options';
import { startBrowserHost } from './server';

async function main(): Promise<void> {
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

  let quitting = false;
  const quit = async (): Promise<void> => {
    if (quitting) return;
    quitting = true;
    console.log('Unknot: stopping every massager, then exiting.');
    await core.stopAll('app-quit');
    await host.close();
    await core.shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void quit());
  process.on('SIGTERM', () => void quit());
  if (process.env.UNKNOT_EXIT_WITH_PARENT === '1') {
    // Started by the launcher: when it goes away (killed outright), stop every motor and exit.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void quit();
    }, 1000).unref();
  }
  process.on('uncaughtException', (err) => {
    console.error('Unknot: unexpected error; stopping every massager.', err);
    void core.stopAll('error');
  });
  process.on('unhandledRejection', (err) => {
    console.error('Unknot: unexpected error; stopping every massager.', err);
    void core.stopAll('error');
  });
}

void main();
