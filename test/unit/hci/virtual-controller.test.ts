/**
 * The virtual controller and link on their own, driven with raw HCI packets through the
 * virtual socket (no noble, no bleno): what each host gets back, byte for byte, and the
 * violations the link records.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { VirtualLink } from '../../support/hci/virtual-link';
import { VirtualHciSocket, useVirtualLink } from '../../support/hci/virtual-socket';

const CENTRAL = '00:1a:7d:da:71:01';
const PERIPHERAL = 'c0:ff:ee:00:00:01';

/** A raw host: a bound virtual socket that keeps every packet it receives, with when. */
class RawHost {
  readonly socket = new VirtualHciSocket();
  readonly got: { at: number; bytes: Buffer }[] = [];
  constructor(deviceId: number) {
    this.socket.on('data', (b: Buffer) => this.got.push({ at: performance.now(), bytes: Buffer.from(b) }));
    this.socket.on('error', () => undefined);
    this.socket.bindRaw(deviceId);
    this.socket.start();
  }
  send(hexString: string): void {
    this.socket.write(Buffer.from(hexString.replace(/\s+/g, ''), 'hex'));
  }
  /** Packets received, as hex. */
  hex(): string[] {
    return this.got.map((g) => g.bytes.toString('hex'));
  }
  events(code: number): Buffer[] {
    return this.got.filter((g) => g.bytes[0] === 0x04 && g.bytes[1] === code).map((g) => g.bytes);
  }
  meta(sub: number): Buffer[] {
    return this.events(0x3e).filter((b) => b[3] === sub);
  }
  acl(): { at: number; bytes: Buffer }[] {
    return this.got.filter((g) => g.bytes[0] === 0x02);
  }
}

const waitFor = async (predicate: () => boolean, ms = 3000, what = 'condition'): Promise<void> => {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let link: VirtualLink | undefined;
afterEach(() => {
  link?.dispose();
  link = undefined;
  useVirtualLink(null);
});

function twoControllers(options: ConstructorParameters<typeof VirtualLink>[0] = {}, buffers = { length: 27, count: 4 }) {
  link = new VirtualLink(options);
  useVirtualLink(link);
  const c = link.addController({ name: 'central', deviceId: 0, address: CENTRAL, aclBufferLength: buffers.length, aclBufferCount: buffers.count });
  const p = link.addController({ name: 'peripheral', deviceId: 1, address: PERIPHERAL, rssi: -57 });
  return { link, c, p, central: new RawHost(0), peripheral: new RawHost(1) };
}

/** Advertises (ADV_IND, name in the scan response) on `peripheral` and scans actively on `central`. */
function advertiseAndScan(central: RawHost, peripheral: RawHost, filterDuplicates = false): void {
  peripheral.send('01 0620 0f a000 a000 00 00 00 000000000000 07 00'); // advertising parameters: 100 ms, ADV_IND
  peripheral.send('01 0820 20 03 020106' + '00'.repeat(28)); // advertising data: flags
  peripheral.send('01 0920 20 05 0409 50 72 6f'.replace(/ /g, '') + '00'.repeat(26)); // scan response: "Pro"
  peripheral.send('01 0a20 01 01');
  central.send('01 0b20 07 01 1200 1200 00 00'); // active scan
  central.send(`01 0c20 02 01 ${filterDuplicates ? '01' : '00'}`);
}

describe('virtual controller: commands', () => {
  it('answers the hosts’ initialisation with its address, version and ACL buffer sizes', async () => {
    const { central } = twoControllers({}, { length: 27, count: 3 });
    central.send('01 0910 00'); // Read BD ADDR
    central.send('01 0220 00'); // LE Read Buffer Size
    central.send('01 0110 00'); // Read Local Version
    central.send('01 0510 00'); // Read Buffer Size
    central.send('01 6c0c 00'); // Read LE Host Supported
    central.send('01 ffff 00'); // a command nobody knows
    await waitFor(() => central.got.length >= 6);
    expect(central.hex()).toEqual([
      '040e0a' + '01' + '0910' + '00' + '0171da7d1a00', // address, least significant byte first
      '040e07' + '01' + '0220' + '00' + '1b00' + '03', // 27 bytes × 3
      '040e0c' + '01' + '0110' + '00' + '09' + '0000' + '09' + 'ffff' + '0000', // HCI 5.0
      '040e0b' + '01' + '0510' + '00' + '1b00' + '00' + '0300' + '0000',
      '040e06' + '01' + '6c0c' + '00' + '0100',
      '040e0401ffff01', // Unknown HCI Command
    ]);
    expect(link!.violations()).toEqual([]);
  });

  it('records a command whose length does not add up, or whose parameters are the wrong size, as malformed', async () => {
    const { central } = twoControllers();
    central.send('01 0c20 02 01'); // says 2 parameter bytes, carries 1
    central.send('01 0c20 01 01'); // Scan Enable needs 2
    await waitFor(() => central.got.length >= 1);
    expect(link!.violations().map((v) => [v.rule, v.detail])).toEqual([
      ['malformed', 'command leSetScanEnable says 2 parameter bytes but carries 1'],
      ['malformed', 'command leSetScanEnable needs 2 parameter bytes, got 1'],
    ]);
    expect(central.hex()).toEqual(['040e04010c2012']); // invalid parameters
  });

  it('rejects a connection interval outside 7.5–50 ms', () => {
    expect(() => new VirtualLink({ connectionIntervalMs: 5 })).toThrow(RangeError);
    expect(() => new VirtualLink({ connectionIntervalMs: 51.25 })).toThrow(RangeError);
    expect(() => new VirtualLink({ connectionIntervalMs: 31 })).toThrow(RangeError);
    expect(new VirtualLink({ connectionIntervalMs: 7.5 }).connectionIntervalMs).toBe(7.5);
  });
});

describe('virtual link: advertising', () => {
  it('an active scanner gets each advertisement and then its scan response, with the RSSI', async () => {
    const { central } = twoControllers();
    central.send('01 0b20 07 01 1200 1200 00 00');
    const { peripheral } = { peripheral: new RawHost(1) };
    advertiseAndScan(central, peripheral);
    await waitFor(() => central.meta(0x02).length >= 4, 3000, 'two advertising events');
    const [adv, rsp] = central.meta(0x02).map((b) => b.toString('hex'));
    // subevent 02, 1 report, type 00 (ADV_IND), public, address, 3 data bytes, RSSI -57 (0xc7)
    expect(adv).toBe('043e0f' + '02' + '01' + '00' + '00' + '010000eeffc0' + '03' + '020106' + 'c7');
    // type 04 (scan response) with the complete local name "Pro"
    expect(rsp).toBe('043e11' + '02' + '01' + '04' + '00' + '010000eeffc0' + '05' + '0409' + '50726f' + 'c7');
  });

  it('a scan with duplicate filtering reports each advertisement once; a passive one gets no scan response', async () => {
    const { central, peripheral } = twoControllers();
    advertiseAndScan(central, peripheral, true);
    await sleep(450); // four advertising events at 100 ms
    expect(central.meta(0x02).map((b) => b[5])).toEqual([0x00, 0x04]);
    central.send('01 0c20 02 00 00');
    central.send('01 0b20 07 00 1200 1200 00 00'); // passive
    central.send('01 0c20 02 01 00');
    const before = central.meta(0x02).length;
    await sleep(350);
    const later = central.meta(0x02).slice(before).map((b) => b[5]);
    expect(later.length).toBeGreaterThanOrEqual(2);
    expect(new Set(later)).toEqual(new Set([0x00]));
  });
});

describe('virtual link: connections', () => {
  async function connected(options: ConstructorParameters<typeof VirtualLink>[0] = {}, buffers?: { length: number; count: number }) {
    const world = twoControllers(options, buffers);
    advertiseAndScan(world.central, world.peripheral);
    // LE Create Connection to the peripheral, supervision timeout 420 ms (0x2a)
    world.central.send('01 0d20 19 6000 3000 00 00 010000eeffc0 00 0600 1200 0000 2a00 0400 0600');
    await waitFor(() => world.central.meta(0x01).length === 1 && world.peripheral.meta(0x01).length === 1, 3000, 'connection complete');
    return world;
  }

  it('LE Create Connection completes at the next advertising event, central role 0 and peripheral role 1, at the link’s interval', async () => {
    const { central, peripheral } = await connected({ connectionIntervalMs: 30 });
    expect(central.events(0x0f)[0]!.toString('hex')).toBe('040f0400010d20'); // command status: pending
    // handle 0x0040, role, peer address type and address, interval 24 × 1.25 ms, latency 0, timeout 42 × 10 ms
    expect(central.meta(0x01)[0]!.toString('hex')).toBe('043e13010040000000010000eeffc01800' + '00002a0000');
    expect(peripheral.meta(0x01)[0]!.toString('hex')).toBe('043e1301004000010001' + '71da7d1a00' + '1800' + '00002a0000');
    // a connected peripheral no longer advertises
    const n = central.meta(0x02).length;
    await sleep(250);
    expect(central.meta(0x02).length).toBe(n);
  });

  it('cancelling a connection to a device that is not there completes the command, then the connection with "unknown connection identifier"', async () => {
    const { central } = twoControllers();
    central.send('01 0d20 19 6000 3000 00 00 aaaaaaaaaaaa 00 0600 1200 0000 2a00 0400 0600');
    await sleep(50);
    central.send('01 0e20 00');
    await waitFor(() => central.meta(0x01).length === 1);
    expect(central.events(0x0e).map((b) => b.toString('hex'))).toEqual(['040e04010e2000']);
    expect(central.meta(0x01)[0]![4]).toBe(0x02);
    // a second cancel is disallowed
    central.send('01 0e20 00');
    await waitFor(() => central.events(0x0e).length === 2);
    expect(central.events(0x0e)[1]!.toString('hex')).toBe('040e04010e200c');
  });

  it('relays ACL data at connection events only, rewrites the first fragment to PB 0b10, and reports the buffers free', async () => {
    const { central, peripheral } = await connected({ connectionIntervalMs: 50 });
    const connectedAt = performance.now();
    const sent = performance.now();
    // an ATT Write Request, 2 + 4 + 3 bytes of L2CAP, in two fragments: start (PB 00) and continuation (PB 01)
    central.send('02 4000 0600 0700 0400 12 2a');
    central.send('02 4010 0500 00 aa070103');
    await waitFor(() => peripheral.acl().length === 2, 3000, 'two fragments at the peripheral');
    const [first, second] = peripheral.acl();
    expect(first!.bytes.toString('hex')).toBe('02' + '4020' + '0600' + '07000400122a'); // handle 0x040, PB 0b10
    expect(second!.bytes.toString('hex')).toBe('02' + '4010' + '0500' + '00aa070103');
    // not before the next connection event (50 ms interval), both in the same event
    expect(first!.at - sent).toBeGreaterThanOrEqual(0);
    expect(first!.at).toBeGreaterThanOrEqual(connectedAt - 50);
    await waitFor(() => central.events(0x13).length >= 1);
    expect(central.events(0x13)[0]!.toString('hex')).toBe('0413' + '05' + '01' + '4000' + '0200'); // 2 packets completed on 0x040
    expect(link!.violations()).toEqual([]);
  });

  it('an answer waits for the following connection event: an ATT round trip costs at least one interval', async () => {
    const { central, peripheral } = await connected({ connectionIntervalMs: 50 });
    peripheral.socket.on('data', (b: Buffer) => {
      if (b[0] === 0x02 && b[9] === 0x02) peripheral.send('02 4000 0700 0300 0400 03 0001'); // MTU response
    });
    const t0 = performance.now();
    central.send('02 4000 0700 0300 0400 02 0001'); // MTU request
    await waitFor(() => central.acl().length === 1, 3000, 'the MTU response');
    expect(central.acl()[0]!.at - t0).toBeGreaterThanOrEqual(49); // two connection events, at least one interval apart
  });

  it('records a host that overruns the ACL buffers or sends a packet longer than a buffer', async () => {
    const { central } = await connected({ connectionIntervalMs: 50 }, { length: 27, count: 2 });
    central.send('02 4000 0700 0300 0400 02 0001');
    central.send('02 4000 0700 0300 0400 02 0001');
    central.send('02 4000 0700 0300 0400 02 0001'); // a third while both buffers wait for the connection event
    central.send('02 4000 1c00 1800 0400' + '52'.repeat(24)); // 28 bytes: one more than a buffer holds
    await waitFor(() => central.events(0x13).length >= 1, 3000, 'the buffers to be free again');
    central.send('02 4010 0200 0102'); // a continuation with nothing to continue
    expect(link!.violations().map((v) => v.rule)).toEqual(['acl-buffer-overrun', 'acl-too-long', 'bad-fragment']);
    expect(link!.violations()[0]!.detail).toBe('ACL packet on handle 64 while all 2 buffers are in use');
  });

  it('Disconnect: the side that asked gets 0x16, the peer the reason given; ACL on the closed handle is a violation', async () => {
    const { central, peripheral } = await connected();
    central.send('01 0604 03 4000 13');
    await waitFor(() => central.events(0x05).length === 1 && peripheral.events(0x05).length === 1);
    expect(central.events(0x0f).at(-1)!.toString('hex')).toBe('040f0400010604');
    expect(central.events(0x05)[0]!.toString('hex')).toBe('0405' + '04' + '00' + '4000' + '16');
    expect(peripheral.events(0x05)[0]!.toString('hex')).toBe('0405' + '04' + '00' + '4000' + '13');
    expect(link!.openConnections()).toEqual([]);
    central.send('02 4000 0700 0300 0400 02 0001');
    expect(link!.violations().map((v) => v.rule)).toEqual(['closed-handle']);
  });

  it('a controller switched off: its host sees the device down, the peer loses the link after the supervision timeout (0x08), and it comes back on', async () => {
    const { c, p, central, peripheral } = await connected();
    expect(central.socket.isDevUp()).toBe(true);
    const t0 = performance.now();
    p.powerOff();
    expect(peripheral.socket.isDevUp()).toBe(false);
    await waitFor(() => central.events(0x05).length === 1, 3000, 'the central to notice');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400); // 420 ms supervision timeout
    expect(central.events(0x05)[0]![6]).toBe(0x08);
    expect(peripheral.events(0x05)).toEqual([]);
    // a write to the switched-off controller reports "Network is down"
    const errors: string[] = [];
    peripheral.socket.on('error', (e: Error) => errors.push(e.message));
    peripheral.send('01 0910 00');
    await waitFor(() => errors.length === 1);
    expect(errors).toEqual(['Network is down']);
    p.powerOn();
    expect(peripheral.socket.isDevUp()).toBe(true);
    expect(c.powered).toBe(true);
    expect(link!.violations()).toEqual([]);
  });
});
