/**
 * Starts the browser host (`out/main/host.js`, built by `npm run build`) as a child
 * process with its own temporary data folder, and reads the URL it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningHost {
  url: string;
  origin: string;
  dataDir: string;
  output: () => string;
  stop: () => Promise<void>;
  process: ChildProcess;
}

/** Starts a host; `args` are passed through (e.g. `--demo`, `--time-scale 30`). */
export async function startHost(args: string[] = ['--demo'], env: Record<string, string> = {}): Promise<RunningHost> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unknot-e2e-'));
  const child = spawn(process.execPath, [join(__dirname, '..', '..', 'out', 'main', 'host.js'), ...args], {
    env: { ...process.env, UNKNOT_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not print its URL:\n${out}`)), 15_000);
    const check = (): void => {
      const m = out.match(/Open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`host exited (${code}):\n${out}`)));
  });
  return {
    url,
    origin: new URL(url).origin,
    dataDir,
    output: () => out,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
