/**
 * Reads ATT out of a virtual link's trace: reassembles the L2CAP PDUs a host handed its
 * controller (or a controller delivered to its host) on the ATT channel (CID 4), so a
 * test can see noble's own ATT requests (Write Request 0x12, Write Command 0x52, …).
 */
import type { TraceEntry } from './virtual-link';

/** One ATT PDU as it crossed a controller's HCI boundary. */
export interface AttPdu {
  /** `performance.now()` milliseconds of its last fragment. */
  atMs: number;
  controller: string;
  from: TraceEntry['from'];
  /** ATT opcode (e.g. 0x12 Write Request, 0x52 Write Command, 0x1b Notification). */
  opcode: number;
  /** The whole PDU, opcode first. */
  bytes: Uint8Array;
  /** Number of ACL fragments it took. */
  fragments: number;
}

/** ATT opcodes by name, for assertions. */
export const ATT = {
  error: 0x01,
  mtuRequest: 0x02,
  mtuResponse: 0x03,
  readByTypeRequest: 0x08,
  readRequest: 0x0a,
  readBlobRequest: 0x0c,
  readByGroupRequest: 0x10,
  writeRequest: 0x12,
  writeResponse: 0x13,
  prepareWriteRequest: 0x16,
  executeWriteRequest: 0x18,
  notification: 0x1b,
  writeCommand: 0x52,
} as const;

/**
 * The ATT PDUs in `trace` at `controller`, in the direction `from` (`host`: what the host
 * sent; `controller`: what the host received), reassembled from ACL fragments.
 */
export function attPdus(trace: readonly TraceEntry[], controller: string, from: TraceEntry['from']): AttPdu[] {
  const out: AttPdu[] = [];
  const partial = new Map<number, { cid: number; length: number; data: number[]; fragments: number }>();
  for (const e of trace) {
    if (e.controller !== controller || e.from !== from || e.bytes[0] !== 0x02 || e.bytes.length < 5) continue;
    const header = e.bytes[1]! | (e.bytes[2]! << 8);
    const handle = header & 0x0fff;
    const pb = (header >> 12) & 0x3;
    const data = e.bytes.subarray(5);
    let pdu = partial.get(handle);
    if (pb === 0b00 || pb === 0b10) {
      if (data.length < 4) continue;
      pdu = { length: data[0]! | (data[1]! << 8), cid: data[2]! | (data[3]! << 8), data: [...data.subarray(4)], fragments: 1 };
      partial.set(handle, pdu);
    } else if (pdu) {
      pdu.data.push(...data);
      pdu.fragments++;
    } else continue;
    if (pdu.data.length >= pdu.length) {
      partial.delete(handle);
      if (pdu.cid === 0x0004 && pdu.data.length > 0) {
        out.push({ atMs: e.atMs, controller, from, opcode: pdu.data[0]!, bytes: Uint8Array.from(pdu.data.slice(0, pdu.length)), fragments: pdu.fragments });
      }
    }
  }
  return out;
}

/** The value bytes of ATT writes (requests and commands) in `pdus`, as hex, with their opcode. */
export function attWrites(pdus: readonly AttPdu[]): { opcode: number; handle: number; hex: string }[] {
  return pdus
    .filter((p) => p.opcode === ATT.writeRequest || p.opcode === ATT.writeCommand)
    .map((p) => ({ opcode: p.opcode, handle: p.bytes[1]! | (p.bytes[2]! << 8), hex: Buffer.from(p.bytes.subarray(3)).toString('hex') }));
}
