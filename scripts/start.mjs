#!/usr/bin/env node
// Launcher behind `npm start`: runs Electron when its binary is installed, otherwise
// (or with --browser) the browser host, saying why. Arguments pass through:
//   --demo, --time-scale N, --port N, --browser. UNKNOT_DATA_DIR sets the data folder.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
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
 * Signals whose default action ends a process and that Node lets a program catch (the
 * host's list, electron/host/signals.ts, by name; SIGUSR1 and SIGPIPE aside): each one
 * is passed on to the child, which stops every massager before it exits, and this
 * launcher exits with it.
 */
const QUIT_SIGNALS = [
  'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGXCPU',
  'SIGXFSZ', 'SIGPWR', 'SIGPOLL', 'SIGIO', 'SIGTRAP', 'SIGSYS', 'SIGSTKFLT', 'SIGABRT',
];
/** Job-control signals that would stop this launcher (Ctrl+Z is SIGTSTP). */
const SUSPEND_SIGNALS = ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'];
/** How long the launcher waits for the child to stop its massagers and suspend itself, ms. */
const SUSPEND_WAIT_MS = 10_000;

/** The quit signals this platform has, one name per signal number. */
function quitSignals() {
  const seen = new Set();
  return QUIT_SIGNALS.filter((name) => {
    const n = osConstants.signals[name];
    if (n === undefined || seen.has(n)) return false;
    seen.add(n);
    return true;
  });
}

/**
 * Runs the app as a child process and follows it: every catchable terminating signal
 * (Ctrl+C, SIGTERM, SIGHUP when the terminal closes, SIGQUIT, SIGUSR2…) is passed on,
 * and this launcher exits with the child's status. With `ipc`, the child gets an IPC
 * channel that closes when this launcher dies, even when it is killed outright
 * (SIGKILL): the browser host then stops every motor and exits.
 *
 * Ctrl+Z (SIGTSTP, likewise SIGTTIN and SIGTTOU): this launcher has no motor but must not
 * stop before the child has stopped its own. With `ipc` it asks the host to suspend
 * (the host stops every massager, awaits the proof, says `suspended` and stops itself),
 * then stops itself; without, it passes the signal on and stops once the child has
 * stopped or exited. Either way it stops after {@link SUSPEND_WAIT_MS} at the latest.
 */
function run(cmd, argv, { ipc = false } = {}) {
  // UNKNOT_EXIT_WITH_PARENT: the host stops (every motor first) if this launcher dies.
  const child = spawn(cmd, argv, {
    stdio: ipc ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit',
    cwd: root,
    env: { ...process.env, UNKNOT_EXIT_WITH_PARENT: '1' },
  });
  const forward = (sig) => {
    try {
      child.kill(sig);
    } catch {
      // the child is gone: its exit ends this launcher
    }
  };
  for (const sig of quitSignals()) process.on(sig, forward);
  let suspending = false;
  const suspend = (sig) => {
    if (suspending) return;
    suspending = true;
    let done = false;
    const stopSelf = () => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      clearInterval(poll);
      child.off('message', onMessage);
      process.kill(process.pid, 'SIGSTOP');
      // here again after SIGCONT
      suspending = false;
    };
    const onMessage = (m) => {
      if (!m || m.unknot !== 'suspended') return;
      if (!m.stale) return stopSelf();
      // The host had stopped and carried on before it read this request: carry on too.
      done = true;
      clearTimeout(cap);
      child.off('message', onMessage);
      suspending = false;
    };
    // Electron stops at the signal itself; where /proc cannot tell, a second is enough.
    const cap = setTimeout(stopSelf, ipc || process.platform === 'linux' ? SUSPEND_WAIT_MS : 1000);
    let poll = null;
    if (ipc && child.connected) {
      child.on('message', onMessage);
      // stamped on the shared monotonic clock: the host ignores a request older than its last resume
      try {
        child.send({ unknot: 'suspend', sentAt: String(process.hrtime.bigint()) });
      } catch {
        stopSelf();
      }
    } else {
      forward(sig);
      poll = setInterval(() => {
        if (child.exitCode !== null || child.signalCode !== null || isStopped(child.pid)) stopSelf();
      }, 20);
    }
  };
  for (const sig of SUSPEND_SIGNALS) process.on(sig, () => suspend(sig));
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

/** Whether process `pid` is stopped (state T or t in /proc; Linux only, false elsewhere or when gone). */
function isStopped(pid) {
  if (process.platform !== 'linux' || !pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
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
