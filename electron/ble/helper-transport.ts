/**
 * The system transport through the Bluetooth helper process (Linux; docs/desktop.md,
 * "Linux: Bluetooth permissions"): spawns the helper, which alone holds the Bluetooth
 * capabilities, and runs the real noble classes in the main process on a
 * {@link PipeBindings} over the helper's stdin/stdout.
 *
 * While the helper runs, the transport is a plain {@link NobleTransport}. When it
 * dies (crash, kill, or it could not open the adapter), the adapter state becomes
 * `unavailable` with a human message — the helper's own reason when it sent one —
 * links that were up report a drop (the device link's drop handling takes over),
 * and scans and connects are refused with that message. The helper is not restarted.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { NobleTransport } from './noble-transport';
import type { NobleLike, NobleTransportOptions } from './noble-transport';
import { PipeBindings } from './pipe-bindings';
import type { FaultMessage } from './helper/wire';
import { GattError } from './types';
import type { AdapterState, DiscoveredPeripheral, GattConnection, Transport } from './types';

/** Options of {@link spawnHelperTransport}. */
export interface HelperTransportOptions {
  /** The helper executable (e.g. `resources/ble-helper/unknot-ble-helper`, or `node` for `out/main/ble-helper.js`). */
  command: string;
  /** Its arguments (e.g. `['out/main/ble-helper.js', '--simulated']`). */
  args?: string[];
  /** Environment of the helper (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Mark discovered peripherals as simulated (a `--simulated` helper). */
  simulated?: boolean;
  /** Options for the noble transport on top (timeouts, platform, clock). */
  transport?: Omit<NobleTransportOptions, 'simulated'>;
  /** Called with every line the helper prints on stderr and every problem on the pipe (default: console.warn). */
  log?: (line: string) => void;
  /** How long `dispose` waits for the helper to exit after closing its stdin before SIGTERM, then SIGKILL, ms (default 1000). */
  exitWaitMs?: number;
}

/** How the helper process ended. */
export interface HelperExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The adapter state shown once the helper has gone, from its fatal fault (if it sent one) and how it ended. */
export function describeHelperGone(command: string, fault: FaultMessage | null, exit: HelperExit | null, spawnError?: Error): AdapterState {
  if (spawnError) {
    const code = (spawnError as { code?: unknown }).code;
    return {
      state: 'unavailable',
      message:
        code === 'ENOENT'
          ? `Unknot's Bluetooth helper is missing (${command}).`
          : `Unknot's Bluetooth helper could not be started (${spawnError.message}).`,
      hint: 'Reinstall Unknot, or try the simulated devices.',
    };
  }
  if (fault?.code === 'EPERM' || fault?.code === 'EACCES') {
    return {
      state: 'unavailable',
      message: `Unknot's Bluetooth helper is not allowed to open the Bluetooth adapter (${fault.code}).`,
      hint: `Give it its rights once: sudo setcap cap_net_raw,cap_net_admin+ep ${command} (the Debian package does this when it is installed).`,
    };
  }
  if (fault?.code === 'EAFNOSUPPORT') {
    return {
      state: 'unavailable',
      message: 'This computer has no Bluetooth support that Unknot can use (EAFNOSUPPORT: no Bluetooth socket family).',
      hint: 'Plug in a Bluetooth LE adapter and restart Unknot, or try the simulated devices.',
    };
  }
  if (fault) {
    return {
      state: 'unavailable',
      message: `Bluetooth could not be started: ${fault.message}${fault.code && !fault.message.includes(fault.code) ? ` (${fault.code})` : ''}.`,
      hint: 'Plug in a Bluetooth LE adapter and restart Unknot, or try the simulated devices.',
    };
  }
  const how = exit?.signal ? ` (signal ${exit.signal})` : exit?.code != null ? ` (exit status ${exit.code})` : '';
  return {
    state: 'unavailable',
    message: `Unknot's Bluetooth helper stopped unexpectedly${how}; the link to any device is gone.`,
    hint: 'Switch the massager off by hand if it is still running, then restart Unknot.',
  };
}

/** A {@link Transport} whose noble runs on a helper process; see the module comment. */
export class HelperTransport implements Transport {
  readonly name: 'noble' | 'simulated';
  private readonly inner: NobleTransport;
  private readonly bindings: PipeBindings;
  private readonly listeners = new Set<(state: AdapterState) => void>();
  private gone: AdapterState | null = null;
  private exitInfo: HelperExit | null = null;
  private spawnError: Error | undefined;
  private lastSent: string | null = null;
  private stderrTail = '';
  private readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    private readonly options: HelperTransportOptions,
  ) {
    const log = options.log ?? ((line: string) => console.warn(`[ble-helper] ${line}`));
    if (!child.stdout || !child.stdin) throw new Error('the helper must be spawned with piped stdin and stdout');
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.markGone();
        resolve();
      });
      child.once('error', (error) => {
        // spawn failed (ENOENT, EACCES): there will be no exit event
        this.spawnError = error;
        this.markGone();
        this.bindings.close(`the helper could not be started (${error.message})`);
        resolve();
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const text = this.stderrTail + chunk;
      const lines = text.split('\n');
      this.stderrTail = (lines.pop() ?? '').slice(-4000);
      for (const line of lines) if (line.trim()) log(line);
    });
    this.bindings = new PipeBindings(child.stdout, child.stdin, {
      onProblem: (message) => log(message),
      onClose: () => this.markGone(),
    });
    const withBindings = loadWithBindings();
    this.name = options.simulated ? 'simulated' : 'noble';
    this.inner = new NobleTransport(withBindings(this.bindings), { ...options.transport, simulated: options.simulated ?? false });
    this.inner.onAdapterState((state) => this.tell(this.gone ?? state));
  }

  /** The helper's process id (undefined when it could not be started). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the helper ended, or null while it runs. */
  helperExit(): HelperExit | null {
    return this.exitInfo;
  }

  /** The pipe bindings under noble (for tests and diagnostics). */
  pipe(): PipeBindings {
    return this.bindings;
  }

  adapterState(): AdapterState {
    return this.gone ? { ...this.gone } : this.inner.adapterState();
  }

  onAdapterState(listener: (state: AdapterState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @throws GattError('adapter-off') when the helper has gone or the adapter is not on. */
  async startScan(onDiscover: (peripheral: DiscoveredPeripheral) => void): Promise<void> {
    if (this.gone) throw this.goneError('scan');
    try {
      await this.inner.startScan(onDiscover);
    } catch (error) {
      if (this.gone) throw this.goneError('scan');
      throw error;
    }
  }

  stopScan(): Promise<void> {
    return this.inner.stopScan();
  }

  /** @throws GattError as {@link NobleTransport.connect}; 'adapter-off' when the helper has gone. */
  async connect(peripheralId: string, timeoutMs: number): Promise<GattConnection> {
    if (this.gone) throw this.goneError('connect');
    try {
      return await this.inner.connect(peripheralId, timeoutMs);
    } catch (error) {
      if (this.gone && error instanceof GattError && error.code === 'adapter-off') throw this.goneError('connect');
      throw error;
    }
  }

  /**
   * Closes every link, then ends the helper: closes its stdin (it exits by itself,
   * letting the HCI binding disconnect cleanly), SIGTERM after `exitWaitMs`, SIGKILL
   * after as long again. Resolves once it has exited.
   */
  async dispose(): Promise<void> {
    await this.inner.dispose().catch(() => undefined);
    const waitMs = this.options.exitWaitMs ?? 1000;
    if (this.exitInfo || this.spawnError || this.child.pid === undefined) {
      this.bindings.close('disposed');
      return;
    }
    this.child.stdin?.end();
    const term = setTimeout(() => this.child.kill('SIGTERM'), waitMs);
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 2 * waitMs);
    await this.exited;
    clearTimeout(term);
    clearTimeout(kill);
    this.listeners.clear();
  }

  private goneError(what: 'scan' | 'connect'): GattError {
    const s = this.adapterState();
    return new GattError('adapter-off', `Cannot ${what}: ${s.message} ${s.hint}`.trim());
  }

  private markGone(): void {
    const state = describeHelperGone(this.options.command, this.bindings?.fatalFault ?? null, this.exitInfo, this.spawnError);
    if (this.gone && this.gone.message === state.message) return;
    // A later, better reason (the exit status, after the pipe closed) replaces the first.
    if (this.gone && !this.exitInfo && !this.spawnError) return;
    this.gone = state;
    this.tell(state);
  }

  private tell(state: AdapterState): void {
    const key = `${state.state}\n${state.message}`;
    if (key === this.lastSent) return;
    this.lastSent = key;
    for (const l of [...this.listeners]) {
      try {
        l({ ...state });
      } catch {
        // one listener's failure must not stop the others
      }
    }
  }
}

function loadWithBindings(): (bindings: unknown) => NobleLike {
  // `with-bindings` loads only noble's JavaScript classes, never the native HCI socket.
  const req = typeof require === 'function' ? require : createRequire(import.meta.url);
  return req('@abandonware/noble/with-bindings') as (bindings: unknown) => NobleLike;
}

/**
 * Spawns the Bluetooth helper and returns a transport over it. Never throws for a
 * helper that cannot start: the transport then reports `unavailable` with the reason.
 */
export function spawnHelperTransport(options: HelperTransportOptions): HelperTransport {
  const child = spawn(options.command, options.args ?? [], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    windowsHide: true,
  });
  const transport = new HelperTransport(child, options);
  // The helper exits when its stdin closes, which happens when this process ends; this
  // also covers an exit that skips the app's own shutdown.
  const onExit = (): void => {
    if (!transport.helperExit()) child.kill('SIGTERM');
  };
  process.once('exit', onExit);
  child.once('exit', () => process.off('exit', onExit));
  return transport;
}
