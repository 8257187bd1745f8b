/**
 * A device's traffic ring buffer (issue 17, part 5): per peripheral, the last 5 minutes and
 * at most 5000 entries, the oldest going first; the link's tap never runs the recorder on
 * the write path, and a recorder that throws loses only its own record.
 */
import { describe, expect, it } from 'vitest';
import { TRAFFIC_MAX_ENTRIES, TRAFFIC_MAX_RECORDED_BYTES, TRAFFIC_WINDOW_MS, TrafficLog, TrafficRing, TrafficTap, recordedBytes, type TrafficRecord } from '../../../electron/device/traffic';
import type { TrafficEntry } from '../../../electron/ipc/contract';

/** A clock the test moves by hand; `wallNow` is 2025-01-01 plus the same offset. */
function manualClock(start = 1000) {
  let now = start;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  return {
    now: () => now,
    wallNow: () => Date.UTC(2025, 0, 1) + now,
    setTimeout: (fn: () => void, ms: number) => {
      const id = ++ids;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id: unknown) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    advance(ms: number) {
      now += ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.splice(timers.indexOf(due), 1);
        due.fn();
      }
    },
    pending: () => timers.length,
  };
}

const note = (hex: string, atMs: number): TrafficRecord => ({ type: 'notification', service: 'ffe0', characteristic: 'ffe1', hex, decoded: true, atMs });
const write = (hex: string, atMs: number): TrafficRecord => ({
  type: 'write',
  service: 'ffe0',
  characteristic: 'ffe2',
  hex,
  withResponse: true,
  purpose: 'step',
  outcome: 'written',
  atMs,
});
const hexes = (entries: TrafficEntry[]): string[] => entries.map((e) => (e.type === 'link' ? e.event : e.hex));

describe('the bounds', () => {
  it('are 5 minutes and 5000 entries per device', () => {
    expect(TRAFFIC_WINDOW_MS).toBe(300_000);
    expect(TRAFFIC_MAX_ENTRIES).toBe(5000);
  });

  it('a flood keeps the latest 5000 entries of a device, oldest first, the oldest gone first', () => {
    const clock = manualClock();
    const log = new TrafficLog(clock);
    // 12 000 notifications within one second: the count bound applies, not the window
    for (let i = 0; i < 12_000; i++) log.add('a', note(i.toString(16), clock.now() + i / 12));
    clock.advance(1000);
    const kept = log.entries('a');
    expect(kept).toHaveLength(TRAFFIC_MAX_ENTRIES);
    expect(kept[0]).toMatchObject({ hex: (12_000 - 5000).toString(16) });
    expect(kept.at(-1)).toMatchObject({ hex: (11_999).toString(16) });
    // in order: each entry's t is no earlier than the one before
    for (let i = 1; i < kept.length; i++) expect(kept[i]!.t).toBeGreaterThanOrEqual(kept[i - 1]!.t);
    // `last` gives the latest only
    expect(hexes(log.entries('a', 3))).toEqual([11_997, 11_998, 11_999].map((i) => i.toString(16)));
  });

  it('entries older than 5 minutes go, also when nothing new comes', () => {
    const clock = manualClock();
    const log = new TrafficLog(clock);
    // one entry a second for 10 minutes: far under 5000, so only the window bounds it
    for (let s = 0; s < 600; s++) {
      log.add('a', note(`${s}`, clock.now()));
      clock.advance(1000);
    }
    const kept = log.entries('a');
    // now is 600 s in: kept are those of the last 300 s (t ≥ 300 000)
    expect(kept[0]).toMatchObject({ hex: '300', t: 300_000 });
    expect(kept.at(-1)).toMatchObject({ hex: '599' });
    expect(kept).toHaveLength(300);
    clock.advance(TRAFFIC_WINDOW_MS);
    expect(log.entries('a')).toEqual([]);
    // the device still has a buffer: it was connected this run
    expect(log.has('a')).toBe(true);
  });

  it('stamps t (ms since the log began, monotonic) and at (the wall-clock time it happened, not when it was stamped)', () => {
    const clock = manualClock(5000);
    const log = new TrafficLog(clock);
    clock.advance(250);
    const at = clock.now();
    clock.advance(40); // recorded 40 ms late (the tap's timer turn)
    const e = log.add('a', write('aa', at));
    expect(e).toMatchObject({ type: 'write', t: 250, at: new Date(Date.UTC(2025, 0, 1) + 5250).toISOString(), hex: 'aa', purpose: 'step', outcome: 'written' });
  });
});

describe('per device', () => {
  it('each device has its own buffer, kept across reconnects and switching to another device and back', () => {
    const clock = manualClock();
    const log = new TrafficLog(clock);
    const first = log.sinkFor('a');
    first.record({ type: 'link', event: 'connected', atMs: clock.now() });
    first.record(write('01', clock.now()));
    first.record({ type: 'link', event: 'dropped', detail: 'out of range', atMs: clock.now() });
    // a reconnect records into the same buffer, through a new sink
    const again = log.sinkFor('a');
    again.record({ type: 'link', event: 'reconnected', atMs: clock.now() });
    again.record(write('02', clock.now()));
    // another device meanwhile
    log.sinkFor('b').record(write('ff', clock.now()));
    // back to the first
    log.sinkFor('a').record(note('03', clock.now()));
    expect(hexes(log.entries('a'))).toEqual(['connected', '01', 'dropped', 'reconnected', '02', '03']);
    expect(hexes(log.entries('b'))).toEqual(['ff']);
    expect(log.has('c')).toBe(false);
    expect(log.entries('c')).toEqual([]);
  });

  it('a flood of one device leaves another one’s entries alone', () => {
    const clock = manualClock();
    const log = new TrafficLog(clock);
    log.add('quiet', write('01', clock.now()));
    for (let i = 0; i < 6000; i++) log.add('loud', note('00', clock.now()));
    expect(log.entries('quiet')).toHaveLength(1);
    expect(log.entries('loud')).toHaveLength(TRAFFIC_MAX_ENTRIES);
  });
});

describe('the ring', () => {
  it('wraps around without losing order', () => {
    const ring = new TrafficRing(3, 1000);
    for (let i = 0; i < 7; i++) ring.push({ type: 'link', event: 'notice', detail: `${i}`, t: i, at: '' });
    expect(ring.toArray().map((e) => (e as { detail: string }).detail)).toEqual(['4', '5', '6']);
    expect(ring.toArray(2).map((e) => (e as { detail: string }).detail)).toEqual(['5', '6']);
    ring.prune(1005);
    expect(ring.toArray().map((e) => (e as { detail: string }).detail)).toEqual(['5', '6']);
    expect(() => new TrafficRing(0)).toThrow(RangeError);
  });
});

describe('the tap', () => {
  it('never runs the recorder while the link writes: records reach it on a later timer turn', () => {
    const clock = manualClock();
    const got: TrafficRecord[] = [];
    const tap = new TrafficTap({ record: (r) => void got.push(r) }, clock);
    tap.record(write('01', 1));
    tap.record(write('02', 2));
    expect(got).toEqual([]);
    clock.advance(0);
    expect(got.map((r) => (r.type === 'write' ? r.hex : ''))).toEqual(['01', '02']);
  });

  it('a recorder that throws loses only the record it threw on, and the tap never throws', () => {
    const clock = manualClock();
    const got: string[] = [];
    const tap = new TrafficTap(
      {
        record: (r) => {
          if (r.type === 'write' && r.hex === 'bad') throw new Error('disk full');
          if (r.type === 'write') got.push(r.hex);
        },
      },
      clock,
    );
    expect(() => {
      tap.record(write('01', 1));
      tap.record(write('bad', 2));
      tap.record(write('03', 3));
    }).not.toThrow();
    clock.advance(0);
    expect(got).toEqual(['01', '03']);
  });

  it('holds at most 5000 records waiting, the oldest dropped first', () => {
    const clock = manualClock();
    const got: string[] = [];
    const tap = new TrafficTap({ record: (r) => void (r.type === 'write' && got.push(r.hex)) }, clock);
    for (let i = 0; i < 5003; i++) tap.record(write(`${i}`, i));
    clock.advance(0);
    expect(got).toHaveLength(5000);
    expect(got[0]).toBe('3');
  });
});

describe('the bytes an entry keeps', () => {
  it('keeps the hex of at most the first 256 bytes, and the full length past that', () => {
    expect(recordedBytes(Uint8Array.of(0xaa, 0x07, 0x01))).toEqual({ hex: 'aa0701' });
    const exactly = recordedBytes(new Uint8Array(TRAFFIC_MAX_RECORDED_BYTES).fill(0x11));
    expect(exactly).toEqual({ hex: '11'.repeat(TRAFFIC_MAX_RECORDED_BYTES) });
    const big = new Uint8Array(20_000).fill(0xab);
    big[0] = 0x55;
    const kept = recordedBytes(big);
    expect(kept.fullLength).toBe(20_000);
    expect(kept.hex).toHaveLength(2 * TRAFFIC_MAX_RECORDED_BYTES);
    expect(kept.hex.startsWith('55ab')).toBe(true);
  });
});
