/**
 * The device profile format (docs/device-profiles.md): a massager described as data, one
 * JSON file, validated by the zod schema below. `protocols/profile/engine.ts` turns a
 * validated profile into a {@link ProtocolModule}; what data cannot say (the chair's power
 * rule) stays code, as a named hook the profile refers to (`protocols/hooks/`).
 *
 * Conventions: UUIDs in noble form (lowercase hex without dashes, 16-bit ones as four
 * digits); bytes as hex text (`"AA 01"`); byte positions count from 0, and a negative
 * position counts from the frame's end (`-4` is the fourth byte from the end); time in
 * milliseconds unless a name says seconds.
 */
import { z } from 'zod';

/** Hex bytes, e.g. `"AA 10 10 00"` (spaces optional). */
const hexBytes = z
  .string()
  .regex(/^\s*(?:[0-9A-Fa-f]{2}\s*)+$/, 'hex bytes such as "AA 01"');
/** A byte pattern: hex bytes where `??` stands for any byte, e.g. `"68 79 ??"`. */
const bytePattern = z
  .string()
  .regex(/^\s*(?:(?:[0-9A-Fa-f]{2}|\?\?)\s*)+$/, 'hex bytes, `??` for any byte');
const uuid = z.string().regex(/^(?:[0-9a-f]{4}|[0-9a-f]{32})$/, 'a UUID in noble form (ffe0, or 32 lowercase hex digits)');
const byte = z.number().int().min(0).max(255);
/** A byte position in a frame; negative counts from the end (-1 is the last byte). */
const position = z.number().int().min(-4096).max(4096);

/** Integer types a value can be written or read as (be = big-endian, le = little-endian). */
export const intTypeSchema = z.enum(['u8', 'u16be', 'u16le', 'u32be', 'u32le']);

/**
 * The checksums a frame may carry, each over a declared byte range:
 * `sum8` = byte sum & 0xFF; `not-sum7` = (~sum) & 0x7F; `sum-xor-ff` = (sum & 0xFF) ^ 0xFF;
 * `xor8` = XOR of the bytes; `crc16-xmodem` (poly 0x1021, seed 0, not reflected) and
 * `crc16-modbus` (poly 0xA001 reflected, seed 0xFFFF), two bytes in `order`.
 */
export const checksumAlgorithmSchema = z.enum(['sum8', 'not-sum7', 'sum-xor-ff', 'xor8', 'crc16-xmodem', 'crc16-modbus']);

const checksumRange = {
  algorithm: checksumAlgorithmSchema,
  /** First byte covered (default 0). */
  from: position.default(0),
  /** One past the last byte covered; absent: the frame's end. */
  to: position.optional(),
  /** Byte order of a 16-bit checksum as written (default big-endian). */
  order: z.enum(['big-endian', 'little-endian']).default('big-endian'),
};

/** One field of an outgoing frame template. */
export const fieldSchema = z.union([
  /** Constant bytes. */
  z.strictObject({ const: hexBytes }),
  /**
   * A value of the command: `step` (the intensity step), `mode` (the mode's code), `timer`
   * (the device timer, seconds), or a name given by the command's `values`. Written as
   * `round(value / divisor × scale + offset)` (`round`: nearest, up or down); a result outside the
   * type's range throws RangeError.
   */
  z.strictObject({
    value: z.string().min(1),
    type: intTypeSchema.default('u8'),
    /** The value is divided by this first (e.g. 600: seconds to a count of 10-minute timers). */
    divisor: z.number().finite().positive().default(1),
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    round: z.enum(['nearest', 'up', 'down']).default('nearest'),
  }),
  /** A byte taken from the chosen GATT variant's `vars` (e.g. the chair's type byte). */
  z.strictObject({ var: z.string().min(1) }),
  /** The frame's length in bytes, plus `adjust` (e.g. -2 when the terminator is not counted). */
  z.strictObject({ length: intTypeSchema, adjust: z.number().int().default(0) }),
  /** A checksum over a byte range of the whole frame, filled in last. */
  z.strictObject({ checksum: z.strictObject(checksumRange) }),
]);

/** How a command is written: with response when the characteristic allows it, or without when it allows that. */
export const writeTypeSchema = z.enum(['prefer-with-response', 'prefer-without-response']);

/** One write a command makes: a frame with the values it fixes. */
export const sendSchema = z.strictObject({
  frame: z.string().min(1),
  /** Values fixed by this send (e.g. `{ "step": 0 }` for a stop by speed 0). */
  values: z.record(z.string(), z.number().finite()).optional(),
  /** Overrides the GATT variant's write type for this write. */
  writeType: writeTypeSchema.optional(),
  /** Milliseconds to wait after this write. */
  delayAfterMs: z.number().int().min(0).max(10_000).optional(),
});

/** A number read from a notification: `((value at `at` as `type`) >> shift) & mask`, or bit groups concatenated. */
const numberFieldSchema = z.strictObject({
  at: position.optional(),
  type: intTypeSchema.default('u8'),
  shift: z.number().int().min(0).max(31).default(0),
  mask: z.number().int().min(0).optional(),
  /** Bit groups, most significant first: value = (… (b[at0] & mask0) << bits1 | (b[at1] & mask1)) … */
  parts: z.array(z.strictObject({ at: position, mask: byte, bits: z.number().int().min(1).max(8) })).min(1).optional(),
  /** Raw values outside `min..max` leave the field out. */
  min: z.number().optional(),
  max: z.number().optional(),
  /** Reported as `raw / divisor × scale + offset`. */
  divisor: z.number().finite().positive().default(1),
  scale: z.number().finite().default(1),
  offset: z.number().finite().default(0),
});

/** A flag read from a notification: `(byte & mask) == equals`, or `!= 0` without `equals`. */
const flagFieldSchema = z.strictObject({
  at: position,
  mask: byte.default(0xff),
  equals: byte.optional(),
});

/** A condition on an incoming frame: `(byte at `at` & mask) == equals`. */
const conditionSchema = z.strictObject({ at: position, mask: byte.default(0xff), equals: byte });

/** One kind of status notification and the fields it carries. */
export const statusRuleSchema = z.strictObject({
  name: z.string().min(1),
  /** Conditions that pick this rule (all must hold). */
  when: z.array(conditionSchema).default([]),
  /** A frame matching `when` but shorter than this is unknown. */
  minLength: z.number().int().min(1).optional(),
  fields: z
    .strictObject({
      running: flagFieldSchema.optional(),
      powered: flagFieldSchema.optional(),
      heat: flagFieldSchema.optional(),
      level: numberFieldSchema.optional(),
      /** The mode whose `code` the number is (absent when no mode has it). */
      mode: numberFieldSchema.optional(),
      batteryPercent: numberFieldSchema.optional(),
      /** The firmware number, shown as `hundreds.tens.units` (`415` → `4.1.5`) or as a decimal. */
      firmware: numberFieldSchema.extend({ format: z.enum(['hundreds.tens.units', 'decimal']).default('decimal') }).optional(),
      /** The run state: the number indexes `values` (`idle`, `resetting`, `ready`, `running`). */
      runState: numberFieldSchema.extend({ values: z.array(z.enum(['idle', 'resetting', 'ready', 'running'])).min(1) }).optional(),
      secondsLeft: numberFieldSchema.optional(),
    })
    .default({}),
  /** The reported level is the very step the app commands (so it can be compared with the ceiling). */
  levelIsIntensity: z.boolean().default(false),
  /** Fields reported only while the frame says `running` (others hold leftovers then). */
  onlyWhileRunning: z.array(z.enum(['level', 'mode', 'secondsLeft'])).default([]),
});

/** How incoming notifications are cut into frames and checked. */
export const inboundFramingSchema = z.strictObject({
  header: hexBytes.optional(),
  terminator: hexBytes.optional(),
  /** A frame shorter than this is refused (default 1). */
  minLength: z.number().int().min(1).default(1),
  /** Frames have exactly this length. */
  fixedLength: z.number().int().min(1).optional(),
  /**
   * A length field and what it counts (`frame`: header to terminator). `orShorterBy`: the
   * value may also leave out that many bytes (a source that does not count the
   * terminator). `min`/`max`: bounds of a plausible frame.
   */
  length: z
    .strictObject({
      at: position,
      type: intTypeSchema,
      counts: z.literal('frame'),
      orShorterBy: z.number().int().min(1).max(16).optional(),
      min: z.number().int().min(1),
      max: z.number().int().min(1).max(65_535),
    })
    .optional(),
  /** Bytes at fixed positions that must hold one of the listed values (e.g. a direction byte). */
  guards: z.array(z.strictObject({ at: position, oneOf: z.array(byte).min(1) })).default([]),
  /** The checksum and where it sits; `acceptEitherOrder` also takes a 16-bit one byte-swapped. */
  checksum: z.strictObject({ ...checksumRange, at: position, acceptEitherOrder: z.boolean().default(false) }).optional(),
  /** Status fields are read only before this position (e.g. -4: before the CRC and terminator). */
  contentEnd: position.optional(),
  /**
   * Notifications may hold part of a frame or several: bytes are kept across notifications
   * (at most `bufferLimit`) and frames cut by the length field. Needs `header` and `length`.
   */
  reassemble: z.strictObject({ bufferLimit: z.number().int().min(16).max(65_536) }).optional(),
});

const motionSchema = z.enum(['circular', 'back-and-forth', 'on-knot', 'long-strokes']);

/** One identification rule: what the advertisement must show, and what the match means. */
export const identifyRuleSchema = z.strictObject({
  confidence: z.enum(['strong', 'candidate']),
  /**
   * The model a match names: text with `{name}` (the local name, trimmed), `{1}`… (a group
   * of the name pattern) and `{b2}`… (a byte of the matched bytes: an ASCII digit as its
   * value, any other byte as a decimal number).
   */
  model: z.string().optional(),
  name: z
    .strictObject({
      exact: z.array(z.string().min(1)).optional(),
      prefix: z.string().min(1).optional(),
      /** A regular expression (JavaScript syntax), tested against the trimmed name. */
      pattern: z.string().min(1).max(200).optional(),
      caseInsensitive: z.boolean().default(false),
    })
    .optional(),
  /** All of these service UUIDs must be advertised. */
  services: z.array(uuid).min(1).optional(),
  /** Manufacturer data: its company id (bytes 0–1, little-endian) and the bytes after it. */
  manufacturer: z.strictObject({ companyId: z.number().int().min(0).max(0xffff).optional(), prefix: bytePattern.optional() }).optional(),
  /** Service data for a service (any when `uuid` is absent) beginning with `prefix`. */
  serviceData: z.strictObject({ uuid: uuid.optional(), prefix: bytePattern.optional() }).optional(),
  /** A byte pattern in the manufacturer data or any service data, at the start of the field or anywhere in it. */
  bytes: z
    .strictObject({
      pattern: bytePattern,
      in: z.array(z.enum(['manufacturer', 'serviceData'])).min(1),
      anchor: z.enum(['start', 'anywhere']),
    })
    .optional(),
});

/** One way the device's GATT roles may be laid out; the first found after connecting is used. */
export const gattVariantSchema = z.strictObject({
  service: uuid,
  write: uuid,
  notify: uuid,
  writeType: writeTypeSchema,
  /** Bytes this variant puts into frames (`{ "var": … }` fields). */
  vars: z.record(z.string(), byte).default({}),
  /** The model assumed when neither the discovered model nor the name tells it. */
  model: z.string().optional(),
});

/** The whole device profile. */
export const deviceProfileSchema = z
  .strictObject({
    /** Format version; this file describes version 1. */
    format: z.literal(1),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/),
    name: z.string().min(1),
    kind: z.enum(['percussive', 'chair', 'cushion', 'ems']),
    /** Where each fact comes from: repository and file, or page. */
    sources: z.array(z.strictObject({ title: z.string().min(1), where: z.string().min(1) })).min(1),
    /** `experimental`: single or disagreeing sources, with the sentence the UI shows; `checked`: confirmed on hardware. */
    confidence: z.discriminatedUnion('level', [
      z.strictObject({ level: z.literal('experimental'), note: z.string().min(1) }),
      z.strictObject({ level: z.literal('checked') }),
    ]),
    /** Minimum milliseconds between two writes (the write gap). */
    writeGapMs: z.number().int().min(1).max(10_000),
    identify: z.array(identifyRuleSchema).min(1),
    gatt: z.strictObject({ variants: z.array(gattVariantSchema).min(1) }),
    /** Advertised names that name a model (e.g. `liv2` → `Prime`); `knownOnly`: other names name none. */
    models: z
      .strictObject({ names: z.record(z.string(), z.string()).default({}), knownOnly: z.boolean().default(false), fallback: z.string().min(1) })
      .optional(),
    capabilities: z.strictObject({
      /** Intensity steps above 0: one number, or per model with a default. */
      steps: z.union([
        z.number().int().min(1).max(100_000),
        z.strictObject({ byModel: z.record(z.string(), z.number().int().min(1).max(100_000)), default: z.number().int().min(1).max(100_000) }),
      ]),
      minRunningStep: z.number().int().min(1).default(1),
      stepUnit: z.string().min(1),
      /** Modes with the code the frames carry and the routine motions they serve. */
      modes: z.array(z.strictObject({ name: z.string().min(1), code: z.number().int().min(0), motions: z.array(motionSchema).default([]) })).default([]),
      heat: z.boolean().default(false),
      /** Battery from the status notifications, from the standard Battery Service when found, or none. */
      battery: z.enum(['status', 'battery-service', 'none']),
      /**
       * The device's own work timer: a wanted time is rounded up to `roundUpToSeconds`,
       * kept within `min..maxSeconds`; `defaultSeconds` is sent with a start when none was
       * set; `offeredSeconds` are the timers offered to the governor.
       */
      timer: z
        .strictObject({
          roundUpToSeconds: z.number().int().min(1).default(1),
          minSeconds: z.number().int().min(0),
          maxSeconds: z.number().int().min(1),
          defaultSeconds: z.number().int().min(1),
          offeredSeconds: z.union([z.array(z.number().int().min(1)).min(1), z.strictObject({ from: z.number().int().min(1), to: z.number().int().min(1), step: z.number().int().min(1) })]),
        })
        .optional(),
    }),
    framing: z
      .strictObject({
        /** Fields every outgoing frame starts and ends with, around its own fields. */
        out: z.strictObject({ before: z.array(fieldSchema).default([]), after: z.array(fieldSchema).default([]) }).default({ before: [], after: [] }),
        in: inboundFramingSchema.default({ minLength: 1, guards: [] }),
      })
      .default({ out: { before: [], after: [] }, in: { minLength: 1, guards: [] } }),
    /** Outgoing frames by name: the fields between the framing's `before` and `after`. */
    frames: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/), z.array(fieldSchema).min(1)),
    commands: z
      .strictObject({
        /** Written once after subscribing. */
        init: z.array(sendSchema).default([]),
        /** `start`: when the device is not running (absent: the same as `running`); `running`: while it runs. */
        setIntensity: z.strictObject({ start: z.array(sendSchema).optional(), running: z.array(sendSchema).min(1) }).optional(),
        /** The stop as steps: the first is sent; each next one only when the one before was not confirmed. */
        stop: z.array(z.array(sendSchema).min(1)).min(1).optional(),
        /** While running (otherwise remembered for the next start). */
        setMode: z.strictObject({ whileRunning: z.array(sendSchema) }).optional(),
        setTimer: z.strictObject({ whileRunning: z.array(sendSchema) }).optional(),
        setHeat: z.strictObject({ on: z.array(sendSchema), off: z.array(sendSchema) }).optional(),
        powerOn: z.array(sendSchema).optional(),
        queryStatus: z.array(sendSchema).optional(),
        queryFirmware: z.array(sendSchema).optional(),
        keepalive: z.strictObject({ intervalMs: z.number().int().min(100).max(60_000), send: z.array(sendSchema).min(1) }).optional(),
      })
      .default({ init: [] }),
    /** Which notifications are statuses; `unmatched`: a valid frame no rule picks is unknown, or a status with no fields. */
    status: z.strictObject({ rules: z.array(statusRuleSchema).default([]), unmatched: z.enum(['unknown', 'empty']).default('unknown') }).default({ rules: [], unmatched: 'unknown' }),
    /**
     * How a stop is confirmed: a status after the stop matching one of `off` proves it;
     * one matching `running` says it was not taken. Absent: the device cannot confirm.
     */
    stopProof: z
      .strictObject({
        deadlineMs: z.number().int().min(50).max(30_000),
        askAtMs: z.array(z.number().int().min(0).max(30_000)).default([]),
        off: z.array(z.record(z.string(), z.union([z.boolean(), z.number(), z.string()]))).min(1),
        running: z.array(z.record(z.string(), z.union([z.boolean(), z.number(), z.string()]))).default([]),
      })
      .optional(),
    /**
     * When the session reports the device "switched off by hand" (`offByHand` on its status):
     * a status saying `running: false` while the session has the motor on counts once the
     * motor has been on longer than `notRunningAfterMs` (earlier frames may predate the start);
     * null: never. Absent: {@link OFF_BY_HAND_DEFAULTS} for the profile's kind.
     */
    offByHand: z.strictObject({ notRunningAfterMs: z.number().int().min(0).max(60_000).nullable() }).optional(),
    /** A named hook for behaviour data cannot say (`rongtai-power-rule`); it then drives the session. */
    hook: z.string().min(1).optional(),
    /** What the generated simulator advertises (demo mode and UI tests only). */
    demo: z
      .strictObject({ localName: z.string().min(1), serviceUuids: z.array(uuid).default([]), manufacturerData: hexBytes.optional() })
      .optional(),
  })
  .superRefine((p, ctx) => {
    const frames = new Set(Object.keys(p.frames));
    const sends = [
      ...p.commands.init,
      ...(p.commands.setIntensity?.start ?? []),
      ...(p.commands.setIntensity?.running ?? []),
      ...(p.commands.stop ?? []).flat(),
      ...(p.commands.setMode?.whileRunning ?? []),
      ...(p.commands.setTimer?.whileRunning ?? []),
      ...(p.commands.setHeat?.on ?? []),
      ...(p.commands.setHeat?.off ?? []),
      ...(p.commands.powerOn ?? []),
      ...(p.commands.queryStatus ?? []),
      ...(p.commands.queryFirmware ?? []),
      ...(p.commands.keepalive?.send ?? []),
    ];
    for (const s of sends) if (!frames.has(s.frame)) ctx.addIssue({ code: 'custom', message: `command refers to unknown frame "${s.frame}"` });
    if (!p.hook) {
      if (!p.commands.setIntensity) ctx.addIssue({ code: 'custom', message: 'commands.setIntensity is required without a hook' });
      if (!p.commands.stop) ctx.addIssue({ code: 'custom', message: 'commands.stop is required without a hook' });
    }
    const inbound = p.framing.in;
    if (inbound.reassemble && (!inbound.header || !inbound.length)) {
      ctx.addIssue({ code: 'custom', message: 'framing.in.reassemble needs a header and a length field' });
    }
    for (const rule of p.identify) {
      if (!rule.name && !rule.services && !rule.manufacturer && !rule.serviceData && !rule.bytes) {
        ctx.addIssue({ code: 'custom', message: 'an identify rule must test something' });
      }
      if (rule.name?.pattern !== undefined) {
        try {
          new RegExp(rule.name.pattern);
        } catch {
          ctx.addIssue({ code: 'custom', message: `name pattern ${rule.name.pattern} is not a regular expression` });
        }
      }
    }
  });

/** A profile's "switched off by hand" rule (see the `offByHand` key). */
export interface OffByHandRule {
  /** Milliseconds the motor must have been on before a "not running" status counts; null: it never does. */
  notRunningAfterMs: number | null;
}

/**
 * The rule a profile without an `offByHand` key gets, by its kind: a massage gun's status
 * says plainly whether its motor runs, so "not running" counts after 1.5 s of motor time;
 * other kinds' "not running" never counts (a hook may still report it, as the chair's does).
 */
export const OFF_BY_HAND_DEFAULTS: Readonly<Record<DeviceProfile['kind'], Readonly<OffByHandRule>>> = Object.freeze({
  percussive: Object.freeze({ notRunningAfterMs: 1500 }),
  chair: Object.freeze({ notRunningAfterMs: null }),
  cushion: Object.freeze({ notRunningAfterMs: null }),
  ems: Object.freeze({ notRunningAfterMs: null }),
});

/** The "switched off by hand" rule of a validated profile: its own, or its kind's default. */
export function offByHandRule(profile: DeviceProfile): OffByHandRule {
  return { ...(profile.offByHand ?? OFF_BY_HAND_DEFAULTS[profile.kind]) };
}

/** A validated device profile (defaults filled in). */
export type DeviceProfile = z.output<typeof deviceProfileSchema>;
/** One field of an outgoing frame template. */
export type FrameField = z.output<typeof fieldSchema>;
/** One write of a command. */
export type Send = z.output<typeof sendSchema>;
/** One status rule. */
export type StatusRule = z.output<typeof statusRuleSchema>;
/** How incoming notifications are framed. */
export type InboundFraming = z.output<typeof inboundFramingSchema>;
/** One identification rule. */
export type IdentifyRule = z.output<typeof identifyRuleSchema>;
/** One GATT layout. */
export type GattVariant = z.output<typeof gattVariantSchema>;
/** An integer type of a frame field. */
export type IntType = z.output<typeof intTypeSchema>;
/** A checksum algorithm. */
export type ChecksumAlgorithm = z.output<typeof checksumAlgorithmSchema>;

/**
 * Validates a profile (parsed JSON). Returns the profile with defaults filled in.
 * @throws ProfileError listing every problem found, each with its path in the file.
 */
export function parseProfile(data: unknown, origin = 'profile'): DeviceProfile {
  const result = deviceProfileSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new ProfileError(`${origin} is not a valid device profile:\n- ${problems.join('\n- ')}`, problems);
}

/** A profile that failed validation; `problems` lists each one as `path: message`. */
export class ProfileError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'ProfileError';
  }
}
