/**
 * A noble *bindings* object that lives in the main process and forwards to the
 * Bluetooth helper process over a pipe (docs/desktop.md, "Linux: Bluetooth
 * permissions"; the line protocol is in `helper/wire.ts`).
 *
 * `require('@abandonware/noble/with-bindings')(new PipeBindings(child.stdout, child.stdin))`
 * gives the real noble classes, whose HCI work happens in the helper. Every bindings
 * method call becomes one JSON line on the helper's stdin; every event line from the
 * helper's stdout is checked (zod) and re-emitted here for noble. A malformed line is
 * dropped and reported through `onProblem`; it never throws.
 *
 * When the pipe closes or fails (the helper exited or crashed), the bindings:
 * 1. call `onClose` (so the owner can mark the transport unavailable first);
 * 2. emit `disconnect` for every peripheral the helper reported connected, with the
 *    reason {@link HELPER_GONE_REASON}, so the device link's drop handling runs (the
 *    session pauses, the UI says how to switch the device off by hand, reconnects);
 * 3. emit `scanStop` when a scan was running;
 * 4. emit `stateChange('poweredOff')`.
 *
 * Why `poweredOff` and not `unsupported`: noble and the transport treat `poweredOff` as
 * "the radio cannot be used now" — links end with `adapter-off`, scanning is refused,
 * pending connects fail — which is exactly the situation, and it does not claim the
 * adapter lacks Bluetooth LE (`unsupported` would, and noble treats that as permanent).
 * The helper transport shows the user `unavailable` with the real reason instead.
 */
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { callLine, parseHelperLine, readLines, MAX_LINE_CHARS } from './helper/wire';
import type { BindingsMethod, FaultMessage } from './helper/wire';

/** The disconnect reason reported for links that were up when the helper went away. */
export const HELPER_GONE_REASON = "Unknot's Bluetooth helper stopped";

/** The adapter state the bindings report once the pipe has closed (see the module comment). */
export const PIPE_CLOSED_STATE = 'poweredOff';

/** Options of {@link PipeBindings}. */
export interface PipeBindingsOptions {
  /** Called with a sentence for every line dropped and every non-fatal fault the helper reports. */
  onProblem?: (message: string) => void;
  /**
   * Called once when the pipe closes or fails, before the synthetic `disconnect` and
   * `stateChange` events. `fault` is the last fatal fault the helper reported, if any.
   */
  onClose?: (reason: string, fault: FaultMessage | null) => void;
  /** Longest line accepted, in characters (default 1 MiB). */
  maxLineChars?: number;
}

/**
 * A noble bindings object (an EventEmitter with noble's bindings methods) that
 * forwards to a helper process over a duplex pipe.
 */
export class PipeBindings extends EventEmitter {
  private readonly connected = new Set<string>();
  private readonly stopReading: () => void;
  private readonly cleanups: (() => void)[] = [];
  private isClosed = false;
  private scanning = false;
  private fatal: FaultMessage | null = null;
  private dropped = 0;

  /**
   * @param input the helper's stdout (events and faults, JSON lines).
   * @param output the helper's stdin (calls, JSON lines).
   */
  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly options: PipeBindingsOptions = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.stopReading = readLines(
      input,
      (line) => this.onLine(line),
      (chars) => this.problem(`dropped a line of ${chars} characters from the Bluetooth helper (longer than allowed)`),
      options.maxLineChars ?? MAX_LINE_CHARS,
    );
    const listen = (stream: Readable | Writable, event: string, why: (arg?: unknown) => string): void => {
      const fn = (arg?: unknown): void => this.close(why(arg));
      stream.on(event, fn);
      this.cleanups.push(() => stream.off(event, fn));
    };
    listen(input, 'end', () => 'the helper closed its output');
    listen(input, 'close', () => 'the pipe from the helper closed');
    listen(input, 'error', (e) => `the pipe from the helper failed (${describe(e)})`);
    listen(output, 'error', (e) => `the pipe to the helper failed (${describe(e)})`);
    listen(output, 'close', () => 'the pipe to the helper closed');
  }

  /** Whether the pipe has closed (calls are dropped from then on). */
  get closed(): boolean {
    return this.isClosed;
  }

  /** The fatal fault the helper reported before exiting, if any. */
  get fatalFault(): FaultMessage | null {
    return this.fatal;
  }

  /** Number of lines dropped as malformed or oversize so far. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Ids of the peripherals the helper reported connected (and not yet disconnected). */
  connectedPeripherals(): string[] {
    return [...this.connected];
  }

  /**
   * Closes the bindings as if the pipe had closed (idempotent): stops reading, then
   * reports the end as described in the module comment. Does not end the streams.
   */
  close(reason = 'the bindings were closed'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stopReading();
    for (const c of this.cleanups.splice(0)) c();
    // a late error on either stream must not become an uncaught exception
    this.input.on('error', () => undefined);
    this.output.on('error', () => undefined);
    try {
      this.options.onClose?.(reason, this.fatal);
    } catch (error) {
      this.problem(`onClose failed: ${describe(error)}`);
    }
    for (const id of [...this.connected]) {
      this.connected.delete(id);
      this.safeEmit('disconnect', id, HELPER_GONE_REASON);
    }
    if (this.scanning) {
      this.scanning = false;
      this.safeEmit('scanStop');
    }
    this.safeEmit('stateChange', PIPE_CLOSED_STATE);
  }

  // ---------------------------------------------------------------- noble bindings interface

  /** noble bindings: asks the helper to open its adapter (it answers with `stateChange`). */
  init(): void {
    this.call('init', []);
  }
  /** noble bindings. */
  setScanParameters(interval?: number, window?: number): void {
    this.call('setScanParameters', [interval, window]);
  }
  /** noble bindings. */
  startScanning(serviceUuids?: string[], allowDuplicates?: boolean): void {
    this.call('startScanning', [serviceUuids, allowDuplicates]);
  }
  /** noble bindings. */
  stopScanning(): void {
    this.call('stopScanning', []);
  }
  /** noble bindings. */
  connect(peripheralUuid: string, parameters?: Record<string, unknown>): void {
    this.call('connect', [peripheralUuid, parameters]);
  }
  /** noble bindings. */
  cancelConnect(peripheralUuid: string, parameters?: Record<string, unknown>): void {
    this.call('cancelConnect', [peripheralUuid, parameters]);
  }
  /** noble bindings. */
  disconnect(peripheralUuid: string): void {
    this.call('disconnect', [peripheralUuid]);
  }
  /** noble bindings. */
  reset(): void {
    this.call('reset', []);
  }
  /** noble bindings. */
  updateRssi(peripheralUuid: string): void {
    this.call('updateRssi', [peripheralUuid]);
  }
  /** noble bindings. */
  discoverServices(peripheralUuid: string, uuids?: string[]): void {
    this.call('discoverServices', [peripheralUuid, uuids]);
  }
  /** noble bindings. */
  discoverIncludedServices(peripheralUuid: string, serviceUuid: string, serviceUuids?: string[]): void {
    this.call('discoverIncludedServices', [peripheralUuid, serviceUuid, serviceUuids]);
  }
  /** noble bindings (optional: passes a service found by `servicesDiscovered` to the GATT layer). */
  addService(peripheralUuid: string, service: Record<string, unknown>): void {
    this.call('addService', [peripheralUuid, service]);
  }
  /** noble bindings. */
  discoverCharacteristics(peripheralUuid: string, serviceUuid: string, characteristicUuids?: string[]): void {
    this.call('discoverCharacteristics', [peripheralUuid, serviceUuid, characteristicUuids]);
  }
  /** noble bindings (optional: passes characteristics found by `characteristicsDiscovered` to the GATT layer). */
  addCharacteristics(peripheralUuid: string, serviceUuid: string, characteristics: Record<string, unknown>[]): void {
    this.call('addCharacteristics', [peripheralUuid, serviceUuid, characteristics]);
  }
  /** noble bindings. */
  discoverDescriptors(peripheralUuid: string, serviceUuid: string, characteristicUuid: string): void {
    this.call('discoverDescriptors', [peripheralUuid, serviceUuid, characteristicUuid]);
  }
  /** noble bindings. */
  read(peripheralUuid: string, serviceUuid: string, characteristicUuid: string): void {
    this.call('read', [peripheralUuid, serviceUuid, characteristicUuid]);
  }
  /** noble bindings. */
  write(peripheralUuid: string, serviceUuid: string, characteristicUuid: string, data: Buffer, withoutResponse: boolean): void {
    this.call('write', [peripheralUuid, serviceUuid, characteristicUuid, data, withoutResponse]);
  }
  /** noble bindings. */
  broadcast(peripheralUuid: string, serviceUuid: string, characteristicUuid: string, broadcast: boolean): void {
    this.call('broadcast', [peripheralUuid, serviceUuid, characteristicUuid, broadcast]);
  }
  /** noble bindings. */
  notify(peripheralUuid: string, serviceUuid: string, characteristicUuid: string, notify: boolean): void {
    this.call('notify', [peripheralUuid, serviceUuid, characteristicUuid, notify]);
  }
  /** noble bindings. */
  readValue(peripheralUuid: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    this.call('readValue', [peripheralUuid, serviceUuid, characteristicUuid, descriptorUuid]);
  }
  /** noble bindings. */
  writeValue(peripheralUuid: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string, data: Buffer): void {
    this.call('writeValue', [peripheralUuid, serviceUuid, characteristicUuid, descriptorUuid, data]);
  }
  /** noble bindings. */
  readHandle(peripheralUuid: string, handle: number): void {
    this.call('readHandle', [peripheralUuid, handle]);
  }
  /** noble bindings. */
  writeHandle(peripheralUuid: string, handle: number, data: Buffer, withoutResponse: boolean): void {
    this.call('writeHandle', [peripheralUuid, handle, data, withoutResponse]);
  }

  // ---------------------------------------------------------------- internals

  private call(method: BindingsMethod, args: unknown[]): void {
    if (this.isClosed) return; // noble's operations time out above; the transport already reports the helper gone
    let line: string;
    try {
      line = callLine(method, args);
    } catch (error) {
      this.problem(`could not send ${method} to the Bluetooth helper: ${describe(error)}`);
      return;
    }
    if (this.output.destroyed || this.output.writableEnded) {
      this.close('the pipe to the helper is closed');
      return;
    }
    this.output.write(line);
  }

  private onLine(line: string): void {
    if (this.isClosed) return;
    const parsed = parseHelperLine(line);
    if (!parsed.ok) {
      this.dropped += 1;
      this.problem(`dropped a malformed line from the Bluetooth helper: ${parsed.error}`);
      return;
    }
    const message = parsed.message;
    if (message.k === 'fault') {
      if (message.fatal) this.fatal = message;
      this.problem(`the Bluetooth helper reports${message.method ? ` (${message.method})` : ''}: ${message.message}${message.code ? ` [${message.code}]` : ''}`);
      return;
    }
    const [first, second] = message.a;
    switch (message.e) {
      case 'connect':
        if (!second) this.connected.add(first as string);
        break;
      case 'disconnect':
        this.connected.delete(first as string);
        break;
      case 'scanStart':
        this.scanning = true;
        break;
      case 'scanStop':
        this.scanning = false;
        break;
      case 'stateChange':
        if (first !== 'poweredOn') this.scanning = false; // the scan ended with the adapter
        break;
      default:
        break;
    }
    this.safeEmit(message.e, ...message.a);
  }

  /** Emits to noble; a listener that throws is reported, never thrown into the stream. */
  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (error) {
      this.problem(`a listener of ${event} failed: ${describe(error)}`);
    }
  }

  private problem(message: string): void {
    try {
      this.options.onProblem?.(message);
    } catch {
      // reporting must never break the pipe
    }
  }
}

function describe(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${message}, ${e.code}` : message;
}
