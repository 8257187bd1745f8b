/**
 * The profile engine: turns a validated device profile (`schema.ts`) into the
 * {@link ProtocolModule} the app drives — identification, the GATT roles chosen by what
 * discovery found, a session that encodes normalised commands into the profile's frames
 * and decodes its notifications, the stop and how it is confirmed. A profile naming a
 * hook hands its session to that code (`protocols/hooks/`), with the profile's frames and
 * decoder at hand.
 */
import { intensityToStep } from '../intensity';
import { canNotify, canWrite, findCharacteristic, hasBattery } from '../standard';
import type {
  Advertisement,
  Capabilities,
  Command,
  ConnectionContext,
  DecodeResult,
  DeviceStatus,
  FoundCharacteristic,
  IdentifyMatch,
  OpenResult,
  ProtocolModule,
  ProtocolSession,
  SimOptions,
  SimulatedPeripheral,
  StopProof,
  StopVerdict,
  Write,
} from '../types';
import { buildFrame, createDecoder } from './codec';
import { offByHandRule, type DeviceProfile, type GattVariant, type IdentifyRule, type OffByHandRule, type Send } from './schema';

/** What a hook gets to build a session for one connection. */
export interface HookContext {
  profile: DeviceProfile;
  /** The GATT variant chosen after discovery. */
  variant: GattVariant;
  ctx: ConnectionContext;
  model: string;
  capabilities: Capabilities;
  /**
   * One write of a profile frame with the given values, to the variant's write
   * characteristic with the variant's write type.
   * @throws RangeError for an unknown frame or a value that does not fit.
   */
  write(frame: string, values?: Readonly<Record<string, number>>, delayAfterMs?: number): Write;
  /** A fresh decoder of the profile's notifications (stateless across frames unless it reassembles). */
  decoder(): (bytes: Uint8Array) => DecodeResult;
}

/** Code for what a profile's data cannot say: builds the session of one connection. */
export type ProfileHook = (h: HookContext) => ProtocolSession;

/** Options for {@link moduleFromProfile}. */
export interface ModuleOptions {
  /** The simulator to use (a hand-written one); absent: none, and `simulate` throws. */
  simulate?: (options?: SimOptions) => SimulatedPeripheral;
  /** Hooks by name, for profiles that name one. */
  hooks?: Readonly<Record<string, ProfileHook>>;
}

/** The byte pattern `"68 79 ??"` as bytes and a wildcard mask. */
function parsePattern(text: string): { bytes: number[]; any: boolean[] } {
  const tokens = text.trim().split(/\s+/).flatMap((t) => t.match(/.{2}/g) ?? []);
  return { bytes: tokens.map((t) => (t === '??' ? 0 : parseInt(t, 16))), any: tokens.map((t) => t === '??') };
}

function patternAt(field: Uint8Array, offset: number, p: { bytes: number[]; any: boolean[] }): boolean {
  if (offset + p.bytes.length > field.length) return false;
  return p.bytes.every((b, k) => p.any[k] || field[offset + k] === b);
}

/** Fills a model template: `{name}`, `{1}`… (name pattern groups), `{b2}`… (bytes of the match). */
function fillModel(template: string, name: string, groups: readonly string[], matched: Uint8Array | undefined): string {
  return template.replace(/\{(name|\d+|b\d+)\}/g, (_, key: string) => {
    if (key === 'name') return name;
    if (key.startsWith('b')) {
      const b = matched?.[Number(key.slice(1))];
      if (b === undefined) return '';
      return b >= 0x30 && b <= 0x39 ? String(b - 0x30) : String(b);
    }
    return groups[Number(key)] ?? '';
  });
}

/** Tests one rule; the model it names, or null when it does not match. Never throws. */
function matchRule(rule: IdentifyRule, adv: Advertisement): { model: string | undefined } | null {
  const name = typeof adv.localName === 'string' ? adv.localName.trim() : '';
  let groups: string[] = [];
  let matched: Uint8Array | undefined;
  if (rule.name) {
    const n = rule.name;
    if (name === '') return null;
    const norm = (s: string): string => (n.caseInsensitive ? s.toLowerCase() : s);
    if (n.exact && !n.exact.some((e) => norm(e) === norm(name))) return null;
    if (n.prefix !== undefined && !norm(name).startsWith(norm(n.prefix))) return null;
    if (n.pattern !== undefined) {
      const m = new RegExp(n.pattern, n.caseInsensitive ? 'i' : '').exec(name);
      if (!m) return null;
      groups = Array.from(m, (g) => g ?? '');
    }
  }
  if (rule.services) {
    const advertised = Array.isArray(adv.serviceUuids) ? adv.serviceUuids : [];
    if (!rule.services.every((s) => advertised.includes(s))) return null;
  }
  const manufacturer = adv.manufacturerData instanceof Uint8Array ? adv.manufacturerData : undefined;
  if (rule.manufacturer) {
    if (!manufacturer) return null;
    const m = rule.manufacturer;
    let offset = 0;
    if (m.companyId !== undefined) {
      if (manufacturer.length < 2 || (manufacturer[0]! | (manufacturer[1]! << 8)) !== m.companyId) return null;
      offset = 2;
    }
    if (m.prefix !== undefined) {
      if (!patternAt(manufacturer, offset, parsePattern(m.prefix))) return null;
      matched = manufacturer.subarray(offset);
    }
  }
  const serviceData = Array.isArray(adv.serviceData) ? adv.serviceData.filter((d) => d && d.data instanceof Uint8Array) : [];
  if (rule.serviceData) {
    const sd = rule.serviceData;
    const hit = serviceData.find((d) => (sd.uuid === undefined || d.uuid === sd.uuid) && (sd.prefix === undefined || patternAt(d.data, 0, parsePattern(sd.prefix))));
    if (!hit) return null;
    matched ??= hit.data;
  }
  if (rule.bytes) {
    const p = parsePattern(rule.bytes.pattern);
    const fields: Uint8Array[] = [];
    if (rule.bytes.in.includes('manufacturer') && manufacturer) fields.push(manufacturer);
    if (rule.bytes.in.includes('serviceData')) for (const d of serviceData) fields.push(d.data);
    let found: Uint8Array | undefined;
    for (const field of fields) {
      const last = rule.bytes.anchor === 'start' ? 0 : field.length - p.bytes.length;
      for (let o = 0; o <= last && !found; o++) if (patternAt(field, o, p)) found = field.subarray(o);
      if (found) break;
    }
    if (!found) return null;
    matched = found;
  }
  return { model: rule.model === undefined ? undefined : fillModel(rule.model, name, groups, matched) };
}

/** Identifies an advertisement by a profile's rules, in order: the first that matches decides. Never throws. */
export function identifyByProfile(profile: DeviceProfile, adv: Advertisement): IdentifyMatch | null {
  if (!adv || typeof adv !== 'object') return null;
  for (const rule of profile.identify) {
    const m = matchRule(rule, adv);
    if (!m) continue;
    const match: IdentifyMatch = { confidence: rule.confidence };
    if (m.model !== undefined && m.model !== '') match.model = m.model;
    return match;
  }
  return null;
}

/** The model for a connection: the discovered model or the name, as the profile's `models` read them, else the fallback. */
function modelFor(profile: DeviceProfile, ctx: ConnectionContext, variant: GattVariant): string {
  const models = profile.models;
  for (const candidate of [ctx.model, ctx.localName]) {
    if (candidate === undefined) continue;
    if (models && Object.hasOwn(models.names, candidate)) return models.names[candidate]!;
    if (!models?.knownOnly) return candidate;
  }
  return variant.model ?? models?.fallback ?? profile.id;
}

/** The timer a wanted duration gets: rounded up, within the profile's bounds, seconds. */
function timerSecondsFor(timer: NonNullable<DeviceProfile['capabilities']['timer']>, seconds: number): number {
  if (typeof seconds !== 'number' || Number.isNaN(seconds) || seconds < 0) throw new RangeError(`timer seconds must be a number ≥ 0, got ${String(seconds)}`);
  const step = timer.roundUpToSeconds;
  const rounded = seconds === Infinity ? timer.maxSeconds : Math.ceil(seconds / step - 1e-9) * step;
  return Math.min(timer.maxSeconds, Math.max(timer.minSeconds, rounded));
}

/** The capabilities of one connection. */
function capabilitiesFor(profile: DeviceProfile, model: string, ctx: ConnectionContext): Capabilities {
  const c = profile.capabilities;
  const steps = typeof c.steps === 'number' ? c.steps : (c.steps.byModel[model] ?? c.steps.default);
  let timers: number[] = [];
  if (c.timer) {
    const o = c.timer.offeredSeconds;
    if (Array.isArray(o)) timers = [...o].sort((a, b) => a - b);
    else for (let s = o.from; s <= o.to; s += o.step) timers.push(s);
  }
  return {
    steps,
    minRunningStep: c.minRunningStep,
    stepUnit: c.stepUnit,
    modes: c.modes.map((m) => m.name),
    battery: c.battery === 'status' ? true : c.battery === 'battery-service' ? hasBattery(ctx) : false,
    heat: c.heat,
    timersSeconds: timers,
  };
}

/** With response or without, as the send (or variant) prefers and the characteristic allows. */
function withResponseFor(preference: Send['writeType'], c: FoundCharacteristic): boolean {
  if (preference === 'prefer-without-response') return !c.properties.includes('writeWithoutResponse');
  if (c.properties.includes('write')) return true;
  if (c.properties.includes('writeWithoutResponse')) return false;
  return true;
}

/** Whether a status matches one of a stop proof's patterns (every key given must be equal). */
function matchesAny(status: DeviceStatus, patterns: readonly Record<string, boolean | number | string>[]): boolean {
  return patterns.some((p) => Object.entries(p).every(([k, v]) => (status as Record<string, unknown>)[k] === v));
}

/**
 * One connection driven by a data-only profile.
 * - `setIntensity` maps 0..1 to a step (`ceil(value × steps)`); 0 is the stop. Above 0, the
 *   `start` writes while the device is not running (as far as this session knows), then the
 *   `running` writes. The step, the current mode's code and the timer are the frames' values.
 * - `stop` sends the first stop step and marks the device stopped; {@link stopEscalation}
 *   gives the further steps, in order.
 * - `setMode`/`setTimer` are remembered and sent at once only while running; `setMotion`
 *   picks the mode that serves the motion (nothing when none does).
 * - A decoded `running: false` is believed once a `running: true` confirmed the session's own
 *   start (before that it may answer a write that preceded the start).
 * - "Switched off by hand": while the session has the motor on (from the first write above 0
 *   until its stop), a status saying `running: false` after the profile's `offByHand`
 *   `notRunningAfterMs` of motor time (on the connection's clock) is marked `offByHand`, once;
 *   the session then counts the motor as off.
 * @throws RangeError from `encode` for an intensity that is NaN or outside 0..1, an unknown
 * mode, a timer that is NaN or negative, or a value that does not fit its field; nothing
 * is changed then.
 */
class ProfileSession implements ProtocolSession {
  readonly notify: { service: string; characteristic: string };
  readonly keepalive?: { intervalMs: number; writes(): Write[] };
  readonly stopProof?: StopProof;
  private readonly decodeBytes: (bytes: Uint8Array) => DecodeResult;
  private running = false;
  private awaitingRun = false;
  private reported = false;
  private modeCode: number;
  private timerSeconds: number | undefined;
  /** Since when (the connection's clock, ms) this session has had the motor on; null: off. */
  private motorOnSinceMs: number | null = null;
  private readonly offByHand: OffByHandRule;

  constructor(
    private readonly profile: DeviceProfile,
    readonly model: string,
    readonly capabilities: Capabilities,
    private readonly write: (send: Send, values: Record<string, number>) => Write,
    variant: GattVariant,
    private readonly now: () => number,
  ) {
    this.notify = { service: variant.service, characteristic: variant.notify };
    this.offByHand = offByHandRule(profile);
    this.decodeBytes = createDecoder(profile);
    this.modeCode = profile.capabilities.modes[0]?.code ?? 0;
    this.timerSeconds = profile.capabilities.timer?.defaultSeconds;
    const keepalive = profile.commands.keepalive;
    if (keepalive) this.keepalive = { intervalMs: keepalive.intervalMs, writes: () => this.sends(keepalive.send, {}) };
    const proof = profile.stopProof;
    if (proof) {
      this.stopProof = {
        deadlineMs: proof.deadlineMs,
        askAtMs: proof.askAtMs,
        judge: (status): StopVerdict => (matchesAny(status, proof.off) ? 'off' : matchesAny(status, proof.running) ? 'running' : undefined),
        reportsState: () => this.reported,
      };
    }
  }

  /** The writes of a list of sends with the session's values (step, mode, timer) and `values`. */
  private sends(list: readonly Send[], values: Record<string, number>): Write[] {
    const base: Record<string, number> = { mode: this.modeCode };
    if (this.timerSeconds !== undefined) base.timer = this.timerSeconds;
    return list.map((s) => this.write(s, { ...base, ...values, ...s.values }));
  }

  init(): Write[] {
    return this.sends(this.profile.commands.init, {});
  }

  encode(command: Command): Write[] {
    const c = this.profile.commands;
    switch (command.type) {
      case 'setIntensity': {
        const step = intensityToStep(command.value, this.capabilities.steps);
        if (step === 0) return this.encode({ type: 'stop' });
        const si = c.setIntensity!;
        if (this.running || !si.start) {
          const writes = this.sends(si.running, { step });
          this.running = true;
          this.motorOnSinceMs ??= this.now();
          return writes;
        }
        const writes = this.sends(si.start, { step });
        this.running = true;
        this.awaitingRun = true;
        this.motorOnSinceMs ??= this.now();
        return writes;
      }
      case 'stop': {
        const writes = this.sends(c.stop![0]!, { step: 0 });
        this.running = false;
        this.awaitingRun = false;
        this.motorOnSinceMs = null;
        return writes;
      }
      case 'setMode': {
        const modes = this.profile.capabilities.modes;
        if (modes.length === 0) return [];
        const mode = modes.find((m) => m.name === command.mode);
        if (!mode) throw new RangeError(`unknown mode ${JSON.stringify(command.mode)}`);
        const before = this.modeCode;
        this.modeCode = mode.code;
        try {
          return this.running && c.setMode ? this.sends(c.setMode.whileRunning, {}) : [];
        } catch (error) {
          this.modeCode = before;
          throw error;
        }
      }
      case 'setMotion': {
        const mode = this.profile.capabilities.modes.find((m) => m.motions.includes(command.motion));
        return mode ? this.encode({ type: 'setMode', mode: mode.name }) : [];
      }
      case 'setTimer': {
        const timer = this.profile.capabilities.timer;
        if (!timer) return [];
        const seconds = timerSecondsFor(timer, command.seconds);
        const before = this.timerSeconds;
        this.timerSeconds = seconds;
        try {
          return this.running && c.setTimer ? this.sends(c.setTimer.whileRunning, {}) : [];
        } catch (error) {
          this.timerSeconds = before;
          throw error;
        }
      }
      case 'setHeat':
        return c.setHeat ? this.sends(command.on ? c.setHeat.on : c.setHeat.off, {}) : [];
      case 'powerOn':
        return this.sends(c.powerOn ?? [], {});
      case 'queryStatus':
        return this.sends(c.queryStatus ?? [], {});
      case 'queryFirmware':
        return this.sends(c.queryFirmware ?? [], {});
      default:
        return [];
    }
  }

  /** The stop steps after the first, one group of writes per attempt; marks the device stopped. */
  stopEscalation(): Write[][] {
    this.running = false;
    this.awaitingRun = false;
    this.motorOnSinceMs = null;
    return (this.profile.commands.stop ?? []).slice(1).map((group) => this.sends(group, { step: 0 }));
  }

  decode(bytes: Uint8Array): DecodeResult {
    const result = this.decodeBytes(bytes);
    if (result.kind === 'status') {
      const running = result.status.running;
      if (running !== undefined) this.reported = true;
      const after = this.offByHand.notRunningAfterMs;
      if (running === false && after !== null && this.motorOnSinceMs !== null && this.now() - this.motorOnSinceMs > after) {
        // Off on the device itself while the app had it on: the user's stop, said once.
        result.status.offByHand = true;
        this.motorOnSinceMs = null;
      }
      if (running === true) this.awaitingRun = false;
      else if (running === false && !this.awaitingRun) this.running = false;
    }
    return result;
  }
}

/** Why no GATT variant fits what discovery found. */
function refusal(profile: DeviceProfile, ctx: ConnectionContext): string {
  const variants = profile.gatt.variants;
  const withService = variants.filter((v) => ctx.services.has(v.service));
  if (withService.length === 0) return `service ${[...new Set(variants.map((v) => v.service))].join(' or ')} not found: not a ${profile.name}`;
  return `no writable ${withService.map((v) => v.write).join(' or ')} with a notifying ${withService.map((v) => v.notify).join(' or ')} in service ${[...new Set(withService.map((v) => v.service))].join(' or ')}`;
}

/**
 * Builds the protocol module of a validated profile. `open` takes the first GATT variant
 * whose service holds a writable write characteristic and a notifying notify one.
 * @throws Error when the profile names a hook that `options.hooks` does not have.
 */
export function moduleFromProfile(profile: DeviceProfile, options: ModuleOptions = {}): ProtocolModule {
  const hook = profile.hook === undefined ? undefined : options.hooks?.[profile.hook];
  if (profile.hook !== undefined && !hook) throw new Error(`profile ${profile.id} names hook "${profile.hook}", which is not known`);
  const open = (ctx: ConnectionContext): OpenResult => {
    for (const variant of profile.gatt.variants) {
      if (!ctx.services.has(variant.service)) continue;
      const w = findCharacteristic(ctx, variant.service, variant.write);
      const n = findCharacteristic(ctx, variant.service, variant.notify);
      if (!canWrite(w) || !canNotify(n)) continue;
      const model = modelFor(profile, ctx, variant);
      const capabilities = capabilitiesFor(profile, model, ctx);
      const write = (send: Send, values: Readonly<Record<string, number>>): Write => {
        const fields = profile.frames[send.frame];
        if (!fields) throw new RangeError(`unknown frame ${send.frame}`);
        const out: Write = {
          service: variant.service,
          characteristic: variant.write,
          bytes: buildFrame([...profile.framing.out.before, ...fields, ...profile.framing.out.after], values, variant.vars),
          withResponse: withResponseFor(send.writeType ?? variant.writeType, w),
        };
        if (send.delayAfterMs !== undefined) out.delayAfterMs = send.delayAfterMs;
        return out;
      };
      let session: ProtocolSession;
      if (hook) {
        session = hook({
          profile,
          variant,
          ctx,
          model,
          capabilities,
          write: (frame, values = {}, delayAfterMs) => write(delayAfterMs === undefined ? { frame } : { frame, delayAfterMs }, values),
          decoder: () => createDecoder(profile),
        });
      } else {
        session = new ProfileSession(profile, model, capabilities, write, variant, () => ctx.now());
      }
      return { ok: true, session };
    }
    return { ok: false, reason: refusal(profile, ctx) };
  };
  const module: ProtocolModule = {
    id: profile.id,
    displayName: profile.name,
    kind: profile.kind,
    sources: profile.sources.map((s) => ({ ...s })),
    writeGapMs: profile.writeGapMs,
    services: [...new Set(profile.gatt.variants.map((v) => v.service))],
    identify: (adv) => identifyByProfile(profile, adv),
    open,
    simulate: (o) => {
      if (!options.simulate) throw new Error(`no simulator for ${profile.id}`);
      return options.simulate(o);
    },
  };
  if (profile.confidence.level === 'experimental') module.experimental = profile.confidence.note;
  return module;
}

/** Bytes of a profile frame with `values`, for tests and simulators (the first GATT variant's vars unless given). */
export function profileFrame(profile: DeviceProfile, frame: string, values: Readonly<Record<string, number>> = {}, vars?: Readonly<Record<string, number>>): Uint8Array {
  const fields = profile.frames[frame];
  if (!fields) throw new RangeError(`unknown frame ${frame}`);
  return buildFrame([...profile.framing.out.before, ...fields, ...profile.framing.out.after], values, vars ?? profile.gatt.variants[0]?.vars ?? {});
}
