/**
 * The byte-level half of the profile engine: outgoing frames built from field templates,
 * incoming frames checked, cut out of notifications (reassembly) and read into a
 * {@link DeviceStatus}. Pure functions of a validated profile (`schema.ts`); nothing here
 * knows a particular device.
 */
import { at, fromHex } from '../bytes';
import { crc16Modbus, crc16Xmodem, rongtaiChecksum, sum8, sumXorFf, xor8 } from '../checksum';
import type { DecodeResult, DeviceStatus, RunState } from '../types';
import type { ChecksumAlgorithm, DeviceProfile, FrameField, InboundFraming, IntType, StatusRule } from './schema';

/** Bytes an integer type takes. */
export function intWidth(type: IntType): number {
  return type === 'u8' ? 1 : type === 'u16be' || type === 'u16le' ? 2 : 4;
}

/** Largest value of an integer type. */
function intMax(type: IntType): number {
  return 2 ** (8 * intWidth(type)) - 1;
}

/** Reads an unsigned integer at `pos` (0 for bytes beyond the end). */
export function readInt(bytes: Uint8Array, pos: number, type: IntType): number {
  const n = intWidth(type);
  let v = 0;
  const le = type.endsWith('le');
  for (let k = 0; k < n; k++) v = v * 256 + at(bytes, pos + (le ? n - 1 - k : k));
  return v;
}

function writeInt(buf: Uint8Array, pos: number, type: IntType, value: number): void {
  const n = intWidth(type);
  const le = type.endsWith('le');
  let v = value;
  for (let k = n - 1; k >= 0; k--) {
    buf[pos + (le ? n - 1 - k : k)] = v % 256;
    v = Math.floor(v / 256);
  }
}

/** A position resolved against a frame of `length` bytes (negative counts from the end). */
export function resolve(pos: number, length: number): number {
  return pos < 0 ? length + pos : pos;
}

/** Bytes a checksum takes. */
export function checksumWidth(algorithm: ChecksumAlgorithm): number {
  return algorithm.startsWith('crc16') ? 2 : 1;
}

/** The checksum of `bytes[from..to)` by `algorithm` (an 8- or 16-bit number). */
export function checksumOf(algorithm: ChecksumAlgorithm, bytes: Uint8Array, from: number, to: number): number {
  switch (algorithm) {
    case 'sum8':
      return sum8(bytes, from, to);
    case 'not-sum7':
      return rongtaiChecksum(bytes, from, to);
    case 'sum-xor-ff':
      return sumXorFf(bytes, from, to);
    case 'xor8':
      return xor8(bytes, from, to);
    case 'crc16-xmodem':
      return crc16Xmodem(bytes, from, to);
    case 'crc16-modbus':
      return crc16Modbus(bytes, from, to);
  }
}

function fieldWidth(field: FrameField): number {
  if ('const' in field) return fromHex(field.const).length;
  if ('value' in field) return intWidth(field.type);
  if ('var' in field) return 1;
  if ('length' in field) return intWidth(field.length);
  return checksumWidth(field.checksum.algorithm);
}

/**
 * Builds one frame from its fields. `values` holds the command's values (`step`, `mode`,
 * `timer`, …), `vars` the GATT variant's bytes. Checksums are filled in last, in order.
 * @throws RangeError when a value is missing, not finite, or does not fit its field.
 */
export function buildFrame(fields: readonly FrameField[], values: Readonly<Record<string, number>>, vars: Readonly<Record<string, number>>): Uint8Array {
  const widths = fields.map(fieldWidth);
  const length = widths.reduce((a, b) => a + b, 0);
  const buf = new Uint8Array(length);
  const checksums: { pos: number; field: Extract<FrameField, { checksum: unknown }> }[] = [];
  let pos = 0;
  fields.forEach((field, i) => {
    if ('const' in field) buf.set(fromHex(field.const), pos);
    else if ('value' in field) {
      const v = values[field.value];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`frame needs a value for "${field.value}"`);
      const x = (v / field.divisor) * field.scale + field.offset;
      const raw = field.round === 'up' ? Math.ceil(x - 1e-9) : field.round === 'down' ? Math.floor(x + 1e-9) : Math.round(x);
      if (raw < 0 || raw > intMax(field.type)) throw new RangeError(`${field.value} ${v} does not fit a ${field.type} field (${raw})`);
      writeInt(buf, pos, field.type, raw);
    } else if ('var' in field) {
      const v = vars[field.var];
      if (v === undefined) throw new RangeError(`frame needs the variant byte "${field.var}"`);
      buf[pos] = v;
    } else if ('length' in field) {
      const v = length + field.adjust;
      if (v < 0 || v > intMax(field.length)) throw new RangeError(`frame length ${v} does not fit a ${field.length} field`);
      writeInt(buf, pos, field.length, v);
    } else checksums.push({ pos, field });
    pos += widths[i] ?? 0;
  });
  for (const { pos: p, field } of checksums) {
    const c = field.checksum;
    const value = checksumOf(c.algorithm, buf, resolve(c.from, length), resolve(c.to ?? length, length));
    writeInt(buf, p, checksumWidth(c.algorithm) === 1 ? 'u8' : c.order === 'big-endian' ? 'u16be' : 'u16le', value);
  }
  return buf;
}

/** Whether `bytes[start..start+length)` starts with `prefix`. */
function startsWith(bytes: Uint8Array, start: number, prefix: Uint8Array): boolean {
  for (let k = 0; k < prefix.length; k++) if (bytes[start + k] !== prefix[k]) return false;
  return true;
}

/** Whether the checksum of the frame `bytes[start..start+length)` holds. */
function checksumHolds(framing: InboundFraming, bytes: Uint8Array, start: number, length: number): boolean {
  const c = framing.checksum;
  if (!c) return true;
  const frame = bytes.subarray(start, start + length);
  const value = checksumOf(c.algorithm, frame, resolve(c.from, length), resolve(c.to ?? length, length));
  const p = resolve(c.at, length);
  if (checksumWidth(c.algorithm) === 1) return at(frame, p) === value;
  const be = readInt(frame, p, 'u16be');
  const le = readInt(frame, p, 'u16le');
  const written = c.order === 'big-endian' ? be : le;
  return written === value || (c.acceptEitherOrder && (c.order === 'big-endian' ? le : be) === value);
}

/** Checks one whole frame against the inbound framing; a reason when it fails, else undefined. */
export function frameProblem(framing: InboundFraming, frame: Uint8Array): string | undefined {
  if (frame.length < framing.minLength) return 'frame too short';
  if (framing.fixedLength !== undefined && frame.length !== framing.fixedLength) return `not a ${framing.fixedLength}-byte frame`;
  if (framing.header && !startsWith(frame, 0, fromHex(framing.header))) return `frame does not start with ${framing.header}`;
  if (framing.terminator) {
    const t = fromHex(framing.terminator);
    if (frame.length < t.length || !startsWith(frame, frame.length - t.length, t)) return `frame does not end with ${framing.terminator}`;
  }
  const len = framing.length;
  if (len) {
    const v = readInt(frame, resolve(len.at, frame.length), len.type);
    if (v !== frame.length && !(len.orShorterBy !== undefined && v === frame.length - len.orShorterBy)) return 'wrong length field';
  }
  for (const g of framing.guards) if (!g.oneOf.includes(at(frame, resolve(g.at, frame.length)))) return `unexpected byte at ${g.at}`;
  if (!checksumHolds(framing, frame, 0, frame.length)) return 'bad checksum';
  return undefined;
}

/** What one {@link FrameAssembler.push} found. */
export interface PushResult {
  /** Whole, valid frames, in arrival order. */
  frames: Uint8Array[];
  /** Bytes dropped as not belonging to any frame. */
  discarded: number;
  /** Headers whose frame was refused (length out of range, a guard, markers or checksum wrong). */
  rejected: number;
  /** True when the buffer now holds the start of a frame waiting for more bytes. */
  pending: boolean;
}

/**
 * Cuts frames out of notifications for a profile whose framing reassembles: bytes are kept
 * across pushes; a header is followed by its length field; a frame whose length is out of
 * range, whose guard bytes are wrong, or that fails its markers or checksum is skipped one
 * byte at a time up to the next header (resync). With `orShorterBy`, a length field that
 * leaves out that many bytes is taken when the checksum fits there. At most `bufferLimit`
 * bytes are kept. Never throws.
 */
export class FrameAssembler {
  private buffer = new Uint8Array(0);
  private readonly header: Uint8Array;

  constructor(private readonly framing: InboundFraming) {
    this.header = fromHex(framing.header ?? '');
  }

  /** Bytes held back waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.buffer.length;
  }

  /** Adds one notification's bytes and takes out every complete frame. */
  push(bytes: Uint8Array): PushResult {
    const framing = this.framing;
    const len = framing.length!;
    const limit = framing.reassemble?.bufferLimit ?? 256;
    const header = this.header;
    const buf = new Uint8Array(this.buffer.length + bytes.length);
    buf.set(this.buffer, 0);
    buf.set(bytes, this.buffer.length);
    const frames: Uint8Array[] = [];
    let discarded = 0;
    let rejected = 0;
    let i = 0;
    const reject = (): void => {
      rejected++;
      discarded++;
      i++;
    };
    for (;;) {
      let h = i;
      while (h <= buf.length - header.length && !startsWith(buf, h, header)) h++;
      if (h > buf.length - header.length) {
        // No whole header: keep the longest tail that could begin one.
        let keep = 0;
        for (let k = Math.min(header.length - 1, buf.length - i); k > 0; k--) {
          if (startsWith(buf, buf.length - k, header.subarray(0, k))) {
            keep = k;
            break;
          }
        }
        discarded += buf.length - i - keep;
        i = buf.length - keep;
        break;
      }
      discarded += h - i;
      i = h;
      const avail = buf.length - i;
      const lenAt = len.at;
      if (avail < lenAt + intWidth(len.type)) break;
      const n = readInt(buf, i + lenAt, len.type);
      if (n < len.min || n > len.max) {
        reject();
        continue;
      }
      if (framing.guards.some((g) => g.at >= 0 && g.at < avail && !g.oneOf.includes(at(buf, i + g.at)))) {
        reject();
        continue;
      }
      if (avail < n) break;
      if (frameProblem(framing, buf.subarray(i, i + n)) === undefined) {
        frames.push(buf.slice(i, i + n));
        i += n;
        continue;
      }
      const extra = len.orShorterBy;
      if (extra !== undefined && checksumHolds(framing, buf, i, n + extra)) {
        if (avail < n + extra) break;
        if (frameProblem(framing, buf.subarray(i, i + n + extra)) === undefined) {
          frames.push(buf.slice(i, i + n + extra));
          i += n + extra;
          continue;
        }
      }
      reject();
    }
    let rest = buf.slice(i);
    if (rest.length > limit) {
      discarded += rest.length;
      rest = new Uint8Array(0);
    }
    this.buffer = rest;
    const pending = rest.length >= header.length && startsWith(rest, 0, header);
    return { frames, discarded, rejected, pending };
  }
}

type NumberField = NonNullable<StatusRule['fields']['level']>;

/** Reads a number field inside `content` bytes, or undefined when out of the frame or of its range. */
function readNumber(frame: Uint8Array, content: number, f: NumberField): number | undefined {
  let raw: number;
  if (f.parts) {
    raw = 0;
    for (const part of f.parts) {
      const p = resolve(part.at, frame.length);
      if (p < 0 || p >= content) return undefined;
      raw = raw * 2 ** part.bits + (at(frame, p) & part.mask);
    }
  } else {
    if (f.at === undefined) return undefined;
    const p = resolve(f.at, frame.length);
    if (p < 0 || p + intWidth(f.type) > content) return undefined;
    raw = Math.floor(readInt(frame, p, f.type) / 2 ** f.shift);
    if (f.mask !== undefined) raw &= f.mask;
  }
  if ((f.min !== undefined && raw < f.min) || (f.max !== undefined && raw > f.max)) return undefined;
  return (raw / f.divisor) * f.scale + f.offset;
}

function readFlag(frame: Uint8Array, content: number, f: { at: number; mask: number; equals?: number | undefined }): boolean | undefined {
  const p = resolve(f.at, frame.length);
  if (p < 0 || p >= content) return undefined;
  const v = at(frame, p) & f.mask;
  return f.equals === undefined ? v !== 0 : v === f.equals;
}

/** `415` → `4.1.5` (hundreds, tens, units). */
export function hundredsTensUnits(v: number): string {
  return `${Math.floor(v / 100)}.${Math.floor((v % 100) / 10)}.${v % 10}`;
}

/**
 * Reads one valid frame into a status by the first rule whose conditions hold. Returns
 * `unknown` when a rule matches but the frame is shorter than its `minLength`, or when no
 * rule matches and the profile says such frames are unknown. Never throws.
 */
export function frameStatus(profile: DeviceProfile, frame: Uint8Array): DecodeResult {
  const content = resolve(profile.framing.in.contentEnd ?? frame.length, frame.length);
  const rule = profile.status.rules.find((r) => r.when.every((c) => (at(frame, resolve(c.at, frame.length)) & c.mask) === c.equals));
  if (!rule) {
    return profile.status.unmatched === 'empty' ? { kind: 'status', status: {} } : { kind: 'unknown', reason: 'no status rule matches the frame' };
  }
  if (rule.minLength !== undefined && frame.length < rule.minLength) return { kind: 'unknown', reason: `${rule.name} frame too short` };
  const f = rule.fields;
  const status: DeviceStatus = {};
  for (const key of ['running', 'powered', 'heat'] as const) {
    const spec = f[key];
    if (!spec) continue;
    const v = readFlag(frame, content, spec);
    if (v !== undefined) status[key] = v;
  }
  const running = status.running === true;
  const allowed = (key: 'level' | 'mode' | 'secondsLeft'): boolean => running || !rule.onlyWhileRunning.includes(key);
  if (f.runState) {
    const v = readNumber(frame, content, f.runState);
    const state: RunState | undefined = v === undefined ? undefined : f.runState.values[v];
    if (state !== undefined) status.runState = state;
  }
  if (f.level && allowed('level')) {
    const v = readNumber(frame, content, f.level);
    if (v !== undefined) {
      status.level = v;
      if (rule.levelIsIntensity) status.levelIsIntensity = true;
    }
  }
  if (f.mode && allowed('mode')) {
    const v = readNumber(frame, content, f.mode);
    const mode = profile.capabilities.modes.find((m) => m.code === v);
    if (mode) status.mode = mode.name;
  }
  if (f.batteryPercent) {
    const v = readNumber(frame, content, f.batteryPercent);
    if (v !== undefined) status.batteryPercent = v;
  }
  if (f.firmware) {
    const v = readNumber(frame, content, f.firmware);
    if (v !== undefined) status.firmware = f.firmware.format === 'hundreds.tens.units' ? hundredsTensUnits(v) : String(v);
  }
  if (f.secondsLeft && allowed('secondsLeft')) {
    const v = readNumber(frame, content, f.secondsLeft);
    if (v !== undefined) status.secondsLeft = v;
  }
  return { kind: 'status', status };
}

/**
 * A decoder for one connection: one notification is one frame, or (with `reassemble`)
 * frames are cut out of the notifications and their statuses merged, later fields
 * winning; `pending` says a frame is still incomplete. Never throws.
 */
export function createDecoder(profile: DeviceProfile): (bytes: Uint8Array) => DecodeResult {
  const framing = profile.framing.in;
  if (!framing.reassemble) {
    return (bytes) => {
      if (!(bytes instanceof Uint8Array)) return { kind: 'unknown', reason: 'not bytes' };
      const problem = frameProblem(framing, bytes);
      return problem !== undefined ? { kind: 'unknown', reason: problem } : frameStatus(profile, bytes);
    };
  }
  const assembler = new FrameAssembler(framing);
  return (bytes) => {
    if (!(bytes instanceof Uint8Array)) return { kind: 'unknown', reason: 'not bytes' };
    const push = assembler.push(bytes);
    const status: DeviceStatus = {};
    let any = false;
    for (const frame of push.frames) {
      const r = frameStatus(profile, frame);
      if (r.kind === 'status') {
        any = true;
        Object.assign(status, r.status);
      }
    }
    if (!any && !push.pending) {
      return {
        kind: 'unknown',
        reason: `no valid frame (${push.discarded} bytes of noise, ${push.rejected} frames refused for their length, guards, markers or checksum)`,
      };
    }
    return push.pending ? { kind: 'status', status, pending: true } : { kind: 'status', status };
  };
}
