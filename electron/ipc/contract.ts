/**
 * The IPC contract: the one registry of channels between renderer and main. Per request
 * channel ({@link channels}): the zod schema of its payload, the type of its result and
 * the error codes it may refuse with; per event ({@link events}): the type of its payload.
 * Main's handlers, the preload, the browser host and the renderer's client are typed
 * from it (`Result<C>`, `Reply<C>`, `EventPayload<E>`, `UnknotBridge`).
 *
 * Plain data and zod only: it imports nothing of Node, Electron or noble, so the
 * renderer may import it (DESIGN §2). The Electron preload exposes one method per
 * request channel on `window.unknot`; the browser host carries the same channels over
 * its WebSocket (docs/bridge.md). Times are seconds unless a name ends in `Ms`.
 */
import { z } from 'zod';
import { LIMITS } from './limits';

/** The muscle groups of the body map; each has its own daily budget (DESIGN §1). */
export const MUSCLE_GROUPS = ['neck', 'shoulders', 'upper-back', 'rhomboids', 'lower-back'] as const;
export const MuscleGroup = z.enum(MUSCLE_GROUPS);
export type MuscleGroup = z.infer<typeof MuscleGroup>;

/** Routine motions (DESIGN §1); chairs map them to modes. */
export const Motion = z.enum(['circular', 'back-and-forth', 'on-knot', 'long-strokes']);
export type Motion = z.infer<typeof Motion>;

const Id = z.string().min(1).max(200);
/** The longest motor time a `session.start` may ask for, seconds (main grants at most its session cap). */
export const MAX_PLANNED_MOTOR_SECONDS = 3600;
/** A normalised intensity 0..1 of the device's full range. */
const Intensity = z.number().finite().min(0).max(1);
const Empty = z.object({}).strict().optional();
/** A UUID in noble form (lowercase hex, no dashes: 16 or 128 bits). */
const NobleUuid = z.string().regex(/^(?:[0-9a-f]{4}|[0-9a-f]{8}|[0-9a-f]{32})$/, 'a UUID in noble form (4, 8 or 32 lowercase hex digits)');
/** One characteristic of the lab's device. */
const LabTarget = z.object({ service: NobleUuid, characteristic: NobleUuid }).strict();
/** Which device's traffic: `peripheralId`, or the connected device when absent. */
const TrafficTarget = z.object({ peripheralId: Id.optional() }).strict().optional();
/** The longest user profile file, in characters (it must fit one browser-host message). */
export const MAX_PROFILE_TEXT = 48 * 1024;

/**
 * The id of every screening question the app asks (DESIGN §1): the base questions, then
 * those a device kind adds (EMS: implant, epilepsy). The rules (`electron/safety/rules.ts`,
 * `allQuestions()`) say which are asked when; a unit test keeps both lists the same.
 */
export const SCREENING_QUESTION_IDS = ['pregnant', 'heart-condition', 'high-blood-pressure', 'implant', 'epilepsy'] as const;
const SCREENING_IDS: ReadonlySet<string> = new Set(SCREENING_QUESTION_IDS);
/** Whether `id` names one of the app's screening questions ({@link SCREENING_QUESTION_IDS}). */
export function isScreeningQuestionId(id: string): boolean {
  return SCREENING_IDS.has(id);
}

/**
 * Screening answers by question id: `true` = yes, `false` = no, absent = not answered
 * yet. Only the ids of {@link SCREENING_QUESTION_IDS} are accepted (any other key is
 * refused, so the stored answers can never grow beyond those five).
 */
export const ScreeningAnswers = z.record(
  z.string().refine(isScreeningQuestionId, { message: `Not a screening question (known: ${SCREENING_QUESTION_IDS.join(', ')}).` }),
  z.boolean(),
);
export type ScreeningAnswers = z.infer<typeof ScreeningAnswers>;

/** The colour theme. */
export const Theme = z.enum(['system', 'light', 'dark']);
export type Theme = z.infer<typeof Theme>;

/** What sounds at step changes: nothing, a chime, or a chime and the cue spoken. */
export const Sound = z.enum(['off', 'chime', 'chime-and-voice']);
export type Sound = z.infer<typeof Sound>;

/** Settings the user may change; the main process enforces the bounds (DESIGN §1). */
export const SettingsPatch = z
  .object({
    /** Per protocol id: intensity ceiling 0.1..1 ({@link LIMITS}). */
    ceilings: z.record(Id, z.number().finite().min(LIMITS.ceiling.min).max(LIMITS.ceiling.max)).optional(),
    /** Session cap in seconds, 60..300 ({@link LIMITS}). */
    sessionCapSeconds: z.number().int().min(LIMITS.sessionCapSeconds.min).max(LIMITS.sessionCapSeconds.max).optional(),
    /** Daily budget per muscle group in seconds, 60..360 ({@link LIMITS}). */
    dailyBudgetSeconds: z.number().int().min(LIMITS.dailyBudgetSeconds.min).max(LIMITS.dailyBudgetSeconds.max).optional(),
    theme: Theme.optional(),
    reducedMotion: z.boolean().optional(),
    sound: Sound.optional(),
    doctorNoticeAcknowledged: z.literal(true).optional(),
    /** Global stop shortcut (Electron accelerator syntax). */
    stopShortcut: z.string().min(1).max(60).optional(),
  })
  .strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

/**
 * A type-only marker that carries a channel's result type (or an event's payload type)
 * in the registry below; at run time it is an empty object. See {@link Result}.
 */
export interface Shape<T> {
  /** Never set: only its type matters. */
  readonly __shape?: (value: T) => T;
}

/** A channel's declaration: the zod schema of its payload, its result type, and the error codes it may refuse with besides {@link CommonErrorCode}. */
export interface ChannelSpec<S extends z.ZodType, R, E extends ErrorCode> {
  request: S;
  result: Shape<R>;
  errors: readonly E[];
}

/** Declares a channel whose result is `R`: `channel<AppInfo>()(schema, ['refused'])`. */
function channel<R>() {
  return <S extends z.ZodType, const E extends readonly ChannelErrorCodeName[] = []>(request: S, errors?: E): ChannelSpec<S, R, E[number]> => ({
    request,
    result: {},
    errors: errors ?? [],
  });
}

/** The session refusals every owner-only session channel may give (docs/bridge.md, "Ownership"). */
const OWNER_ERRORS = ['no-session', 'not-owner'] as const;

/**
 * The one registry of request channels: per channel its payload schema (every payload is
 * validated against it at the main boundary, `electron/ipc/boundary.ts`), its result type
 * and the refusal codes it may give besides the common ones.
 */
export const channels = {
  'app.info': channel<AppInfo>()(Empty),
  'adapter.get': channel<AdapterInfo>()(Empty),
  /** Turns demo mode on: simulated devices join the scan results. */
  'demo.enable': channel<AdapterInfo>()(Empty),
  /** Refused when no transport can scan (the message says why and what to do). */
  'scan.start': channel<ScanResults>()(Empty, ['refused']),
  'scan.stop': channel<ScanResults>()(Empty),
  'device.list': channel<ScanResults>()(Empty),
  /** The connected device's status (what `device.status` events carry), for a page that just opened. */
  'device.get': channel<DeviceStatusEvent>()(Empty),
  /** The running or paused session (`session.state` shape), or null; for a page that just opened. */
  'session.get': channel<SessionStateEvent | null>()(Empty),
  'device.connect': channel<DeviceStatusEvent>()(z.object({ peripheralId: Id, protocolId: Id.optional() }).strict(), [
    'refused',
    'choose-protocol',
    'device-error',
  ]),
  'device.disconnect': channel<DeviceStatusEvent>()(Empty),
  /**
   * Stops every motor the app can reach. Always allowed, never refused for state, and its
   * payload is ignored whatever it is: a stop never fails validation.
   */
  'device.stop': channel<DeviceStatusEvent>()(z.unknown().transform(() => undefined)),
  'device.setHeat': channel<DeviceStatusEvent>()(z.object({ on: z.boolean() }).strict(), [
    'not-connected',
    'refused',
    'blocked-by-screening',
    'device-not-confirmed-off',
    'stop-check-needed',
  ]),
  /**
   * The user checked that the massager is off after a stop it did not confirm
   * ("It is off"): a new session on it is allowed again.
   */
  'device.confirmOff': channel<DeviceStatusEvent>()(Empty, ['not-connected']),
  'session.start': channel<SessionStartResult>()(
    z
      .object({
        muscleGroup: MuscleGroup,
        plannedMotorSeconds: z.number().finite().positive().max(MAX_PLANNED_MOTOR_SECONDS),
        routineId: Id.optional(),
      })
      .strict(),
    ['not-connected', 'refused', 'blocked-by-screening', 'budget-exhausted', 'usage-log-full', 'device-not-confirmed-off', 'stop-check-needed'],
  ),
  /** Feeds the watchdog of the session this connection owns; answers null. */
  'session.heartbeat': channel<null>()(z.object({ sessionId: Id }).strict(), OWNER_ERRORS),
  /** Sets the intensity (0..1, before the ceiling) and optional motion for the current step. */
  'session.setStep': channel<StepResult>()(z.object({ sessionId: Id, intensity: Intensity, motion: Motion.optional() }).strict(), OWNER_ERRORS),
  'session.pause': channel<SessionStateEvent | null>()(z.object({ sessionId: Id }).strict(), OWNER_ERRORS),
  'session.resume': channel<SessionStateEvent | null>()(z.object({ sessionId: Id }).strict(), [
    ...OWNER_ERRORS,
    'not-connected',
    'blocked-by-screening',
    'refused',
    'device-not-confirmed-off',
    'stop-check-needed',
  ]),
  'session.end': channel<SessionEndedEvent>()(z.object({ sessionId: Id }).strict(), OWNER_ERRORS),
  /** "Stop — it hurts": stops at once and records a pain event. */
  'session.hurt': channel<SessionEndedEvent>()(z.object({ sessionId: Id }).strict(), OWNER_ERRORS),
  'settings.get': channel<SettingsView>()(Empty),
  'settings.set': channel<SettingsView>()(SettingsPatch),
  'screening.set': channel<SettingsView>()(z.object({ answers: ScreeningAnswers }).strict()),
  'usage.today': channel<BudgetInfo[]>()(Empty),
  'usage.history': channel<UsageHistoryResult>()(z.object({ days: z.number().int().min(1).max(90) }).strict()),
  /** Deletes the screening answers, settings and usage history (each group's budget day in force is kept). */
  'data.delete': channel<SettingsView>()(z.object({ confirm: z.literal('delete my data') }).strict()),
  /**
   * The stop check of a device on a user profile (before its first motor use): a session
   * under the governor for `muscleGroup` (its motor time is charged there), the lowest
   * running step for 2 s of real time, then the stop. Answers once the stop is on the wire;
   * the device status then says `stopCheck: 'asking'` until `stopCheck.answer`.
   */
  'stopCheck.run': channel<DeviceStatusEvent>()(z.object({ muscleGroup: MuscleGroup }).strict(), [
    'not-connected',
    'refused',
    'blocked-by-screening',
    'budget-exhausted',
    'usage-log-full',
    'device-not-confirmed-off',
    'stop-check-needed',
  ]),
  /**
   * The user's answer to "Did it stop?" after `stopCheck.run`: remembered for this device
   * and this version of its profile. `stopped: false` keeps motor control off for the
   * device until its profile file changes.
   */
  'stopCheck.answer': channel<DeviceStatusEvent>()(z.object({ stopped: z.boolean() }).strict(), ['not-connected', 'refused']),
  'sim.state': channel<SimPeripheralState[]>()(Empty),
  'sim.fault': channel<SimPeripheralState[]>()(z.object({ peripheralId: Id, fault: z.string().min(1).max(60) }).strict(), ['refused']),
  /** The user profiles in the data folder's `profiles/`, as last loaded: each file accepted or refused with its errors. */
  'profiles.list': channel<ProfilesView>()(Empty),
  /** Reads the `profiles/` folder again (after the user dropped a file in it). */
  'profiles.reload': channel<ProfilesView>()(Empty),
  /**
   * Imports one profile file (the browser host's upload and Electron's file picker both
   * send its text here): validated first; a valid one is saved into `profiles/` and the
   * folder reloaded, a broken one is not saved and comes back with its errors. Refused
   * only when the file cannot be saved.
   */
  'profiles.import': channel<ProfileImportResult>()(
    z.object({ fileName: z.string().min(1).max(200), text: z.string().max(MAX_PROFILE_TEXT) }).strict(),
    ['refused'],
  ),
  /** The device lab (read-only): where its one connection stands, its GATT table and the latest notifications. */
  'lab.get': channel<LabView>()(Empty),
  /**
   * Opens the lab's read-only connection to any device in the scan list, known or not, and
   * discovers its whole GATT table. It never writes a characteristic, moves no motor and
   * holds no session; a device Unknot is connected to as a massager is refused.
   */
  'lab.connect': channel<LabView>()(z.object({ peripheralId: Id }).strict(), ['refused', 'device-error']),
  /** Closes the lab's connection (its capture is kept for `lab.capture` until the next `lab.connect`). */
  'lab.disconnect': channel<LabView>()(Empty),
  /** Reads one readable characteristic of the lab's device: hex, and text when it is printable UTF-8. */
  'lab.read': channel<LabReadResult>()(LabTarget, ['not-connected', 'refused', 'device-error']),
  /** Subscribes to one notifying (or indicating) characteristic: each notification is a `lab.notification` event. */
  'lab.subscribe': channel<LabView>()(LabTarget, ['not-connected', 'refused', 'device-error']),
  /** The capture of the lab's device as JSON lines, to download and attach to a protocol report. */
  'lab.capture': channel<LabCapture>()(Empty, ['not-connected']),
  /**
   * A profile draft to start from: the lab's device as discovered (its name, the service
   * with a writable characteristic and the notifying one beside it) filled into a profile
   * whose frames the user still has to write. Refused when the lab has not explored a device.
   */
  'draft.template': channel<DraftTemplate>()(Empty, ['not-connected']),
  /**
   * Checks a draft's text as the user types: the same checks as a user profile file (JSON,
   * the profile schema, a stop, no hook, an id not built in), each problem with its field
   * path (and line for JSON syntax errors), and whether it would identify the lab's device.
   */
  'draft.check': channel<DraftCheck>()(z.object({ text: z.string().max(MAX_PROFILE_TEXT) }).strict()),
  /**
   * Tries a valid draft on a device of the scan list: the draft becomes a protocol for this
   * run only (marked as the user's draft), and the device is connected with it as a
   * massager under the governor, like any user profile: the stop check first, the 30%
   * default ceiling and the slowest ramp. The lab's own connection to that device is closed.
   * Refused while a session runs, or when the draft has problems (`draft.check` lists them).
   */
  'draft.try': channel<DeviceStatusEvent>()(z.object({ text: z.string().max(MAX_PROFILE_TEXT), peripheralId: Id }).strict(), [
    'refused',
    'choose-protocol',
    'device-error',
  ]),
  /** Ends a try: stops and disconnects a device connected with the draft, and forgets the draft. */
  'draft.end': channel<DeviceStatusEvent>()(Empty),
  // ---- a device's recent traffic, to report a device that misbehaves (issue 17, part 5) ----
  /**
   * The latest entries (at most {@link TRAFFIC_VIEW_SIZE}, oldest first) of the traffic ring
   * buffer of `peripheralId` (default: the connected device): the writes the app made to it,
   * its notifications and the link's events. Refused with `not-connected` for a device that
   * was never connected while the app runs.
   */
  'device.traffic': channel<DeviceTrafficView>()(TrafficTarget, ['not-connected']),
  /**
   * The whole traffic buffer of `peripheralId` (default: the connected device) as a capture
   * file (JSON lines, the `lab.capture` shape): a header, the advertisement, then every
   * buffered entry, oldest first. Only that device is in it.
   */
  'device.capture': channel<LabCapture>()(TrafficTarget, ['not-connected']),
} as const;

/** The name of a request channel, e.g. `session.start`. */
export type RequestChannel = keyof typeof channels;
/** Every request channel, in registry order. */
export const REQUEST_CHANNELS = Object.keys(channels) as RequestChannel[];
/** Each request channel's payload schema (the `request` of {@link channels}). */
export const requestSchemas = Object.fromEntries(REQUEST_CHANNELS.map((c) => [c, channels[c].request])) as {
  readonly [C in RequestChannel]: (typeof channels)[C]['request'];
};
/** What a renderer sends on channel `C` (before validation). */
export type RequestPayload<C extends RequestChannel> = z.input<(typeof channels)[C]['request']>;
/** What a handler of channel `C` receives: the payload as its schema parsed it. */
export type RequestInput<C extends RequestChannel> = z.output<(typeof channels)[C]['request']>;
/** The result of channel `C` on success. */
export type Result<C extends RequestChannel> = C extends RequestChannel ? ((typeof channels)[C]['result'] extends Shape<infer R> ? R : never) : never;
/** The codes channel `C` may be refused with: the common ones and its own. */
export type ChannelErrorCode<C extends RequestChannel> = CommonErrorCode | (typeof channels)[C]['errors'][number];

/** Declares an event whose payload is `P`. */
const event = <P>(): Shape<P> => ({});

/** The events main pushes to every connected renderer, with their payload types. */
export const events = {
  'adapter.state': event<AdapterInfo>(),
  'scan.results': event<ScanResults>(),
  'device.status': event<DeviceStatusEvent>(),
  'session.state': event<SessionStateEvent>(),
  'session.ended': event<SessionEndedEvent>(),
  /** The governor commanded less than was asked (the intensity ceiling). */
  'safety.clamped': event<ClampedEvent>(),
  'safety.warning': event<WarningEvent>(),
  'sim.state': event<SimPeripheralState[]>(),
  /** A store file was reset, adjusted or could not be saved. */
  'store.notice': event<StoreNotice>(),
  /** The user profiles were loaded again (a reload or an import). */
  'profiles.changed': event<ProfilesView>(),
  /** The lab's connection changed (connected, its table discovered, a subscription, dropped). */
  'lab.state': event<LabView>(),
  /** One notification from the lab's device. */
  'lab.notification': event<LabNotification>(),
  /** New entries of one device's traffic buffer, batched (at most one event per device every 250 ms). */
  'device.traffic': event<DeviceTrafficBatch>(),
} as const;

/** The name of an event channel, e.g. `device.status`. */
export type EventChannel = keyof typeof events;
/** Every event channel, in registry order. */
export const EVENT_CHANNELS = Object.keys(events) as EventChannel[];
/** The payload of event `E`. */
export type EventPayload<E extends EventChannel> = E extends EventChannel ? ((typeof events)[E] extends Shape<infer P> ? P : never) : never;

// ---- result and event shapes (plain types; the main process builds them) ----

/** noble's adapter states, plus `unavailable` when noble cannot even be loaded. */
export type AdapterStateName =
  | 'unknown'
  | 'resetting'
  | 'unsupported'
  | 'unauthorized'
  | 'poweredOff'
  | 'poweredOn'
  | 'unavailable';

/** The Bluetooth adapter's state, what it means for the user and what they can do about it. */
export interface AdapterInfo {
  state: AdapterStateName;
  /** One sentence for the user, e.g. "Bluetooth is switched off." */
  message: string;
  /** What to do, e.g. "Switch Bluetooth on in your system settings." (empty when nothing to do). */
  hint: string;
  /** Whether simulated devices are on (demo mode). */
  demo: boolean;
}

export interface AppInfo {
  version: string;
  host: 'electron' | 'browser';
  demo: boolean;
  /** Demo-only factor by which routine time runs faster (1 normally). */
  timeScale: number;
  dataDir: string;
}

export interface ProtocolCandidate {
  protocolId: string;
  displayName: string;
  confidence: 'strong' | 'candidate';
  experimental?: string;
  kind: 'percussive' | 'chair' | 'cushion' | 'ems';
  /** Set when the protocol comes from a profile file of the user's (shown as "your profile — not verified"). */
  userProfile?: UserProfileMark;
}

/** Which user profile file a protocol comes from, and which version of it. */
export interface UserProfileMark {
  /** The file's base name in the data folder's `profiles/`, e.g. `my-cushion.json`. */
  file: string;
  /** A digest of the file's text: it changes whenever the file does. */
  version: string;
  /** Set for a draft being tried from the lab (`draft.try`): not saved anywhere yet. */
  draft?: true;
}

/** What `draft.template` answers: a draft's text (pretty-printed JSON) and the file name it would be saved as. */
export interface DraftTemplate {
  text: string;
  fileName: string;
}

/** One problem of a draft: a profile problem, with the 1-based line and column when the text could not be parsed. */
export interface DraftProblem extends ProfileProblem {
  line?: number;
  column?: number;
}

/** What `draft.check` answers. */
export interface DraftCheck {
  ok: boolean;
  /** Every problem found (empty when `ok`). */
  errors: DraftProblem[];
  /** When `ok`: the profile's id, name and kind, and the version its stop check would be remembered for. */
  profile?: { id: string; name: string; kind: ProtocolCandidate['kind']; version: string; steps: number };
  /** When `ok` and the lab has a device: whether the draft's identify rules match that device's advertisement. */
  identifiesLabDevice?: boolean;
  /**
   * When `ok`: what the draft leaves unguarded, each with its field path (a step written
   * scaled, so the ceiling's step is not the device's level; no status that reports the
   * level, so nothing checks the ceiling at the device; no stop proof, so no stop is confirmed).
   */
  warnings?: ProfileProblem[];
}

/** One problem in a profile file: where (a field path such as `capabilities.steps`, or `(root)`) and why. */
export interface ProfileProblem {
  path: string;
  message: string;
}

/** One file of the `profiles/` folder: accepted (with what it describes) or refused whole (with every problem). */
export type ProfileFileResult =
  | { file: string; ok: true; id: string; name: string; kind: ProtocolCandidate['kind']; version: string }
  | { file: string; ok: false; errors: ProfileProblem[] };

/** The user profiles as loaded: the folder and each file, in name order. */
export interface ProfilesView {
  /** Absolute path of the data folder's `profiles/`. */
  folder: string;
  files: ProfileFileResult[];
}

/** What `profiles.import` answers: the imported file's result (saved only when `ok`) and the folder after it. */
export interface ProfileImportResult {
  result: ProfileFileResult;
  view: ProfilesView;
}

export interface ScanEntry {
  peripheralId: string;
  name: string;
  rssi: number;
  simulated: boolean;
  /** Connected before: listed first, and its protocol choice is reused. */
  remembered: boolean;
  /** The protocol remembered for this device (the user's pick or the one that connected). */
  rememberedProtocolId?: string;
  candidates: ProtocolCandidate[];
  lastSeenMs: number;
  /** What the device advertises, for the lab: every device is listed, known or not. */
  advertisement: AdvertisementView;
}

/** An advertisement as the lab shows it: UUIDs in noble form, bytes as lowercase hex without spaces. */
export interface AdvertisementView {
  serviceUuids: string[];
  /** Manufacturer data (the company id's two bytes first, little-endian, as on the air). */
  manufacturerData?: string;
  serviceData?: { uuid: string; data: string }[];
}

export interface ScanResults {
  scanning: boolean;
  devices: ScanEntry[];
}

export interface DeviceStatusEvent {
  connection: 'disconnected' | 'connecting' | 'connected' | 'reconnecting';
  peripheralId?: string;
  name?: string;
  protocolId?: string;
  kind?: ProtocolCandidate['kind'];
  experimental?: string;
  simulated?: boolean;
  model?: string;
  /** Device steps above 0 and their unit. */
  steps?: number;
  stepUnit?: string;
  /** The highest step the ceiling allows. */
  maxStep?: number;
  ceiling?: number;
  running?: boolean;
  /** Last step the app wrote (0 when stopped). */
  commandedStep?: number;
  /** The level the device itself reports (for the chair: its speed 1–6, while its rollers move). */
  reportedLevel?: number;
  /**
   * What the device says it is doing, where it tells more than on/off (the chair):
   * `idle`, `resetting` (returning to rest after a power-off), `ready` (on, still), `running`.
   */
  runState?: 'idle' | 'resetting' | 'ready' | 'running';
  /** Seconds left on the device's own program timer while it runs (the chair). */
  secondsLeft?: number;
  batteryPercent?: number;
  firmware?: string;
  /** From the standard Device Information service, where the device has it. */
  manufacturer?: string;
  modelNumber?: string;
  modes?: string[];
  mode?: string;
  heat?: boolean;
  hasHeat?: boolean;
  message?: string;
  /** How the latest stop stands (absent before the first stop on this connection). */
  stop?: StopStatus;
  /**
   * true after a stop the massager did not confirm, until the user says it is off
   * (`device.confirmOff`): no session may start on it before that.
   */
  offUnconfirmed?: boolean;
  /** How to switch this massager off by hand (its power button, the chair's remote). */
  handOff?: string;
  /** The safety rules that apply to this device (its kind's); present whenever the event names a device. */
  rules?: SafetyRules;
  /** Set when the device runs on a user profile ("your profile — not verified"). */
  userProfile?: UserProfileMark;
  /**
   * A device on a user profile only: where its stop check stands for this version of the
   * profile. `needed` (no motor use before it), `running` (the lowest step, then the stop),
   * `asking` ("Did it stop?"), `passed` (the user said yes), `failed` (the user said no:
   * motor control stays off until the profile changes).
   */
  stopCheck?: StopCheckState;
}

/** See {@link DeviceStatusEvent.stopCheck}. */
export type StopCheckState = 'needed' | 'running' | 'asking' | 'passed' | 'failed';

/**
 * The safety rules that apply to a device, as main enforces them (its rules table,
 * `electron/safety/rules.ts`): the renderer shows these and never derives its own.
 * Seconds; ceilings are fractions 0..1 of the device's range.
 */
export interface SafetyRules {
  /** The device kind they are for; absent: no device is connected (the general rules). */
  kind?: ProtocolCandidate['kind'];
  /** The ceiling for a device of this kind the user has not set. */
  defaultCeiling: number;
  /** The ceiling a user may set. */
  ceilingRange: { min: number; max: number };
  /** Motor-on seconds per session the user may set, and the default. */
  sessionCapSeconds: { min: number; max: number; default: number };
  /** Motor-on seconds per muscle group per day the user may set (lowered only), and the default. */
  dailyBudgetSeconds: { min: number; max: number; default: number };
  /** With less than this left today for a group, no session starts on it. */
  minGrantSeconds: number;
  /** Muscle groups this device is never used on (EMS: the neck). */
  excludedGroups: MuscleGroup[];
  /** The screening questions that apply, base first (ids; texts live in the renderer). */
  screeningQuestions: { id: string; deviceKind?: string }[];
  /** How to switch this kind of device off by hand (absent without a device). */
  handOff?: string;
  /** Set for a device on a user profile: its default ceiling is the user-profile one and its ramp the slowest. */
  userProfile?: true;
}

/**
 * The latest stop as far as the device could say: `waiting` for its proof, `confirmed`
 * by the device, `unconfirmed` (its deadline and every repeat passed: switch it off by
 * hand), `cannot-confirm` (the device does not report its state: the stop was sent twice).
 */
export interface StopStatus {
  state: 'waiting' | 'confirmed' | 'unconfirmed' | 'cannot-confirm';
  /** Stop attempts made (1 = the stop itself). */
  attempts: number;
  /** Milliseconds from the stop's first write settling to the device's proof (confirmed only). */
  latencyMs?: number;
  /** Confirmed only: the proof came after the stop had ended `unconfirmed` (the device reported off later). */
  late?: true;
}

export type SessionEndReason =
  | 'completed'
  | 'user-stop'
  | 'hurt'
  | 'session-cap'
  | 'daily-budget'
  | 'watchdog'
  | 'connection-lost'
  | 'window-closed'
  | 'device-lost'
  | 'app-quit'
  | 'suspend'
  | 'stop-unconfirmed'
  /** A health answer changed so that the motor may not run for this device and area. */
  | 'screening'
  | 'above-ceiling'
  | 'error';

export interface SessionStartResult {
  sessionId: string;
  grantedMotorSeconds: number;
  /** true when the daily budget shortened the plan; the routine scales its steps. */
  shortened: boolean;
  /** Suggested intensity factor (below 1 after a pain event in this group). */
  intensityFactor: number;
}

export interface SessionStateEvent {
  sessionId: string;
  state: 'running' | 'paused' | 'ended';
  muscleGroup: MuscleGroup;
  routineId?: string;
  grantedMotorSeconds: number;
  usedMotorSeconds: number;
  pausedReason?: string;
}

export interface SessionEndedEvent {
  sessionId: string;
  reason: SessionEndReason;
  message: string;
  usedMotorSeconds: number;
}

export interface ClampedEvent {
  requestedStep: number;
  commandedStep: number;
  maxStep: number;
  stepUnit: string;
}

export interface WarningEvent {
  code: string;
  message: string;
}

export interface BudgetInfo {
  muscleGroup: MuscleGroup;
  /**
   * Motor seconds used in the group's budget day in force: charged, plus any still being
   * counted (a stop awaiting its proof, a massager out of reach or not confirmed off).
   */
  usedSeconds: number;
  budgetSeconds: number;
  remainingSeconds: number;
  /**
   * ISO time the group's budget resets: the later of the next local midnight in the zone
   * of its latest charge and the next local midnight in the current zone (DESIGN §1).
   */
  resetsAt: string;
}

/**
 * The settings a user chooses, as main holds them (the store keeps them with its own
 * bookkeeping, `electron/store/settings.ts`). Times are seconds; ceilings fractions 0.1..1.
 */
export interface UserSettings {
  /** Per protocol id: intensity ceiling 0.1..1. Absent ⇒ the default for the device kind. */
  ceilings: Record<string, number>;
  /** Session cap in seconds (60..300). */
  sessionCapSeconds: number;
  /** Daily motor-time budget per muscle group in seconds (60..360). */
  dailyBudgetSeconds: number;
  theme: Theme;
  reducedMotion: boolean;
  sound: Sound;
  doctorNoticeAcknowledged: boolean;
  /** Global stop shortcut (Electron accelerator syntax). */
  stopShortcut: string;
  /** Screening answers by question id: true = yes (blocks motor control), false = no. */
  screening: ScreeningAnswers;
}

/** What `settings.get` answers: the user's settings with the defaults and what follows from them. */
export interface SettingsView extends UserSettings {
  defaultCeiling: number;
  emsDefaultCeiling: number;
  /** Every question the app may ask (ids and the device kind they are for); `rules` says which apply now. */
  screeningQuestions: { id: string; deviceKind?: string }[];
  /** The rules that apply to the connected device at the time of the reply, or the general ones without one. */
  rules: SafetyRules;
  /** true when any answer is yes: motor control is disabled. */
  motorBlocked: boolean;
  dataDir: string;
  /** Added by the desktop shell (absent in the browser host): see {@link DesktopShellView}. */
  desktop?: DesktopShellView;
}

/**
 * What this desktop honours, as the Electron shell found it. `stopShortcut` is the global
 * stop shortcut that works here, or null when none does, with the reason:
 * `taken` (another application holds it, or it is not a valid shortcut), `no-portal` (a
 * Wayland desktop without the global shortcuts portal: it could never fire),
 * `unconfirmed` (Wayland, and the desktop could not be asked). `tray`: whether a tray
 * icon can show (null: could not tell).
 */
export interface DesktopShellView {
  stopShortcut: string | null;
  stopShortcutProblem: 'taken' | 'no-portal' | 'unconfirmed' | null;
  tray: boolean | null;
}

/** One characteristic of a GATT table, as the lab shows it. */
export interface LabCharacteristic {
  /** Noble form. */
  uuid: string;
  /** As the device declares them: `read`, `write`, `writeWithoutResponse`, `notify`, `indicate`, … */
  properties: string[];
  /** Descriptor UUIDs (noble form), where the transport discovers them. */
  descriptors?: string[];
  /** The lab is subscribed to its notifications. */
  subscribed: boolean;
}

/** One service of a GATT table and its characteristics. */
export interface LabService {
  uuid: string;
  characteristics: LabCharacteristic[];
}

/** One notification the lab received. */
export interface LabNotification {
  peripheralId: string;
  /** Wall-clock time, ms since the epoch. */
  atMs: number;
  service: string;
  characteristic: string;
  /** The bytes, lowercase hex without spaces. */
  hex: string;
}

/**
 * Where the lab's one read-only connection stands. `state`: `idle` (never connected),
 * `connecting`, `connected` (its table discovered), `disconnected` (closed or dropped;
 * `message` says why when it dropped).
 */
export interface LabView {
  state: 'idle' | 'connecting' | 'connected' | 'disconnected';
  peripheralId?: string;
  name?: string;
  services: LabService[];
  message?: string;
  /** The latest notifications, oldest first (at most 200). */
  log: LabNotification[];
  /** A capture of this device can be downloaded (`lab.capture`). */
  captureReady: boolean;
}

/** What `lab.read` answers. */
export interface LabReadResult {
  service: string;
  characteristic: string;
  atMs: number;
  hex: string;
  /** The bytes as text when they are printable UTF-8, else null. */
  text: string | null;
}

// ---- a device's traffic (device.traffic, device.capture) ----

/** How many entries `device.traffic` answers at most (the latest). */
export const TRAFFIC_VIEW_SIZE = 200;

/**
 * What a write was for, as the device link knows it: `stop` (a stop, its repeat or a
 * further attempt), `step` (an intensity), `mode` (a mode, motion or power on), `command`
 * (another command, e.g. heat or a timer), `keepalive`, `init` (the protocol's writes on
 * connecting), `status-query` (asking for the device's state to confirm a stop),
 * `follow-up` (the protocol's answer to a notification).
 */
export type TrafficWritePurpose = 'stop' | 'step' | 'mode' | 'command' | 'keepalive' | 'init' | 'status-query' | 'follow-up';

/**
 * Link events in a device's traffic: `connected` / `reconnected` (the link is up and its
 * services found), `dropped` (lost unexpectedly), `closed` (closed by the app),
 * `reconnecting` (an attempt is scheduled), `reconnect-failed` (given up), `stop-confirmed`,
 * `stop-unconfirmed`, `stop-cannot-confirm` (the verdict on a stop), `notice` (what the
 * protocol told the user).
 */
export type TrafficLinkEvent =
  | 'connected'
  | 'reconnected'
  | 'dropped'
  | 'closed'
  | 'reconnecting'
  | 'reconnect-failed'
  | 'stop-confirmed'
  | 'stop-unconfirmed'
  | 'stop-cannot-confirm'
  | 'notice';

/** What every traffic entry carries: `t`, ms on the app's monotonic clock since its traffic log began; `at`, the wall-clock ISO time. */
interface TrafficStamp {
  t: number;
  at: string;
}

/**
 * One write the app made to a massager: UUIDs in noble form, the bytes as lowercase hex,
 * `outcome` `written` (acknowledged, or sent when without response), `failed` (refused or
 * lost; `error` says why) or `timed-out` (no answer within the write timeout).
 */
export interface TrafficWrite extends TrafficStamp {
  type: 'write';
  service: string;
  characteristic: string;
  /** The bytes as hex: at most the first 256 of them (see `fullLength`). */
  hex: string;
  /** The write's length in bytes, when `hex` holds only its beginning. */
  fullLength?: number;
  withResponse: boolean;
  purpose: TrafficWritePurpose;
  outcome: 'written' | 'failed' | 'timed-out';
  error?: string;
}

/** One notification from a massager: `decoded` whether its protocol could read it (`reason` says why not). */
export interface TrafficNotification extends TrafficStamp {
  type: 'notification';
  service: string;
  characteristic: string;
  /** The bytes as hex: at most the first 256 of them (see `fullLength`). */
  hex: string;
  /** The notification's length in bytes, when `hex` holds only its beginning. */
  fullLength?: number;
  decoded: boolean;
  reason?: string;
}

/** One event of the link (see {@link TrafficLinkEvent}); `detail` in words (a reason, a latency). */
export interface TrafficLinkEntry extends TrafficStamp {
  type: 'link';
  event: TrafficLinkEvent;
  detail?: string;
}

/** One entry of a device's traffic buffer. */
export type TrafficEntry = TrafficWrite | TrafficNotification | TrafficLinkEntry;

/** What `device.traffic` answers: the device and its latest entries, oldest first. */
export interface DeviceTrafficView {
  peripheralId: string;
  name: string;
  entries: TrafficEntry[];
}

/** The `device.traffic` event: entries new since the last batch of that device, oldest first. */
export interface DeviceTrafficBatch {
  peripheralId: string;
  entries: TrafficEntry[];
  /** Older entries of the same 250 ms left out of this batch (at most 200 go in one); `device.traffic` answers them. */
  skipped?: number;
}

/** What `lab.capture` answers: a JSON-lines file (one object per line) and a name to save it under. */
export interface LabCapture {
  fileName: string;
  text: string;
  lines: number;
}

/**
 * One simulated peripheral in `sim.state`: `protocolId` is the protocol its simulator speaks
 * (not re-identified from its advertisement); `faults` the names `sim.fault` takes for it
 * (the radio's faults, then the device's own actions), and `faultLabels` the words the panel
 * shows for each of them and for `clear`, by name.
 */
export interface SimPeripheralState {
  peripheralId: string;
  name: string;
  protocolId: string;
  connected: boolean;
  readout: { label: string; value: string }[];
  state: Record<string, number | string | boolean>;
  faults: string[];
  faultLabels: Record<string, string>;
}

/** What `session.setStep` answers: the step commanded after the ceiling and the highest step it allows. */
export interface StepResult {
  commandedStep: number;
  maxStep: number;
}

/** Per muscle group, for one day of `usage.history`. */
export interface UsageGroupDay {
  /** Motor-on seconds (millisecond precision). */
  motorSeconds: number;
  /** The same in minutes, rounded to 0.01. */
  motorMinutes: number;
  /** Number of pain events. */
  painEvents: number;
}

/** One local calendar day of `usage.history`. */
export interface UsageDay {
  /** `YYYY-MM-DD`. */
  date: string;
  groups: Record<MuscleGroup, UsageGroupDay>;
}

/** A "Stop — it hurts" event. */
export interface PainEvent {
  /** ISO time. */
  at: string;
  muscleGroup: MuscleGroup;
  sessionId: string;
}

/** The usage history of the last days (what the usage log's `history` builds). */
export interface UsageHistory {
  /** Oldest first; the last entry is today. */
  days: UsageDay[];
  /** Pain events within those days, oldest first. */
  painEvents: PainEvent[];
}

/** What `usage.history` answers: the history, and the same days as CSV text for export. */
export interface UsageHistoryResult extends UsageHistory {
  csv: string;
}

/** Something the user should be told about a store file (the `store.notice` event). */
export interface StoreNotice {
  /**
   * `reset`: the file was unusable, moved aside, defaults are in use.
   * `adjusted`: values out of bounds (e.g. hand-edited) were brought to the safe side.
   * `write-failed`: a save failed; the data is kept in memory and retried.
   */
  kind: 'reset' | 'adjusted' | 'write-failed';
  /** Base name of the file, e.g. `settings.json`. */
  file: string;
  /** Absolute path of the file. */
  path: string;
  /** Absolute path of the kept old copy (`<name>.corrupt-<timestamp>`), or null if none was kept. */
  movedTo: string | null;
  /** `missing`: the usage log is gone though the settings say one was kept (issue 13). */
  reason: 'unreadable' | 'corrupt' | 'invalid' | 'out-of-bounds' | 'io-error' | 'missing';
  /** Technical detail (parser or validation message, error code). */
  detail: string;
  /** One or two plain sentences for the user. */
  message: string;
  /** ISO time the notice was raised. */
  at: string;
}

/** Object keys no payload may carry, at any depth (they would reach prototypes). */
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];

/**
 * The path of the first forbidden key (`__proto__`, `constructor`, `prototype`) found as an
 * own property anywhere in a payload, e.g. `answers.__proto__`; undefined when there is none.
 * zod drops such keys from records silently, so the boundary looks for them before parsing.
 * Nesting deeper than 20 levels is reported as `(too deep)`.
 */
export function forbiddenKeyPath(payload: unknown, depth = 0): string | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  if (depth > 20) return '(too deep)';
  for (const key of Object.keys(payload)) {
    if (FORBIDDEN_KEYS.includes(key)) return key;
    const inner = forbiddenKeyPath((payload as Record<string, unknown>)[key], depth + 1);
    if (inner !== undefined) return `${key}.${inner}`;
  }
  return undefined;
}

/** The reply envelope of a request on channel `C` (IPC and WebSocket alike); without `C`, of any channel. */
export type Reply<C extends RequestChannel = RequestChannel> =
  | { ok: true; result: Result<C> }
  | { ok: false; error: { code: ChannelErrorCode<C>; message: string } };

/** Error codes a request may be refused with. Which channel gives which: {@link channels}. */
export type ErrorCode =
  | CommonErrorCode
  | 'not-connected'
  | 'no-session'
  | 'not-owner'
  | 'refused'
  | 'blocked-by-screening'
  | 'budget-exhausted'
  /** The usage log holds as many sessions from today and yesterday as it keeps: no new session until older ones can go. */
  | 'usage-log-full'
  /** `device.connect` without `protocolId` for a device that matches several protocols. */
  | 'choose-protocol'
  | 'device-error'
  /** The massager did not confirm its last stop: the user must say it is off (`device.confirmOff`) first. */
  | 'device-not-confirmed-off'
  /** A device on a user profile has not passed its stop check for this version of the profile (or failed it). */
  | 'stop-check-needed';

/**
 * Codes any request may get, whatever its channel: a payload its schema refuses
 * (`invalid-payload`), a channel not in the registry (`unknown-channel`), a sender that is
 * not an Unknot window (`forbidden`, Electron), too many requests (`rate-limited`, browser
 * host), a failure inside main (`internal`: the massager was stopped), and `connection-lost`,
 * which the renderer's own client gives when it has no contact with main.
 */
export const COMMON_ERROR_CODES = ['invalid-payload', 'unknown-channel', 'forbidden', 'rate-limited', 'internal', 'connection-lost'] as const;
/** One of {@link COMMON_ERROR_CODES}. */
export type CommonErrorCode = (typeof COMMON_ERROR_CODES)[number];

/** The codes a channel declares for itself in {@link channels} (the common ones are implied). */
export type ChannelErrorCodeName = Exclude<ErrorCode, CommonErrorCode>;

/** `a.bC.d` → `aBCD`: dots removed, the letter after each one upper-cased (see {@link methodName}). */
export type MethodName<S extends string> = S extends `${infer Head}.${infer Rest}` ? `${Head}${Capitalize<MethodName<Rest>>}` : S;
/** `device.status` → `onDeviceStatus` (see {@link eventMethodName}). */
export type EventMethodName<E extends string> = `on${Capitalize<MethodName<E>>}`;

/**
 * The `window.unknot` method name for a request channel: dots removed, camel case
 * (`session.start` → `sessionStart`). The preload exposes exactly one per channel.
 */
export function methodName<C extends string>(channel: C): MethodName<C> {
  return channel.replace(/\.([a-z])/g, (_m, c: string) => c.toUpperCase()) as MethodName<C>;
}

/** The `window.unknot` listener method for an event channel (`device.status` → `onDeviceStatus`). */
export function eventMethodName<E extends EventChannel>(event: E): EventMethodName<E> {
  const m = methodName(event as string);
  return ('on' + m.charAt(0).toUpperCase() + m.slice(1)) as EventMethodName<E>;
}

/**
 * What the preload puts on `window.unknot`: one method per request channel, which sends
 * that channel's payload and resolves to its reply envelope (never rejects), and one
 * listener method per event channel, which calls the listener with that event's payload
 * and returns an unsubscribe function.
 */
export type UnknotBridge = {
  readonly [C in RequestChannel as MethodName<C>]: (payload?: RequestPayload<C>) => Promise<Reply<C>>;
} & {
  readonly [E in EventChannel as EventMethodName<E>]: (listener: (payload: EventPayload<E>) => void) => () => void;
};
