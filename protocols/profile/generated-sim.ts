/**
 * A simulated peripheral generated from a data-only profile, for demo mode and UI tests
 * only. It reads the bytes written to it with the profile's own frame templates and
 * answers with a status built from the profile's first status rule, so it agrees with
 * the profile by construction: it proves nothing about a real device. Built-in profiles
 * are proven by captures and third-party vectors and keep their hand-written simulators
 * (`protocols/sim/`).
 */
import { at, fromHex } from '../bytes';
import { STOP_FAULT_ACTIONS, SimLink, StopFaults, simulatedPeripheral } from '../sim/helper';
import type { Advertisement, SimOptions, SimReadout, SimulatedPeripheral } from '../types';
import { checksumOf, checksumWidth, intWidth, readInt, resolve } from './codec';
import type { DeviceProfile, FrameField, StatusRule } from './schema';

/** Values read back from a written frame, or undefined when the bytes are not that frame. */
function readFrame(fields: readonly FrameField[], vars: Readonly<Record<string, number>>, bytes: Uint8Array): Record<string, number> | undefined {
  const values: Record<string, number> = {};
  let pos = 0;
  const checks: { pos: number; field: Extract<FrameField, { checksum: unknown }> }[] = [];
  const widths = fields.map((f) =>
    'const' in f ? fromHex(f.const).length : 'value' in f ? intWidth(f.type) : 'var' in f ? 1 : 'length' in f ? intWidth(f.length) : checksumWidth(f.checksum.algorithm),
  );
  if (widths.reduce((a, b) => a + b, 0) !== bytes.length) return undefined;
  for (const [i, f] of fields.entries()) {
    if ('const' in f) {
      const c = fromHex(f.const);
      if (c.some((b, k) => bytes[pos + k] !== b)) return undefined;
    } else if ('value' in f) {
      const raw = readInt(bytes, pos, f.type);
      values[f.value] = ((raw - f.offset) / f.scale) * f.divisor;
    } else if ('var' in f) {
      if (bytes[pos] !== vars[f.var]) return undefined;
    } else if ('length' in f) {
      if (readInt(bytes, pos, f.length) !== bytes.length + f.adjust) return undefined;
    } else checks.push({ pos, field: f });
    pos += widths[i] ?? 0;
  }
  for (const { pos: p, field } of checks) {
    const c = field.checksum;
    const want = checksumOf(c.algorithm, bytes, resolve(c.from, bytes.length), resolve(c.to ?? bytes.length, bytes.length));
    const type = checksumWidth(c.algorithm) === 1 ? 'u8' : c.order === 'big-endian' ? 'u16be' : 'u16le';
    if (readInt(bytes, p, type) !== want) return undefined;
  }
  return values;
}

/** What the generated device holds. */
interface GeneratedState {
  step: number;
  running: boolean;
  mode: number;
  timer: number;
  batteryPercent: number;
}

/** Writes `value` into `buf` as a number field of a status rule (inverse of its reading). */
function putNumber(buf: Uint8Array, f: NonNullable<StatusRule['fields']['level']>, value: number): void {
  let raw = Math.max(0, Math.round(((value - f.offset) / f.scale) * f.divisor));
  if (f.max !== undefined) raw = Math.min(raw, f.max);
  if (f.parts) {
    for (let k = f.parts.length - 1; k >= 0; k--) {
      const part = f.parts[k]!;
      const p = resolve(part.at, buf.length);
      buf[p] = (at(buf, p) & ~part.mask) | (raw & part.mask);
      raw = Math.floor(raw / 2 ** part.bits);
    }
    return;
  }
  if (f.at === undefined) return;
  const p = resolve(f.at, buf.length);
  const n = intWidth(f.type);
  const mask = f.mask ?? 2 ** (8 * n) - 1;
  let v = (raw & mask) * 2 ** f.shift;
  const le = f.type.endsWith('le');
  for (let k = n - 1; k >= 0; k--) {
    const idx = p + (le ? n - 1 - k : k);
    buf[idx] = at(buf, idx) | (v % 256);
    v = Math.floor(v / 256);
  }
}

/** Builds a notification the profile reads as `state`, by its first status rule that carries `running` or `level`. */
export function buildStatusNotification(profile: DeviceProfile, state: GeneratedState): Uint8Array | undefined {
  const rule = profile.status.rules.find((r) => r.fields.running || r.fields.level);
  if (!rule) return undefined;
  const framing = profile.framing.in;
  const header = fromHex(framing.header ?? '');
  const terminator = fromHex(framing.terminator ?? '');
  let content = header.length;
  let trailer = terminator.length;
  const use = (pos: number | undefined, width = 1): void => {
    if (pos === undefined) return;
    if (pos >= 0) content = Math.max(content, pos + width);
    else trailer = Math.max(trailer, -pos);
  };
  for (const c of rule.when) use(c.at);
  for (const g of framing.guards) use(g.at);
  if (framing.length) use(framing.length.at, intWidth(framing.length.type));
  if (framing.checksum) use(framing.checksum.at, checksumWidth(framing.checksum.algorithm));
  if (framing.contentEnd !== undefined && framing.contentEnd < 0) trailer = Math.max(trailer, -framing.contentEnd);
  const f = rule.fields;
  for (const spec of [f.running, f.powered, f.heat]) if (spec) use(spec.at);
  for (const spec of [f.level, f.mode, f.batteryPercent, f.runState, f.secondsLeft]) {
    if (!spec) continue;
    if (spec.parts) for (const p of spec.parts) use(p.at);
    else use(spec.at, intWidth(spec.type));
  }
  const length =
    framing.fixedLength ?? Math.max(content + trailer, framing.minLength, rule.minLength ?? 0, framing.length?.min ?? 0);
  const buf = new Uint8Array(length);
  buf.set(header, 0);
  buf.set(terminator, length - terminator.length);
  for (const g of framing.guards) buf[resolve(g.at, length)] = g.oneOf[g.oneOf.length - 1]!;
  for (const c of rule.when) {
    const p = resolve(c.at, length);
    buf[p] = (at(buf, p) & ~c.mask) | c.equals;
  }
  if (f.running) {
    const p = resolve(f.running.at, length);
    const { mask, equals } = f.running;
    const bits = state.running ? (equals ?? mask) : equals === undefined || equals !== 0 ? 0 : mask;
    buf[p] = (at(buf, p) & ~mask) | (bits & mask);
  }
  if (f.level && (state.running || !rule.onlyWhileRunning.includes('level'))) putNumber(buf, f.level, state.step);
  if (f.mode) putNumber(buf, f.mode, state.mode);
  if (f.batteryPercent) putNumber(buf, f.batteryPercent, state.batteryPercent);
  if (framing.length) {
    const len = framing.length;
    const p = resolve(len.at, length);
    const n = intWidth(len.type);
    const le = len.type.endsWith('le');
    let v = length;
    for (let k = n - 1; k >= 0; k--) {
      buf[p + (le ? n - 1 - k : k)] = v % 256;
      v = Math.floor(v / 256);
    }
  }
  const c = framing.checksum;
  if (c) {
    const value = checksumOf(c.algorithm, buf, resolve(c.from, length), resolve(c.to ?? length, length));
    const p = resolve(c.at, length);
    if (checksumWidth(c.algorithm) === 1) buf[p] = value;
    else if (c.order === 'big-endian') buf.set([value >> 8, value & 0xff], p);
    else buf.set([value & 0xff, value >> 8], p);
  }
  return buf;
}

/** The advertisement the generated device sends: the profile's `demo` block, else what its first rules test. */
function advertisementFor(profile: DeviceProfile): Advertisement {
  const demo = profile.demo;
  if (demo) {
    const adv: Advertisement = { localName: demo.localName, serviceUuids: [...demo.serviceUuids] };
    if (demo.manufacturerData !== undefined) adv.manufacturerData = fromHex(demo.manufacturerData);
    return adv;
  }
  const rule = profile.identify[0]!;
  const name = rule.name?.exact?.[0] ?? (rule.name?.prefix !== undefined ? `${rule.name.prefix}1` : profile.id);
  const adv: Advertisement = { localName: name, serviceUuids: [...(rule.services ?? [])] };
  if (rule.manufacturer) {
    const id = rule.manufacturer.companyId;
    const prefix = fromHex((rule.manufacturer.prefix ?? '').replace(/\?\?/g, '00'));
    adv.manufacturerData = Uint8Array.from([...(id === undefined ? [] : [id & 0xff, id >> 8]), ...prefix]);
  }
  return adv;
}

/**
 * A simulated peripheral for a data-only profile (demo mode and UI tests only). It
 * accepts writes to the first GATT variant's write characteristic; a write that is none
 * of the profile's frames is counted in `badFrames`. A frame carrying `step` sets the
 * level (0 stops), one carrying `mode` or `timer` sets those, and a frame of a stop step
 * stops; every valid frame is answered with a status. Actions: `button-max`,
 * `button-power`, `ignore-next-stop`, `ignore-every-stop`, `no-status-replies`.
 */
export function simulateFromProfile(profile: DeviceProfile, options: SimOptions = {}): SimulatedPeripheral {
  const variant = profile.gatt.variants[0]!;
  const link = new SimLink(variant.service, variant.notify);
  const faults = new StopFaults();
  const advertisement = advertisementFor(profile);
  const localName = advertisement.localName ?? profile.id;
  const steps = profile.capabilities.steps;
  const maxStep = typeof steps === 'number' ? steps : (steps.byModel[options.model ?? localName] ?? steps.default);
  const stopFrames = new Set((profile.commands.stop ?? []).flat().map((s) => s.frame));
  const s: GeneratedState = { step: 0, running: false, mode: profile.capabilities.modes[0]?.code ?? 0, timer: 0, batteryPercent: 75 };
  const counts = { framesReceived: 0, badFrames: 0 };
  const sendStatus = (): void => {
    const bytes = buildStatusNotification(profile, s);
    if (bytes) link.send(bytes);
  };
  const stop = (): void => {
    if (faults.swallow(s.running)) return;
    s.step = 0;
    s.running = false;
  };
  const framed = (name: string): FrameField[] => [...profile.framing.out.before, ...(profile.frames[name] ?? []), ...profile.framing.out.after];
  return simulatedPeripheral({
    protocolId: profile.id,
    address: options.address ?? `sim-${profile.id}`,
    localName,
    advertisement,
    rssi: -62,
    link,
    services: [
      {
        uuid: variant.service,
        characteristics: [
          { uuid: variant.write, properties: ['write', 'writeWithoutResponse'] },
          { uuid: variant.notify, properties: ['notify'] },
        ],
      },
    ],
    standard: profile.capabilities.battery === 'battery-service' ? { batteryPercent: 80 } : {},
    onWrite(service, characteristic, bytes) {
      if (service !== variant.service || characteristic !== variant.write) return false;
      for (const name of Object.keys(profile.frames)) {
        const values = readFrame(framed(name), variant.vars, bytes);
        if (!values) continue;
        counts.framesReceived++;
        if (values.step !== undefined) {
          if (values.step <= 0) stop();
          else {
            s.step = Math.min(maxStep, Math.round(values.step));
            s.running = true;
          }
        } else if (stopFrames.has(name)) stop();
        if (values.mode !== undefined) s.mode = values.mode;
        if (values.timer !== undefined) s.timer = values.timer;
        sendStatus();
        return true;
      }
      counts.badFrames++;
      return true;
    },
    readout: (): SimReadout[] => [
      { label: 'Output', value: s.running ? 'on' : 'off' },
      { label: 'Level', value: `${s.step} of ${maxStep} ${profile.capabilities.stepUnit}` },
      ...(profile.capabilities.modes.length > 0 ? [{ label: 'Mode', value: profile.capabilities.modes.find((m) => m.code === s.mode)?.name ?? String(s.mode) }] : []),
    ],
    state: () => ({ ...s, ...counts, stopsIgnored: faults.swallowed, generated: true }),
    actions: ['button-max', 'button-power', ...STOP_FAULT_ACTIONS, 'no-status-replies'],
    act(action) {
      if (faults.act(action)) return;
      if (action === 'no-status-replies') link.silent = true;
      else if (action === 'button-max') {
        s.step = maxStep;
        s.running = true;
        sendStatus();
      } else if (action === 'button-power') {
        faults.clear();
        s.step = 0;
        s.running = false;
        sendStatus();
      }
    },
  });
}
