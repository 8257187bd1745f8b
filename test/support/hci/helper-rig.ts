/**
 * The Bluetooth helper under test on the virtual controller: the built helper
 * (`out/main/ble-helper.js`, as shipped: no test option, no test variable) started as
 * `node --require <preload> out/main/ble-helper.js`, where the preload
 * (`helper-preload.ts`, bundled here to CommonJS) builds the virtual world inside the
 * helper process. The main-process side is the app's own: {@link HelperTransport} over
 * {@link PipeBindings} on the helper's stdin/stdout. The test drives the world through
 * a Unix socket ({@link RemoteRadio}).
 *
 * Needs `npm run build` first (the helper's built file).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HelperTransport } from '../../../electron/ble/helper-transport';
import type { HelperTransportOptions } from '../../../electron/ble/helper-transport';
import { HELPER_WORLD_ENV, remoteRadio } from './radio-control';
import type { HelperWorldConfig, RemoteRadio } from './radio-control';

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The built helper the tests start. */
export const BUILT_HELPER = join(ROOT, 'out/main/ble-helper.js');

let bundled: Promise<string> | null = null;

/**
 * Bundles `helper-preload.ts` (and the test support, protocols and app code it imports)
 * into one CommonJS file under `node_modules/.cache/` — inside the project, so the
 * bundle resolves noble and bleno exactly where the helper does — once per process.
 * Packages stay outside the bundle. Resolves to its path.
 */
export function bundlePreload(): Promise<string> {
  bundled ??= (async () => {
    const dir = join(ROOT, 'node_modules/.cache/unknot-hci');
    mkdirSync(dir, { recursive: true });
    // One file, replaced atomically: test files bundling at once write the same content.
    const file = join(dir, 'helper-preload.cjs');
    const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    const { build } = (await import('rolldown')) as unknown as {
      build(options: Record<string, unknown>): Promise<unknown>;
    };
    await build({
      input: join(ROOT, 'test/support/hci/helper-preload.ts'),
      platform: 'node',
      // only our own TypeScript goes in; every package is required at run time
      external: (id: string) => !id.startsWith('.') && !id.startsWith('/') && !/^[A-Za-z]:/.test(id),
      output: { file: tmp, format: 'cjs', codeSplitting: false },
      logLevel: 'warn',
    });
    renameSync(tmp, file);
    return file;
  })();
  return bundled;
}

/** Options of {@link startHelperOnVirtualController}. */
export interface HelperRigOptions {
  /** Local names of the simulators the helper's world hosts (default: the Theragun `Pro`). */
  sims?: string[];
  /** Connection interval, ms (default 30). */
  connectionIntervalMs?: number;
  /** Options of the noble transport over the pipe (timeouts). */
  transport?: HelperTransportOptions['transport'];
}

/** A helper running on the virtual controller, with the app's transport over its pipe. */
export interface HelperRig {
  child: ChildProcess;
  transport: HelperTransport;
  radio: RemoteRadio;
  /** Every line the helper printed on stderr (and every problem on the pipe). */
  log: string[];
  /** Ends the helper (closes its stdin; SIGKILL if it lingers) and the control socket. */
  dispose(): Promise<void>;
}

/**
 * A Unix socket the helper's preload connects to, and the environment that tells the
 * preload where it is and which world to build.
 */
export async function radioSocket(config: Omit<HelperWorldConfig, 'control'>): Promise<{ env: NodeJS.ProcessEnv; connection: Promise<Socket>; server: Server; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'unknot-hci-ctl-'));
  const path = join(dir, 'radio.sock');
  let accept: (s: Socket) => void = () => undefined;
  const connection = new Promise<Socket>((r) => (accept = r));
  const server = createServer((s) => accept(s));
  await new Promise<void>((r) => server.listen(path, r));
  const world: HelperWorldConfig = { control: path, ...config };
  return { env: { ...process.env, [HELPER_WORLD_ENV]: JSON.stringify(world) }, connection, server, dir };
}

/**
 * Starts `node --require <preload> out/main/ble-helper.js` on a fresh virtual world and
 * wraps it in the app's {@link HelperTransport}. Resolves once the preload has connected.
 * @throws Error when the helper has not been built.
 */
export async function startHelperOnVirtualController(options: HelperRigOptions = {}): Promise<HelperRig> {
  if (!existsSync(BUILT_HELPER)) throw new Error(`${BUILT_HELPER} is missing: run \`npm run build\` first`);
  const preload = await bundlePreload();
  const sock = await radioSocket({ sims: options.sims ?? ['Pro'], connectionIntervalMs: options.connectionIntervalMs ?? 30 });
  const log: string[] = [];
  const child = spawn(process.execPath, ['--require', preload, BUILT_HELPER], { stdio: ['pipe', 'pipe', 'pipe'], env: sock.env, cwd: ROOT });
  const transport = new HelperTransport(child, { command: process.execPath, log: (line) => log.push(line), ...(options.transport ? { transport: options.transport } : {}) });
  const socket = await Promise.race([
    sock.connection,
    new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`the helper exited (${code ?? signal}) before its preload connected:\n${log.join('\n')}`)))),
  ]);
  const radio = remoteRadio(socket);
  await radio.ready;
  return {
    child,
    transport,
    radio,
    log,
    async dispose() {
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
      await transport.dispose().catch(() => undefined);
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(kill);
      socket.destroy();
      sock.server.close();
      rmSync(sock.dir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes an executable script that starts the built helper with the preload, for a
 * main process that spawns the helper itself (`UNKNOT_BLE_HELPER`, as the browser host
 * does): `exec node --require <preload> out/main/ble-helper.js`. Resolves to its path.
 */
export async function helperScript(dir: string): Promise<string> {
  const preload = await bundlePreload();
  const path = join(dir, 'unknot-ble-helper');
  writeFileSync(path, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --require ${JSON.stringify(preload)} ${JSON.stringify(BUILT_HELPER)} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
