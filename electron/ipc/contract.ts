/**
 * The IPC contract: the one registry of channels between renderer and main, with
 * the zod schema of every request payload and the shapes of results and events.
 *
 * Plain data and zod only: it imports nothing of Node, Electron or noble, so the
 * renderer may import it (DESIGN §2). The Electron preload exposes one method per
 * request channel on `window.unknot`; the browser host carries the same channels over
 * its WebSocket (docs/bridge.md). Times are seconds unless a name ends in `Ms`.
 */
import { z } from 'zod';

/** The muscle groups of the body map; each has its own daily budget (DESIGN §1). */
export const MUSCLE_GROUPS = ['neck', 'shoulders', 'upper-back', 'rhomboids', 'lower-back'] as const;
export const MuscleGroup = z.enum(MUSCLE_GROUPS);
export type MuscleGroup = z.infer<typeof MuscleGroup>;

/** Routine motions (DESIGN §1); chairs map them to modes. */
export const Motion = z.enum(['circular', 'back-and-forth', 'on-knot', 'long-strokes']);
export type Motion = z.infer<typeof Motion>;

const Id = z.string().min(1).max(200);
/** A normalised intensity 0..1 of the device's full range. */
const Intensity = z.number().finite().min(0).max(1);
const Empty = z.object({}).strict().optional();

/** Screening answers: `true` = yes, `false` = no, absent = not answered yet. */
export const ScreeningAnswers = z.record(z.string().min(1).max(60), z.boolean());
export type ScreeningAnswers = z.infer<typeof ScreeningAnswers>;

/** Settings the user may change; the main process enforces the bounds (DESIGN §1). */
export const SettingsPatch = z
  .object({
    /** Per protocol id: intensity ceiling 0.1..1. */
    ceilings: z.record(Id, z.number().finite().min(0.1).max(1)).optional(),
    /** Session cap in seconds, 60..300. */
    sessionCapSeconds: z.number().int().min(60).max(300).optional(),
    /** Daily budget per muscle group in seconds, 60..360. */
    dailyBudgetSeconds: z.number().int().min(60).max(360).optional(),
    theme: z.enum(['system', 'light', 'dark']).optional(),
    reducedMotion: z.boolean().optional(),
    sound: z.enum(['off', 'chime', 'chime-and-voice']).optional(),
    doctorNoticeAcknowledged: z.literal(true).optional(),
    /** Global stop shortcut (Electron accelerator syntax). */
    stopShortcut: z.string().min(1).max(60).optional(),
  })
  .strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

/** Request channels with their payload schemas. Every payload is validated at the main boundary. */
export const requestSchemas = {
  'app.info': Empty,
  'adapter.get': Empty,
  /** Turns demo mode on: simulated devices join the scan results. */
  'demo.enable': Empty,
  'scan.start': Empty,
  'scan.stop': Empty,
  'device.list': Empty,
  /** The connected device's status (what `device.status` events carry), for a page that just opened. */
  'device.get': Empty,
  /** The running or paused session (`session.state` shape), or null; for a page that just opened. */
  'session.get': Empty,
  'device.connect': z.object({ peripheralId: Id, protocolId: Id.optional() }).strict(),
  'device.disconnect': Empty,
  /**
   * Stops every motor the app can reach. Always allowed, never refused for state, and its
   * payload is ignored whatever it is: a stop never fails validation.
   */
  'device.stop': z.unknown().transform(() => undefined),
  'device.setHeat': z.object({ on: z.boolean() }).strict(),
  /**
   * The user checked that the massager is off after a stop it did not confirm
   * ("It is off"): a new session on it is allowed again.
   */
  'device.confirmOff': Empty,
  'session.start': z
    .object({
      muscleGroup: MuscleGroup,
      plannedMotorSeconds: z.number().finite().positive().max(3600),
      routineId: Id.optional(),
    })
    .strict(),
  'session.heartbeat': z.object({ sessionId: Id }).strict(),
  /** Sets the intensity (0..1, before the ceiling) and optional motion for the current step. */
  'session.setStep': z.object({ sessionId: Id, intensity: Intensity, motion: Motion.optional() }).strict(),
  'session.pause': z.object({ sessionId: Id }).strict(),
  'session.resume': z.object({ sessionId: Id }).strict(),
  'session.end': z.object({ sessionId: Id }).strict(),
  /** "Stop — it hurts": stops at once and records a pain event. */
  'session.hurt': z.object({ sessionId: Id }).strict(),
  'settings.get': Empty,
  'settings.set': SettingsPatch,
  'screening.set': z.object({ answers: ScreeningAnswers }).strict(),
  'usage.today': Empty,
  'usage.history': z.object({ days: z.number().int().min(1).max(90) }).strict(),
  'data.delete': z.object({ confirm: z.literal('delete my data') }).strict(),
  'sim.state': Empty,
  'sim.fault': z.object({ peripheralId: Id, fault: z.string().min(1).max(60) }).strict(),
} as const;

export type RequestChannel = keyof typeof requestSchemas;
export const REQUEST_CHANNELS = Object.keys(requestSchemas) as RequestChannel[];
export type RequestPayload<C extends RequestChannel> = z.input<(typeof requestSchemas)[C]>;

/** Event channels pushed from main to every connected renderer. */
export const EVENT_CHANNELS = [
  'adapter.state',
  'scan.results',
  'device.status',
  'session.state',
  'session.ended',
  'safety.clamped',
  'safety.warning',
  'sim.state',
  'store.notice',
] as const;
export type EventChannel = (typeof EVENT_CHANNELS)[number];

// ---- result and event shapes (plain types; the main process builds them) ----

export type AdapterStateName =
  | 'unknown'
  | 'resetting'
  | 'unsupported'
  | 'unauthorized'
  | 'poweredOff'
  | 'poweredOn'
  | 'unavailable';

export interface AdapterInfo {
  state: AdapterStateName;
  message: string;
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
  usedSeconds: number;
  budgetSeconds: number;
  remainingSeconds: number;
  /**
   * ISO time the group's budget resets: the later of the next local midnight in the zone
   * of its latest charge and the next local midnight in the current zone (DESIGN §1).
   */
  resetsAt: string;
}

export interface SettingsView {
  ceilings: Record<string, number>;
  defaultCeiling: number;
  emsDefaultCeiling: number;
  sessionCapSeconds: number;
  dailyBudgetSeconds: number;
  theme: 'system' | 'light' | 'dark';
  reducedMotion: boolean;
  sound: 'off' | 'chime' | 'chime-and-voice';
  doctorNoticeAcknowledged: boolean;
  stopShortcut: string;
  screening: ScreeningAnswers;
  /** Question ids and texts-keys the user must answer before motor control. */
  screeningQuestions: { id: string; deviceKind?: string }[];
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

export interface SimPeripheralState {
  peripheralId: string;
  name: string;
  protocolId: string;
  connected: boolean;
  readout: { label: string; value: string }[];
  state: Record<string, number | string | boolean>;
  faults: string[];
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

/** The reply envelope of every request (IPC and WebSocket alike). */
export type Reply<T = unknown> = { ok: true; result: T } | { ok: false; error: { code: string; message: string } };

/** Error codes a request may be refused with. */
export type ErrorCode =
  | 'invalid-payload'
  | 'unknown-channel'
  | 'forbidden'
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
  /** Browser host only: the connection sent too many requests at once, or too many store writes or history reads; this one was not run. */
  | 'rate-limited'
  | 'internal';

/**
 * The `window.unknot` method name for a request channel: dots removed, camel case
 * (`session.start` → `sessionStart`). The preload exposes exactly one per channel.
 */
export function methodName(channel: RequestChannel): string {
  return channel.replace(/\.([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The `window.unknot` listener method for an event channel (`device.status` → `onDeviceStatus`). */
export function eventMethodName(event: EventChannel): string {
  const m = methodName(event as unknown as RequestChannel);
  return 'on' + m.charAt(0).toUpperCase() + m.slice(1);
}

/**
 * What the preload puts on `window.unknot`: one method per request channel (each
 * resolves to the reply envelope, never rejects) and one listener method per event
 * channel (returns an unsubscribe function).
 */
export type UnknotBridge = Record<string, (payload?: unknown) => Promise<Reply>> &
  Record<string, (listener: (payload: unknown) => void) => () => void>;
