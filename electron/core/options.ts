/**
 * Command-line and environment options shared by the Electron main process and the
 * browser host: `--demo` / `UNKNOT_DEMO=1`, `--time-scale N` (demo only),
 * `--port N`, `--browser`, and `UNKNOT_DATA_DIR`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface LaunchOptions {
  demo: boolean;
  /** Routine time runs this many times faster (demo only; 1 otherwise). */
  timeScale: number;
  /** Browser host port; 0 picks a free one. */
  port: number;
  browser: boolean;
  dataDir: string;
  /** Things the user should know about how the options were read (ignored or bad values). */
  notices: string[];
}

/**
 * The platform's app-data folder for Unknot: `%APPDATA%\Unknot` on Windows,
 * `~/Library/Application Support/Unknot` on macOS, `$XDG_CONFIG_HOME/Unknot` (or
 * `~/.config/Unknot`) elsewhere — the same place Electron's `userData` points to.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Unknot');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Unknot');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'Unknot');
}

function valueOf(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(name + '='));
  if (i < 0) return undefined;
  const a = argv[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
}

/**
 * Reads the options. Never throws: a bad value is ignored and explained in `notices`.
 * @param argv arguments after the program name
 */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): LaunchOptions {
  const notices: string[] = [];
  const demo = argv.includes('--demo') || env.UNKNOT_DEMO === '1';
  let timeScale = 1;
  const ts = valueOf(argv, '--time-scale');
  if (ts !== undefined) {
    const n = Number(ts);
    if (!demo) notices.push('--time-scale only works in demo mode (--demo); routine time runs normally.');
    else if (!Number.isFinite(n) || n < 1 || n > 1000) notices.push(`--time-scale must be a number from 1 to 1000; got "${ts}", using 1.`);
    else timeScale = n;
  }
  let port = 0;
  const p = valueOf(argv, '--port');
  if (p !== undefined) {
    const n = Number(p);
    if (Number.isInteger(n) && n >= 0 && n <= 65535) port = n;
    else notices.push(`--port must be a whole number from 0 to 65535; got "${p}", picking a free port.`);
  }
  const dataDir = env.UNKNOT_DATA_DIR && env.UNKNOT_DATA_DIR.trim() ? env.UNKNOT_DATA_DIR : defaultDataDir(env);
  return { demo, timeScale, port, browser: argv.includes('--browser'), dataDir, notices };
}
