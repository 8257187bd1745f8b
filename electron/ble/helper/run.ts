/**
 * The Bluetooth helper process (docs/desktop.md, "Linux: Bluetooth permissions"): a
 * small program, not Electron, that alone holds CAP_NET_RAW and CAP_NET_ADMIN, does
 * only HCI work (noble's HCI binding) and serves it to the main process over its
 * stdin/stdout, which the main process holds (an inherited pipe: no other program can
 * reach it). It exits when its stdin closes, i.e. when the main process has gone.
 *
 * Usage: `unknot-ble-helper [--simulated]`
 * - default: noble's HCI binding on the adapter (`NOBLE_HCI_DEVICE_ID` chooses one);
 * - `--simulated`: the simulated radio with one simulated peripheral per protocol
 *   (tests and demos); every write a peripheral receives is printed on stderr.
 *
 * stdout carries only protocol lines: `console.*` output (noble prints warnings with
 * `console.log`) goes to stderr. It ignores SIGINT and SIGHUP (a terminal sends them to
 * the whole process group; the main process stops the massagers through the helper and
 * then closes its stdin), also noble's own SIGINT handler, and exits on SIGTERM. When the binding cannot be loaded or the adapter
 * cannot be opened, the helper sends `stateChange` (`unauthorized` for EPERM/EACCES,
 * `unsupported` otherwise) and a fatal fault, prints one clear line on stderr, and
 * exits with status 2.
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { format } from 'node:util';
import { simulateAll } from '../../../protocols/registry';
import { SimRadio } from '../sim-radio';
import { serveBindings } from './serve';
import { eventLine, faultLine } from './wire';

/** Exit status when the binding could not be loaded or the adapter not opened. */
export const EXIT_NO_ADAPTER = 2;
/** Exit status for a bad command line. */
export const EXIT_USAGE = 64;

/** The process the helper runs in (injected in tests). */
export interface HelperIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  exit(code: number): void;
  /** Loads noble's HCI bindings class (default: requires it; may throw). */
  loadHci?: () => new (options: Record<string, unknown>) => EventEmitter;
}

/** The helper's command line. */
export interface HelperArgs {
  simulated: boolean;
}

/** Parses the helper's arguments. @throws Error naming an unknown argument. */
export function parseHelperArgs(argv: readonly string[]): HelperArgs {
  const out: HelperArgs = { simulated: false };
  for (const arg of argv) {
    if (arg === '--simulated') out.simulated = true;
    else throw new Error(`unknown argument ${JSON.stringify(arg)} (usage: unknot-ble-helper [--simulated])`);
  }
  return out;
}

/** The adapter state to report for an error from loading or opening the HCI binding. */
export function stateForHciError(error: unknown): 'unauthorized' | 'unsupported' {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EPERM' || code === 'EACCES' ? 'unauthorized' : 'unsupported';
}

function describe(error: unknown): { message: string; code?: string } {
  const e = error as { message?: unknown; code?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return typeof e?.code === 'string' ? { message, code: e.code } : { message };
}

function defaultLoadHci(): new (options: Record<string, unknown>) => EventEmitter {
  // `require` exists in the bundled helper (CommonJS); elsewhere make one. Loaded here,
  // not at the top, so that `--simulated` never touches the native module.
  const req = typeof require === 'function' ? require : createRequire(import.meta.url);
  return req('@abandonware/noble/lib/hci-socket/bindings') as new (options: Record<string, unknown>) => EventEmitter;
}

/**
 * Runs the helper: serves the HCI binding (or the simulated radio) on `io.stdin` /
 * `io.stdout` until stdin closes. Returns a function that stops serving (for tests).
 */
export function runHelper(argv: readonly string[], io: HelperIo): () => void {
  const log = (line: string): void => {
    io.stderr.write(`unknot-ble-helper: ${line}\n`);
  };
  let args: HelperArgs;
  try {
    args = parseHelperArgs(argv);
  } catch (error) {
    log(describe(error).message);
    io.exit(EXIT_USAGE);
    return () => undefined;
  }

  let exiting = false;
  const fatal = (what: string, error: unknown): void => {
    if (exiting) return;
    exiting = true;
    const { message, code } = describe(error);
    const state = stateForHciError(error);
    log(`${what}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}; reporting the adapter as ${state} and exiting.`);
    try {
      io.stdout.write(eventLine('stateChange', [state]));
      io.stdout.write(faultLine({ message: `${what}: ${message}`, ...(code ? { code } : {}), fatal: true }));
    } finally {
      io.stdout.write('', () => io.exit(EXIT_NO_ADAPTER));
    }
  };

  let bindings: EventEmitter;
  let radio: SimRadio | null = null;
  if (args.simulated) {
    radio = new SimRadio();
    for (const sim of simulateAll()) radio.addPeripheral(sim);
    radio.onWrite((w) => {
      log(`sim write ${w.peripheralId} ${w.service}/${w.characteristic} ${Buffer.from(w.bytes).toString('hex')} ${w.withResponse ? 'with' : 'without'} response`);
    });
    bindings = radio;
  } else {
    try {
      const Bindings = (io.loadHci ?? defaultLoadHci)();
      bindings = new Bindings({});
      keepSigintFromBindings(bindings);
    } catch (error) {
      fatal('cannot open the Bluetooth adapter', error);
      return () => undefined;
    }
  }

  const server = serveBindings(bindings, io.stdin, io.stdout, {
    onProblem: (message) => log(message),
    onCallError: (method, error) => {
      if (method === 'init') fatal('cannot open the Bluetooth adapter', error);
    },
    onEnd: () => {
      if (exiting) return;
      exiting = true;
      server.stop();
      radio?.dispose();
      // process.exit runs the HCI binding's own exit handler, which stops scanning and
      // disconnects every link it holds.
      io.exit(0);
    },
  });
  log(`serving ${args.simulated ? 'the simulated radio' : "noble's HCI binding"} on stdin/stdout (pid ${process.pid})`);
  return () => {
    server.stop();
    radio?.dispose();
  };
}

/** The signals the helper ignores: a terminal sends them to the whole process group. */
export const IGNORED_SIGNALS = ['SIGINT', 'SIGHUP'] as const;

/**
 * Makes the helper ignore SIGINT and SIGHUP. A Ctrl+C in a terminal (SIGINT) and a
 * closed terminal (SIGHUP) reach every process of the foreground group, the helper as
 * well as the main process; the main process answers them by stopping every massager
 * through the helper, so the helper must stay until the main process closes its stdin
 * (then it exits, see {@link runHelper}). SIGTERM still ends it.
 */
export function ignoreTerminalSignals(proc: NodeJS.EventEmitter = process): void {
  for (const signal of IGNORED_SIGNALS) proc.on(signal, () => undefined);
}

/**
 * Takes back the SIGINT listener noble's HCI binding adds in its `init`: that listener
 * exits the process when it is the last SIGINT listener, which would end the helper
 * before the main process's stop has passed through it (and it is the last one, being
 * added after the helper's own). `bindings.init` is wrapped so that any SIGINT listener
 * it adds is removed again right after; its `exit` listener (which hangs up the links on
 * the way out) stays.
 */
export function keepSigintFromBindings(bindings: EventEmitter, proc: NodeJS.EventEmitter = process): void {
  const target = bindings as unknown as { init?: (...args: unknown[]) => unknown };
  const init = target.init;
  if (typeof init !== 'function') return;
  target.init = function (this: unknown, ...args: unknown[]): unknown {
    const before = new Set(proc.listeners('SIGINT'));
    try {
      return init.apply(this, args);
    } finally {
      for (const l of proc.listeners('SIGINT')) if (!before.has(l)) proc.off('SIGINT', l as (...a: unknown[]) => void);
    }
  };
}

/** Sends `console.*` output to stderr: stdout carries only protocol lines. */
export function keepStdoutForProtocol(stderr: Writable): void {
  const toStderr = (...args: unknown[]): void => {
    stderr.write(`${format(...args)}\n`);
  };
  console.log = toStderr;
  console.info = toStderr;
  console.warn = toStderr;
  console.debug = toStderr;
  console.error = toStderr;
}
