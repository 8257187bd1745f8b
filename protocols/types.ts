/**
 * The contract every device protocol module fulfils (DESIGN §3).
 *
 * A protocol module is pure TypeScript: it imports nothing from Node, the DOM,
 * noble, `electron/` or `renderer/`. Bytes are `Uint8Array`. UUIDs are written in
 * noble's form: lowercase hex without dashes, 16-bit UUIDs as four digits
 * (`"ffe0"`), 128-bit ones as 32 digits.
 */

/** What sort of massager a protocol drives. EMS devices get stricter safety rules. */
export type DeviceKind = 'percussive' | 'chair' | 'cushion' | 'ems';

/** The motion a routine step asks for; protocols with modes map it to one (DESIGN §1). */
export type Motion = 'circular' | 'back-and-forth' | 'on-knot' | 'long-strokes';

/**
 * A normalised command, the only thing the app asks of a protocol.
 * - `setIntensity.value` is 0..1 of the device's full range; 0 means stop. The
 *   governor has already clamped it to the intensity ceiling. A protocol maps it to
 *   a device step with {@link intensityToStep} (`ceil(value × steps)`).
 * - `setMotion` asks for the mode that fits a routine motion (ignored where the
 *   device has no modes).
 * - `setTimer.seconds` asks for the device's own work timer: the shortest one that
 *   covers the given time (device-side failsafe; ignored where there is none).
 */
export type Command =
  | { type: 'setIntensity'; value: number }
  | { type: 'setMode'; mode: string }
  | { type: 'setMotion'; motion: Motion }
  | { type: 'setHeat'; on: boolean }
  | { type: 'setTimer'; seconds: number }
  | { type: 'powerOn' }
  | { type: 'stop' }
  | { type: 'queryFirmware' }
  | { type: 'queryStatus' };

/** One GATT write a protocol wants made, in order. */
export interface Write {
  /** Characteristic UUID (noble form). */
  characteristic: string;
  /** Service UUID (noble form) the characteristic belongs to. */
  service: string;
  bytes: Uint8Array;
  /** true: ATT Write Request (acknowledged); false: write without response. */
  withResponse: boolean;
  /** Milliseconds to wait after this write before the next one (0 when absent). */
  delayAfterMs?: number;
  /**
   * May be longer than MTU − 3: sent as an ATT long write (with response) or cut into
   * MTU − 3 pieces (without response). Unmarked longer writes are refused.
   */
  splittable?: boolean;
}

/** What a notification told us. Every field is optional: a frame may carry only some. */
export interface DeviceStatus {
  /** Whether the motor is running. */
  running?: boolean;
  /** Whether the device is powered on (chairs). */
  powered?: boolean;
  /** The device's current step (protocol units, e.g. rpm for the Theragun). */
  level?: number;
  /** true when {@link level} is known to be the intensity step the app commands (so it can be compared to the ceiling). */
  levelIsIntensity?: boolean;
  mode?: string;
  heat?: boolean;
  /** Battery charge, percent 0..100. */
  batteryPercent?: number;
  firmware?: string;
  /**
   * What the device says it is doing, where it reports more than on/off (the chair):
   * `idle` (off), `resetting` (returning to its rest position after a power-off: no
   * power toggle may be sent), `ready` (on, rollers still), `running` (rollers moving).
   */
  runState?: RunState;
  /** Seconds left on the device's own program timer, while it runs (the chair). */
  secondsLeft?: number;
  /**
   * Set by the protocol session when the device left `running` without a stop from the
   * app: someone switched it off (or its own timer ended the program) on the device.
   */
  offByHand?: boolean;
}

/** A device's run state (see {@link DeviceStatus.runState}). */
export type RunState = 'idle' | 'resetting' | 'ready' | 'running';

/** Result of decoding one notification. `decode` never throws: anything it cannot read is `unknown`. */
export type DecodeResult =
  | {
      kind: 'status';
      status: DeviceStatus;
      /**
       * Writes the protocol wants made in answer, ahead of nothing and never dropped by a
       * stop (e.g. the chair's one corrective power toggle after a lost stop).
       */
      followUp?: Write[];
      /**
       * The follow-up is another attempt at the stop under way (the chair's one extra
       * toggle): the link's stop watch measures its deadline from when it settles.
       */
      followUpIsStop?: boolean;
      /**
       * Commands the session held back (the chair while it returns to rest, or before its
       * first status) and now asks the link to queue again, in order. The link queues them
       * as ordinary commands (encoded when their turn comes, dropped by a stop) and drops
       * them when a stop is queued or under way, or while it holds after a reconnect.
       */
      replay?: Command[];
      /** A message for the user (e.g. "switch the chair off by hand"). */
      notice?: string;
      /**
       * True when the notification ended inside a frame that later notifications should
       * complete (protocols that reassemble frames, the EMS pad). The status then holds what
       * the complete frames carried, possibly nothing.
       */
      pending?: boolean;
    }
  | { kind: 'unknown'; reason: string };

/** An advertisement as seen by the central. */
export interface Advertisement {
  localName?: string;
  /** Advertised service UUIDs (noble form). */
  serviceUuids: string[];
  manufacturerData?: Uint8Array;
  /** Service data entries (noble's `serviceData`: the service UUID in noble form and the bytes after it). */
  serviceData?: { uuid: string; data: Uint8Array }[];
}

/**
 * How sure identification is.
 * - `strong`: the advertisement alone identifies the protocol.
 * - `candidate`: plausible (e.g. a generic name, a shared UART UUID); confirmed or
 *   refused after connecting by {@link ProtocolModule.open}.
 */
export type Confidence = 'strong' | 'candidate';

export interface IdentifyMatch {
  confidence: Confidence;
  /** Model name when the advertisement tells it (e.g. `Pro`). */
  model?: string;
}

/** A characteristic found after connecting, with the properties the peripheral declares. */
export interface FoundCharacteristic {
  uuid: string;
  properties: string[];
}

/** What discovery found after connecting: service UUID → its characteristics. */
export interface ConnectionContext {
  localName?: string;
  model?: string;
  services: ReadonlyMap<string, readonly FoundCharacteristic[]>;
  /** Monotonic clock in milliseconds (injectable for tests). */
  now: () => number;
}

/** What the device can do, for one connection. */
export interface Capabilities {
  /** Number of intensity steps above 0 (the Theragun's are rpm: 3616 on a Pro). */
  steps: number;
  /** Lowest step at which the motor runs (1 when none is documented). */
  minRunningStep: number;
  /** Human unit of a step, e.g. `rpm` or `level`. */
  stepUnit: string;
  /** Modes the protocol can set (empty when speed only). */
  modes: string[];
  battery: boolean;
  heat: boolean;
  /** The device's own work timers in seconds, shortest first (empty when none). */
  timersSeconds: number[];
}

/**
 * One connection's protocol state. Created by {@link ProtocolModule.open} after
 * discovery; stateful protocols (the chair's power toggle) keep their state here.
 */
export interface ProtocolSession {
  model: string;
  capabilities: Capabilities;
  /** The characteristic the link subscribes to for notifications. */
  notify: { service: string; characteristic: string };
  /** Writes to make once after subscribing (may be empty). */
  init(): Write[];
  /** Optional periodic writes to keep the device running, with their period in ms. */
  keepalive?: { intervalMs: number; writes(): Write[] };
  /**
   * Turns a normalised command into writes. Never emits bytes for an intensity
   * outside 0..1 or NaN: it throws `RangeError` instead.
   */
  encode(command: Command): Write[];
  /** Reads one notification; never throws. */
  decode(bytes: Uint8Array): DecodeResult;
  /**
   * After `encode({ type: 'stop' })`: a message for the user when the protocol could
   * not be sure the device stopped (the chair after a reconnect without status), else undefined.
   */
  stopNotice?(): string | undefined;
  /**
   * After any other command: a message for the user when the session held the command
   * back (the chair waiting for its reset to end), else undefined. Reading clears it.
   */
  takeNotice?(): string | undefined;
  /**
   * After `encode({ type: 'stop' })` was written and the status proving "off" did not come
   * by the protocol's deadline: further stop attempts, in order, one group of writes per
   * attempt (write a group, wait for the proof again, then the next). Empty or absent when
   * the protocol has no other way to stop. (The EMS pad: run-state off, then its oldest stop.)
   */
  stopEscalation?(): Write[][];
  /**
   * How this device proves that a stop took effect (DESIGN §4). Absent: the device
   * cannot confirm, and a stop is done when its write settles.
   */
  stopProof?: StopProof;
}

/** What a status says about a stop: the motor is `off`, still `running`, or it tells neither (undefined). */
export type StopVerdict = 'off' | 'running' | undefined;

/**
 * A protocol's declaration of how a stop is confirmed. The link watches every stop: after
 * the stop's writes settle, it asks for a status at each of {@link askAtMs} (by encoding
 * `queryStatus`), reads every status that arrives after that moment with {@link judge},
 * and when none says `off` within {@link deadlineMs} it makes the next attempt of
 * {@link ProtocolSession.stopEscalation} (each with its own deadline), then says the stop
 * is unconfirmed. A device that has not reported its state in this connection
 * ({@link reportsState} false) cannot confirm: the stop is written a second time after
 * {@link CANNOT_CONFIRM_REPEAT_MS} instead.
 */
export interface StopProof {
  /** Milliseconds after a stop attempt's writes settled by which a status must say `off`. */
  deadlineMs: number;
  /** When to ask for a status, milliseconds after the attempt's writes settled (0 = right away). */
  askAtMs: readonly number[];
  /**
   * Reads one status that arrived `sinceMs` (milliseconds) after the latest stop attempt
   * settled. Never throws.
   */
  judge(status: DeviceStatus, sinceMs: number): StopVerdict;
  /** Whether the device has reported its state (answered a status request, or sent one by itself) in this connection. */
  reportsState(): boolean;
}

/** A device that cannot confirm gets its stop written again after this many milliseconds. */
export const CANNOT_CONFIRM_REPEAT_MS = 200;

/** Result of opening a session: the protocol either accepts the connected peripheral or says why not. */
export type OpenResult = { ok: true; session: ProtocolSession } | { ok: false; reason: string };

/** Properties a simulated characteristic declares (noble's names). */
export type CharacteristicProperty = 'read' | 'write' | 'writeWithoutResponse' | 'notify' | 'indicate';

/** The GATT table a simulated peripheral exposes. */
export interface SimService {
  uuid: string;
  characteristics: { uuid: string; properties: CharacteristicProperty[] }[];
}

/** A line of the "Simulated devices" panel: what the simulated peripheral decoded. */
export interface SimReadout {
  /** Short label, e.g. `Motor`. */
  label: string;
  /** Value as shown, e.g. `1750 rpm`. */
  value: string;
}

/**
 * A simulated peripheral for one protocol: it decodes the same bytes a real device
 * would receive and keeps the resulting state. Hosted by the simulated radio.
 */
export interface SimulatedPeripheral {
  /** Stable address, e.g. `sim-theragun-pro`. */
  address: string;
  /**
   * The id of the protocol this peripheral speaks (a profile id, e.g. `theragun`), as its
   * simulator knows it: the demo panel shows it without re-identifying the advertisement.
   */
  protocolId: string;
  localName: string;
  advertisement: Advertisement;
  /** Nominal RSSI in dBm. */
  rssi: number;
  services: SimService[];
  /** Called by the radio for every write the central makes. Returns false to reject (ATT error). */
  onWrite(service: string, characteristic: string, bytes: Uint8Array, withResponse: boolean): boolean;
  /** Called by the radio for a read; undefined when the characteristic is not readable. */
  onRead(service: string, characteristic: string): Uint8Array | undefined;
  /** The radio sets this so the peripheral can send notifications. */
  setNotifier(send: (service: string, characteristic: string, bytes: Uint8Array) => void): void;
  /** Called when the central subscribes or unsubscribes. */
  onSubscribe?(service: string, characteristic: string, on: boolean): void;
  /** Called when the link drops, so the peripheral can forget per-link state. */
  onDisconnect?(): void;
  /** The panel's readout of the decoded state. */
  readout(): SimReadout[];
  /** Machine-readable state for tests, e.g. `{ rpm: 1750, running: true }`. */
  state(): Record<string, number | string | boolean>;
  /** Device-side actions a person could do on the device itself (e.g. `button-max`), for tests and the demo panel. */
  actions?: string[];
  /** What the demo panel's button for each of {@link actions} says (user-facing words), by action name. */
  actionLabels?: Readonly<Record<string, string>>;
  /** Performs one of {@link actions}. */
  act?(action: string): void;
}

/** Options for creating a simulated peripheral. */
export interface SimOptions {
  address?: string;
  model?: string;
  /** Timers for device-side behaviour over time (status reports, a chair's reset); defaults to the global timers. */
  clock?: SimClock;
}

/**
 * Timers a simulated peripheral uses for what the device does by itself over time.
 * `now()` is monotonic milliseconds; `setTimeout` delays are milliseconds.
 */
export interface SimClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The global timers, for simulators that were given no clock. */
export const SYSTEM_SIM_CLOCK: SimClock = {
  now: () => (typeof performance !== 'undefined' ? performance.now() : Date.now()),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    // A simulated device's own timers never keep a process alive.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Where a protocol's facts come from (DESIGN §3); shown with the experimental flag. */
export interface ProtocolSource {
  title: string;
  /** Repository and file, or page address. */
  where: string;
}

/** A device protocol module (DESIGN §3). */
export interface ProtocolModule {
  id: string;
  displayName: string;
  kind: DeviceKind;
  /** Set when the public sources are single or disagree: a short explanation for the UI. */
  experimental?: string;
  sources: ProtocolSource[];
  /** Minimum milliseconds between two writes to this device (the write gap). */
  writeGapMs: number;
  /** Services to discover after connecting (noble form); any standard ones are added by the link. */
  services: string[];
  /** Recognises an advertisement; null when it is not this protocol. */
  identify(adv: Advertisement): IdentifyMatch | null;
  /** Accepts or refuses the connected peripheral given what discovery found. */
  open(ctx: ConnectionContext): OpenResult;
  /** Creates a fresh simulated peripheral for this protocol. */
  simulate(options?: SimOptions): SimulatedPeripheral;
}
