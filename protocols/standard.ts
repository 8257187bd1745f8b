/**
 * Standard Bluetooth SIG services that Unknot uses whenever a device has them
 * (DESIGN §3): Battery Service and Device Information. UUIDs in noble form.
 * Source: Bluetooth SIG Assigned Numbers (service and characteristic UUIDs) and the
 * Battery Service specification (Battery Level is one unsigned byte, percent 0..100).
 */
import type { CharacteristicProperty, ConnectionContext, DeviceStatus, FoundCharacteristic, SimService } from './types';

/** Battery Service. */
export const BATTERY_SERVICE = '180f';
/** Battery Level characteristic: one byte, percent 0..100. */
export const BATTERY_LEVEL = '2a19';
/** Device Information Service. */
export const DEVICE_INFORMATION_SERVICE = '180a';
/** Model Number String (UTF-8). */
export const MODEL_NUMBER = '2a24';
/** Firmware Revision String (UTF-8). */
export const FIRMWARE_REVISION = '2a26';
/** Manufacturer Name String (UTF-8). */
export const MANUFACTURER_NAME = '2a29';

/** The standard services the link may discover in addition to a protocol's own. */
export const STANDARD_SERVICES: readonly string[] = [BATTERY_SERVICE, DEVICE_INFORMATION_SERVICE];

/**
 * Decodes a Battery Level value: percent 0..100, or undefined when the value is
 * empty or above 100 (the specification reserves 101..255). Never throws.
 */
export function decodeBatteryLevel(bytes: Uint8Array): number | undefined {
  const value = bytes[0];
  if (value === undefined || bytes.length !== 1 || value > 100) return undefined;
  return value;
}

/**
 * Decodes a Device Information string (UTF-8, possibly NUL-padded), trimmed.
 * Returns undefined when empty. Never throws (invalid UTF-8 becomes U+FFFD).
 */
export function decodeInfoString(bytes: Uint8Array): string | undefined {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, end)).trim();
  return text.length > 0 ? text : undefined;
}

/** What a standard characteristic read tells us, merged into a device's status. */
export interface StandardReadResult {
  status: DeviceStatus;
  /** Model or maker strings, which have no place in {@link DeviceStatus}. */
  model?: string;
  manufacturer?: string;
}

/**
 * Decodes a read of any standard characteristic this module knows. Returns undefined
 * for other characteristics or unreadable values. Never throws.
 */
export function decodeStandardRead(service: string, characteristic: string, bytes: Uint8Array): StandardReadResult | undefined {
  if (service === BATTERY_SERVICE && characteristic === BATTERY_LEVEL) {
    const batteryPercent = decodeBatteryLevel(bytes);
    return batteryPercent === undefined ? undefined : { status: { batteryPercent } };
  }
  if (service !== DEVICE_INFORMATION_SERVICE) return undefined;
  const text = decodeInfoString(bytes);
  if (text === undefined) return undefined;
  if (characteristic === FIRMWARE_REVISION) return { status: { firmware: text } };
  if (characteristic === MODEL_NUMBER) return { status: {}, model: text };
  if (characteristic === MANUFACTURER_NAME) return { status: {}, manufacturer: text };
  return undefined;
}

/** Finds a discovered characteristic, or undefined. */
export function findCharacteristic(ctx: ConnectionContext, service: string, characteristic: string): FoundCharacteristic | undefined {
  return ctx.services.get(service)?.find((c) => c.uuid === characteristic);
}

/** True when discovery found the service (with any characteristics). */
export function hasService(ctx: ConnectionContext, service: string): boolean {
  return ctx.services.has(service);
}

/** True when discovery found a readable Battery Level characteristic. */
export function hasBattery(ctx: ConnectionContext): boolean {
  const c = findCharacteristic(ctx, BATTERY_SERVICE, BATTERY_LEVEL);
  return c !== undefined && (c.properties.length === 0 || c.properties.includes('read') || c.properties.includes('notify'));
}

/**
 * Picks the write type a characteristic's declared properties allow: with response
 * when `write` is declared (also when both are), without when only
 * `writeWithoutResponse` is, and `fallback` when neither is declared.
 */
export function writeTypeFor(c: FoundCharacteristic, fallback: boolean): boolean {
  if (c.properties.includes('write')) return true;
  if (c.properties.includes('writeWithoutResponse')) return false;
  return fallback;
}

/** True when a characteristic declares a way to write. */
export function canWrite(c: FoundCharacteristic | undefined): c is FoundCharacteristic {
  return c !== undefined && (c.properties.includes('write') || c.properties.includes('writeWithoutResponse'));
}

/** True when a characteristic declares notify or indicate. */
export function canNotify(c: FoundCharacteristic | undefined): c is FoundCharacteristic {
  return c !== undefined && (c.properties.includes('notify') || c.properties.includes('indicate'));
}

/** Values a simulated peripheral serves from its standard services. Undefined fields leave a service out. */
export interface StandardSimInfo {
  /** Battery percent 0..100; when set, the Battery Service is present. */
  batteryPercent?: number;
  /** When any of these is set, the Device Information Service is present. */
  model?: string;
  firmware?: string;
  manufacturer?: string;
}

/**
 * The standard services of a simulated peripheral: adds them to its GATT table and
 * answers reads. Simulators call {@link services} when building their table and
 * {@link read} from their `onRead`.
 */
export class StandardServicesSim {
  private info: StandardSimInfo;

  constructor(info: StandardSimInfo) {
    this.info = { ...info };
  }

  /** The battery percent now served (undefined when there is no Battery Service). */
  get batteryPercent(): number | undefined {
    return this.info.batteryPercent;
  }

  /** Changes the battery percent served (clamped to 0..100 and rounded). */
  setBattery(percent: number): void {
    this.info.batteryPercent = Math.max(0, Math.min(100, Math.round(percent)));
  }

  /** The standard services to append to the simulator's GATT table. */
  services(): SimService[] {
    const out: SimService[] = [];
    if (this.info.batteryPercent !== undefined) {
      const props: CharacteristicProperty[] = ['read', 'notify'];
      out.push({ uuid: BATTERY_SERVICE, characteristics: [{ uuid: BATTERY_LEVEL, properties: props }] });
    }
    const infoChars: { uuid: string; properties: CharacteristicProperty[] }[] = [];
    if (this.info.model !== undefined) infoChars.push({ uuid: MODEL_NUMBER, properties: ['read'] });
    if (this.info.firmware !== undefined) infoChars.push({ uuid: FIRMWARE_REVISION, properties: ['read'] });
    if (this.info.manufacturer !== undefined) infoChars.push({ uuid: MANUFACTURER_NAME, properties: ['read'] });
    if (infoChars.length > 0) out.push({ uuid: DEVICE_INFORMATION_SERVICE, characteristics: infoChars });
    return out;
  }

  /** Answers a read of a standard characteristic, or undefined when it is not one served here. */
  read(service: string, characteristic: string): Uint8Array | undefined {
    if (service === BATTERY_SERVICE && characteristic === BATTERY_LEVEL && this.info.batteryPercent !== undefined) {
      return Uint8Array.of(this.info.batteryPercent);
    }
    if (service !== DEVICE_INFORMATION_SERVICE) return undefined;
    const text =
      characteristic === MODEL_NUMBER
        ? this.info.model
        : characteristic === FIRMWARE_REVISION
          ? this.info.firmware
          : characteristic === MANUFACTURER_NAME
            ? this.info.manufacturer
            : undefined;
    return text === undefined ? undefined : new TextEncoder().encode(text);
  }
}
