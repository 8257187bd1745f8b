/**
 * HCI numbers the virtual controller speaks (Bluetooth Core, Vol 4 Part E), written out
 * once. Opcodes are `OGF << 10 | OCF`.
 */

/** HCI packet indicators (the first byte on a socket). */
export const PACKET = { command: 0x01, acl: 0x02, event: 0x04 } as const;

/** Event codes. */
export const EVENT = {
  disconnectionComplete: 0x05,
  encryptionChange: 0x08,
  commandComplete: 0x0e,
  commandStatus: 0x0f,
  numberOfCompletedPackets: 0x13,
  leMeta: 0x3e,
} as const;

/** LE meta sub-events. */
export const LE_EVENT = { connectionComplete: 0x01, advertisingReport: 0x02, connectionUpdateComplete: 0x03 } as const;

/** Command opcodes the controller implements. */
export const OP = {
  disconnect: 0x0406,
  setEventMask: 0x0c01,
  reset: 0x0c03,
  readLeHostSupported: 0x0c6c,
  writeLeHostSupported: 0x0c6d,
  readLocalVersion: 0x1001,
  readSupportedCommands: 0x1002,
  readBufferSize: 0x1005,
  readBdAddr: 0x1009,
  readRssi: 0x1405,
  leSetEventMask: 0x2001,
  leReadBufferSize: 0x2002,
  leSetAdvertisingParameters: 0x2006,
  leSetAdvertisingData: 0x2008,
  leSetScanResponseData: 0x2009,
  leSetAdvertiseEnable: 0x200a,
  leSetScanParameters: 0x200b,
  leSetScanEnable: 0x200c,
  leCreateConnection: 0x200d,
  leCreateConnectionCancel: 0x200e,
  leConnectionUpdate: 0x2013,
  leLtkNegativeReply: 0x201b,
} as const;

/** Parameter lengths (bytes) of the commands above; a command with another length is malformed. */
export const PARAM_LENGTH: Readonly<Record<number, number>> = {
  [OP.disconnect]: 3,
  [OP.setEventMask]: 8,
  [OP.reset]: 0,
  [OP.readLeHostSupported]: 0,
  [OP.writeLeHostSupported]: 2,
  [OP.readLocalVersion]: 0,
  [OP.readSupportedCommands]: 0,
  [OP.readBufferSize]: 0,
  [OP.readBdAddr]: 0,
  [OP.readRssi]: 2,
  [OP.leSetEventMask]: 8,
  [OP.leReadBufferSize]: 0,
  [OP.leSetAdvertisingParameters]: 15,
  [OP.leSetAdvertisingData]: 32,
  [OP.leSetScanResponseData]: 32,
  [OP.leSetAdvertiseEnable]: 1,
  [OP.leSetScanParameters]: 7,
  [OP.leSetScanEnable]: 2,
  [OP.leCreateConnection]: 25,
  [OP.leCreateConnectionCancel]: 0,
  [OP.leConnectionUpdate]: 14,
  [OP.leLtkNegativeReply]: 2,
};

/** HCI status and disconnect reason codes. */
export const STATUS = {
  success: 0x00,
  unknownCommand: 0x01,
  unknownConnectionId: 0x02,
  connectionTimeout: 0x08,
  commandDisallowed: 0x0c,
  invalidParameters: 0x12,
  remoteUserTerminated: 0x13,
  localHostTerminated: 0x16,
  connectionFailedToBeEstablished: 0x3e,
} as const;

/** Advertising report event types. */
export const ADV_REPORT = { advInd: 0x00, advDirectInd: 0x01, advScanInd: 0x02, advNonconnInd: 0x03, scanRsp: 0x04 } as const;

/** A short name of a command opcode, for the trace (hex when unknown). */
export function opcodeName(opcode: number): string {
  for (const [name, value] of Object.entries(OP)) if (value === opcode) return name;
  return `0x${opcode.toString(16).padStart(4, '0')}`;
}

/** `aa:bb:cc:dd:ee:ff` → the 6 bytes as HCI carries them (least significant first). */
export function addressToBytes(address: string): Uint8Array {
  const parts = address.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) throw new RangeError(`not a Bluetooth address: ${address}`);
  return Uint8Array.from(parts.reverse().map((p) => parseInt(p, 16)));
}

/** The 6 bytes HCI carries (least significant first) → `aa:bb:cc:dd:ee:ff`. */
export function bytesToAddress(bytes: Uint8Array): string {
  return [...bytes]
    .reverse()
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
}
