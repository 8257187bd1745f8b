#!/usr/bin/env node
// Launcher behind `npm start`: runs Electron when its binary is installed, otherwise
// (or with --browser) the browser host, saying why. Arguments pass through:
//   --demo, --time-scale N, --port N, --browser. UNKNOT_DATA_DIR sets the data folder.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

/**
 * Where the Electron binary is, or why it is not usable. Never requires 'electron'
 * (Electron ≥ 42 would try to download the binary on first require).
 */
export function electronBinary(base = root) {
  const pkg = join(base, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pkg)) return { ok: false, why: 'the electron package is not installed (run npm ci)' };
  if (!existsSync(pathFile)) return { ok: false, why: "Electron's binary was not downloaded (this machine cannot fetch it)" };
  const bin = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  if (!existsSync(bin)) return { ok: false, why: `Electron's binary is missing (${bin})` };
  return { ok: true, bin };
}

/**
 * Runs the app as a child process and follows it: Ctrl+C, SIGTERM, SIGHUP (the terminal
 * closed) and SIGQUIT are passed on, and this launcher exits with the child's status.
 * With `ipc`, the child gets an IPC channel that closes when this launcher dies, even
 * when it is killed outright (SIGKILL): the browser host then stops every motor and exits.
 */
function run(cmd, argv, { ipc = false } = {}) {
  // UNKNOT_EXIT_WITH_PARENT: the host stops (every motor first) if this launcher dies.
  const child = spawn(cmd, argv, {
    stdio: ipc ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit',
    cwd: root,
    env: { ...process.env, UNKNOT_EXIT_WITH_PARENT: '1' },
  });
  const forward = (sig) => child.kill(sig);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) process.on(sig, forward);
  // A closed terminal makes writes fail: never a crash of the launcher (the child would lose its parent).
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  // `npm start` killed by its pid leaves this script orphaned: follow it down. npm runs
  // scripts through `sh -c`, and the shell outlives a `kill -9` of npm, so the shell's
  // parent is watched too.
  const parent = process.ppid;
  const ancestors = watchedAncestors();
  setInterval(() => {
    if (process.ppid !== parent || ancestors.some((pid) => !isAlive(pid))) child.kill('SIGTERM');
  }, 1000).unref();
}

/**
 * The processes this launcher follows: its parent and, on Linux when the parent is a
 * shell (`npm start` runs `sh -c "npm run build && node scripts/start.mjs"`), the
 * shell's own parent (npm). Read from /proc; elsewhere only the parent.
 */
function watchedAncestors() {
  const out = [process.ppid];
  if (process.platform !== 'linux') return out;
  try {
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const grandparent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (['sh', 'dash', 'bash', 'zsh', 'ksh'].includes(comm) && grandparent > 1) out.push(grandparent);
  } catch {
    // no /proc: the parent alone
  }
  return out;
}

/** Whether process `pid` still exists and is not a zombie (signal 0 checks without signalling). */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // SIGUSR1 would open Node's inspector on 127.0.0.1:9229 in this launcher, which owns
  // the app's process: a listener keeps it closed (the host does the same).
  process.on('SIGUSR1', () => console.log('Unknot: SIGUSR1 ignored (no inspector in the launcher).'));
  const electron = electronBinary();
  const browser = args.includes('--browser');
  if (!browser && electron.ok) {
    run(electron.bin, ['.', ...args]);
  } else {
    console.log(
      browser
        ? 'Unknot: starting the browser host (--browser).'
        : `Unknot: ${electron.why}; starting the browser host instead (it prints the address to open).`,
    );
    run(process.execPath, [join(root, 'out', 'main', 'host.js'), ...args.filter((a) => a !== '--browser')], { ipc: true });
  }
}
