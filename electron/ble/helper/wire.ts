/**
 * The line protocol between the main process and the Bluetooth helper process
 * (docs/desktop.md, "Linux: Bluetooth permissions").
 *
 * One JSON object per line, UTF-8, `\n`-terminated:
 * - main → helper: `{"k":"call","m":"<bindings method>","a":[…]}` — a noble bindings
 *   method call (fire and forget, as noble's bindings interface is);
 * - helper → main: `{"k":"event","e":"<bindings event>","a":[…]}` — an event the
 *   bindings emitted; and `{"k":"fault","message":"…",…}` — a call the helper could not
 *   carry out, a line it rejected, or (with `fatal: true`) why it is about to exit.
 *
 * Arguments are JSON values, except these, which travel tagged (an object with one
 * `$` key): bytes (`Buffer`/`Uint8Array`) as `{"$b":"<base64>"}`, `undefined` as
 * `{"$u":1}`, an `Error` as `{"$e":{"message":…,"code":…}}`, a non-finite number as
 * `{"$n":"NaN"|"Infinity"|"-Infinity"}`, and every plain object as `{"$o":{…}}` (so a
 * device's data can never be mistaken for a tag).
 *
 * Every line read is checked with zod twice: the envelope (shape, known method or
 * event name, well-formed tags) and then the decoded arguments of that method or
 * event. Nothing here throws on bad input: parsers return `{ ok: false, error }`.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';

// ---------------------------------------------------------------- names

/** Every noble bindings method the main process may call (see `@abandonware/noble/lib/noble.js`). */
export const BINDINGS_METHODS = [
  'init',
  'setScanParameters',
  'startScanning',
  'stopScanning',
  'connect',
  'cancelConnect',
  'disconnect',
  'reset',
  'updateRssi',
  'discoverServices',
  'discoverIncludedServices',
  'addService',
  'discoverCharacteristics',
  'addCharacteristics',
  'discoverDescriptors',
  'read',
  'write',
  'broadcast',
  'notify',
  'readValue',
  'writeValue',
  'readHandle',
  'writeHandle',
] as const;

/** A noble bindings method name. */
export type BindingsMethod = (typeof BINDINGS_METHODS)[number];

/** Methods noble calls only when the bindings have them; the helper ignores them when its bindings do not. */
export const OPTIONAL_METHODS: ReadonlySet<BindingsMethod> = new Set(['addService', 'addCharacteristics', 'setScanParameters', 'reset', 'broadcast']);

/** Every event noble listens for on its bindings (the constructor of `lib/noble.js`). */
export const BINDINGS_EVENTS = [
  'stateChange',
  'addressChange',
  'scanParametersSet',
  'scanStart',
  'scanStop',
  'discover',
  'connect',
  'disconnect',
  'rssiUpdate',
  'servicesDiscover',
  'servicesDiscovered',
  'includedServicesDiscover',
  'characteristicsDiscover',
  'characteristicsDiscovered',
  'read',
  'write',
  'broadcast',
  'notify',
  'descriptorsDiscover',
  'valueRead',
  'valueWrite',
  'handleRead',
  'handleWrite',
  'handleNotify',
  'onMtu',
] as const;

/** A noble bindings event name. */
export type BindingsEvent = (typeof BINDINGS_EVENTS)[number];

/** Longest line either side accepts, in characters (a notification is a few dozen). */
export const MAX_LINE_CHARS = 1 << 20;

// ---------------------------------------------------------------- values

/** A value as it travels on the wire. */
export type WireValue =
  | string
  | number
  | boolean
  | null
  | WireValue[]
  | { $b: string }
  | { $u: 1 }
  | { $e: { message: string; code?: string } }
  | { $n: 'NaN' | 'Infinity' | '-Infinity' }
  | { $o: { [key: string]: WireValue } };

const MAX_DEPTH = 16;

const wireValue: z.ZodType<WireValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(wireValue),
    z.strictObject({ $b: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64') }),
    z.strictObject({ $u: z.literal(1) }),
    z.strictObject({ $e: z.strictObject({ message: z.string(), code: z.string().optional() }) }),
    z.strictObject({ $n: z.enum(['NaN', 'Infinity', '-Infinity']) }),
    z.strictObject({ $o: z.record(z.string(), wireValue) }),
  ]),
);

/**
 * Encodes a value for the wire (see the module comment for the tags).
 * @throws TypeError for values that cannot travel (functions, symbols, bigints, class
 *   instances other than Error and byte arrays, nesting deeper than 16).
 */
export function encodeValue(value: unknown, depth = 0): WireValue {
  if (depth > MAX_DEPTH) throw new TypeError('value nested too deeply to send');
  if (value === undefined) return { $u: 1 };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    return { $n: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' };
  }
  if (value instanceof Uint8Array) return { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { $e: typeof code === 'string' ? { message: value.message, code } : { message: value.message } };
  }
  if (Array.isArray(value)) return value.map((v) => encodeValue(v, depth + 1));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new TypeError(`cannot send a ${value.constructor?.name ?? 'class'} instance`);
    const out: { [key: string]: WireValue } = {};
    for (const [k, v] of Object.entries(value)) out[k] = encodeValue(v, depth + 1);
    return { $o: out };
  }
  throw new TypeError(`cannot send a ${typeof value}`);
}

/** Decodes a value checked by the wire schema: bytes become `Buffer`s, errors `Error`s. */
export function decodeValue(value: WireValue): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decodeValue);
  if ('$b' in value) return Buffer.from(value.$b, 'base64');
  if ('$u' in value) return undefined;
  if ('$n' in value) return Number(value.$n);
  if ('$e' in value) {
    const error = new Error(value.$e.message);
    if (value.$e.code !== undefined) (error as Error & { code?: string }).code = value.$e.code;
    return error;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value.$o)) out[k] = decodeValue(v);
  return out;
}

// ---------------------------------------------------------------- argument schemas (decoded values)

const id = z.string().min(1).max(256);
const uuid = z.string().max(64);
const uuids = z.array(uuid).max(512);
const bytes = z.instanceof(Buffer);
const flag = z.boolean();
const maybe = <T extends z.ZodType>(t: T) => t.nullish();
const plain = z.record(z.string(), z.unknown());

/** Decoded arguments each bindings method accepts. */
export const METHOD_ARGS: Record<BindingsMethod, z.ZodType<unknown[]>> = {
  init: z.tuple([]),
  setScanParameters: z.tuple([maybe(z.number()), maybe(z.number())]),
  startScanning: z.tuple([maybe(uuids), maybe(flag)]),
  stopScanning: z.tuple([]),
  connect: z.tuple([id, maybe(plain)]),
  cancelConnect: z.tuple([id, maybe(plain)]),
  disconnect: z.tuple([id]),
  reset: z.tuple([]),
  updateRssi: z.tuple([id]),
  discoverServices: z.tuple([id, maybe(uuids)]),
  discoverIncludedServices: z.tuple([id, uuid, maybe(uuids)]),
  addService: z.tuple([id, plain]),
  discoverCharacteristics: z.tuple([id, uuid, maybe(uuids)]),
  addCharacteristics: z.tuple([id, uuid, z.array(plain).max(512)]),
  discoverDescriptors: z.tuple([id, uuid, uuid]),
  read: z.tuple([id, uuid, uuid]),
  write: z.tuple([id, uuid, uuid, bytes, flag]),
  broadcast: z.tuple([id, uuid, uuid, flag]),
  notify: z.tuple([id, uuid, uuid, flag]),
  readValue: z.tuple([id, uuid, uuid, uuid]),
  writeValue: z.tuple([id, uuid, uuid, uuid, bytes]),
  readHandle: z.tuple([id, z.number()]),
  writeHandle: z.tuple([id, z.number(), bytes, maybe(flag)]),
};

const advertisement = z.looseObject({
  localName: maybe(z.string()),
  txPowerLevel: maybe(z.number()),
  manufacturerData: maybe(bytes),
  serviceData: maybe(z.array(z.looseObject({ uuid, data: bytes }))),
  serviceUuids: maybe(uuids),
  serviceSolicitationUuids: maybe(uuids),
});

const characteristic = z.looseObject({ uuid, properties: z.array(z.string()) });
/**
 * A characteristic as noble's HCI GATT layer reports it in `characteristicsDiscovered`:
 * the declaration as read, its properties the raw bit field (0x02 read, 0x08 write, …),
 * with its handles. (The names are in `characteristicsDiscover`.)
 */
const declaredCharacteristic = z.looseObject({ uuid, properties: z.number().int().min(0).max(0xff) });

/** Decoded arguments of each bindings event (as noble's handlers expect them). */
export const EVENT_ARGS: Record<BindingsEvent, z.ZodType<unknown[]>> = {
  stateChange: z.tuple([z.string()]),
  addressChange: z.tuple([z.string()]),
  scanParametersSet: z.tuple([]),
  scanStart: z.tuple([maybe(flag)]),
  scanStop: z.tuple([]),
  discover: z.tuple([id, z.string(), maybe(z.string()), maybe(flag), advertisement, z.number(), maybe(flag)]),
  connect: z.tuple([id, maybe(z.instanceof(Error))]),
  disconnect: z.tuple([id, z.unknown()]),
  rssiUpdate: z.tuple([id, z.number()]),
  servicesDiscover: z.tuple([id, uuids]),
  servicesDiscovered: z.tuple([id, z.array(plain)]),
  includedServicesDiscover: z.tuple([id, uuid, uuids]),
  characteristicsDiscover: z.tuple([id, uuid, z.array(characteristic)]),
  characteristicsDiscovered: z.tuple([id, uuid, z.array(declaredCharacteristic)]),
  read: z.tuple([id, uuid, uuid, bytes, maybe(flag)]),
  write: z.tuple([id, uuid, uuid]),
  broadcast: z.tuple([id, uuid, uuid, flag]),
  notify: z.tuple([id, uuid, uuid, flag]),
  descriptorsDiscover: z.tuple([id, uuid, uuid, uuids]),
  valueRead: z.tuple([id, uuid, uuid, uuid, bytes]),
  valueWrite: z.tuple([id, uuid, uuid, uuid]),
  handleRead: z.tuple([id, z.number(), bytes]),
  handleWrite: z.tuple([id, z.number()]),
  handleNotify: z.tuple([id, z.number(), bytes]),
  onMtu: z.tuple([id, z.number()]),
};

// ---------------------------------------------------------------- messages

const callEnvelope = z.strictObject({ k: z.literal('call'), m: z.enum(BINDINGS_METHODS), a: z.array(wireValue).max(8) });
const eventEnvelope = z.strictObject({ k: z.literal('event'), e: z.enum(BINDINGS_EVENTS), a: z.array(wireValue).max(10) });
const faultEnvelope = z.strictObject({
  k: z.literal('fault'),
  message: z.string().max(4000),
  method: z.string().max(64).optional(),
  code: z.string().max(64).optional(),
  fatal: z.boolean().optional(),
});

/** A call as the helper receives it. */
export interface CallMessage {
  k: 'call';
  m: BindingsMethod;
  a: unknown[];
}

/** An event as the main process receives it. */
export interface EventMessage {
  k: 'event';
  e: BindingsEvent;
  a: unknown[];
}

/** A problem the helper reports (`fatal`: it is about to exit). */
export interface FaultMessage {
  k: 'fault';
  message: string;
  method?: string;
  code?: string;
  fatal?: boolean;
}

/** The outcome of parsing one line. */
export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

function parseJson(line: string): Parsed<unknown> {
  try {
    return { ok: true, message: JSON.parse(line) as unknown };
  } catch (error) {
    return { ok: false, error: `not JSON (${(error as Error).message})` };
  }
}

function summarise(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`)
    .join('; ');
}

/** Parses and checks one line the helper received (a call). Never throws. */
export function parseCallLine(line: string): Parsed<CallMessage> {
  try {
    const json = parseJson(line);
    if (!json.ok) return json;
    const envelope = callEnvelope.safeParse(json.message);
    if (!envelope.success) return { ok: false, error: `not a bindings call: ${summarise(envelope.error)}` };
    const args = METHOD_ARGS[envelope.data.m].safeParse(envelope.data.a.map(decodeValue));
    if (!args.success) return { ok: false, error: `bad arguments to ${envelope.data.m}: ${summarise(args.error)}` };
    return { ok: true, message: { k: 'call', m: envelope.data.m, a: args.data } };
  } catch (error) {
    return { ok: false, error: `unreadable line (${String(error)})` };
  }
}

/** Parses and checks one line the main process received (an event or a fault). Never throws. */
export function parseHelperLine(line: string): Parsed<EventMessage | FaultMessage> {
  try {
    const json = parseJson(line);
    if (!json.ok) return json;
    const fault = faultEnvelope.safeParse(json.message);
    if (fault.success) return { ok: true, message: fault.data };
    const envelope = eventEnvelope.safeParse(json.message);
    if (!envelope.success) return { ok: false, error: `not a bindings event: ${summarise(envelope.error)}` };
    const args = EVENT_ARGS[envelope.data.e].safeParse(envelope.data.a.map(decodeValue));
    if (!args.success) return { ok: false, error: `bad arguments to ${envelope.data.e}: ${summarise(args.error)}` };
    return { ok: true, message: { k: 'event', e: envelope.data.e, a: args.data } };
  } catch (error) {
    return { ok: false, error: `unreadable line (${String(error)})` };
  }
}

/** One line for a call. @throws TypeError when an argument cannot travel. */
export function callLine(method: BindingsMethod, args: readonly unknown[]): string {
  return `${JSON.stringify({ k: 'call', m: method, a: args.map((a) => encodeValue(a)) })}\n`;
}

/** One line for an event. @throws TypeError when an argument cannot travel. */
export function eventLine(event: BindingsEvent, args: readonly unknown[]): string {
  return `${JSON.stringify({ k: 'event', e: event, a: args.map((a) => encodeValue(a)) })}\n`;
}

/** One line for a fault. */
export function faultLine(fault: Omit<FaultMessage, 'k'>): string {
  const out: FaultMessage = { k: 'fault', message: fault.message.slice(0, 4000) };
  if (fault.method !== undefined) out.method = fault.method.slice(0, 64);
  if (fault.code !== undefined) out.code = fault.code.slice(0, 64);
  if (fault.fatal !== undefined) out.fatal = fault.fatal;
  return `${JSON.stringify(out)}\n`;
}

// ---------------------------------------------------------------- reading lines

/**
 * Splits a readable byte stream into lines (UTF-8, `\n`, a trailing `\r` removed; empty
 * lines skipped). A line longer than `maxChars` is dropped whole and reported through
 * `onOversize`. Returns a function that stops reading.
 */
export function readLines(
  input: Readable,
  onLine: (line: string) => void,
  onOversize: (chars: number) => void,
  maxChars = MAX_LINE_CHARS,
): () => void {
  const decoder = new StringDecoder('utf8');
  let buffered = '';
  let skipping = false; // inside an oversize line: drop until its end
  let skipped = 0;
  const onData = (chunk: Buffer | string): void => {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    for (;;) {
      const nl = text.indexOf('\n');
      if (nl < 0) break;
      const piece = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (skipping) {
        skipping = false;
        onOversize(skipped + piece.length);
        skipped = 0;
        continue;
      }
      const line = (buffered + piece).replace(/\r$/, '');
      buffered = '';
      if (line.length > maxChars) {
        onOversize(line.length);
        continue;
      }
      if (line.trim().length > 0) onLine(line);
    }
    if (skipping) {
      skipped += text.length;
      return;
    }
    buffered += text;
    if (buffered.length > maxChars) {
      skipping = true;
      skipped = buffered.length;
      buffered = '';
    }
  };
  input.on('data', onData);
  return () => input.off('data', onData);
}
