/** The one typed emitter (governor, device link, scanner): order, unsubscribe, a throwing listener. */
import { describe, expect, it } from 'vitest';
import { Emitter } from '../../../electron/lib/emitter';

interface Events {
  step: number;
  note: { text: string };
}

describe('Emitter', () => {
  it('calls the listeners of an event in the order they were added, with its payload; a removed one no more', () => {
    const e = new Emitter<Events>();
    const got: string[] = [];
    const offA = e.on('step', (n) => got.push(`a${n}`));
    e.on('step', (n) => got.push(`b${n}`));
    e.on('note', (p) => got.push(p.text));
    e.emit('step', 1);
    offA();
    offA();
    e.emit('step', 2);
    e.emit('note', { text: 'hi' });
    expect(got).toEqual(['a1', 'b1', 'b2', 'hi']);
    expect(e.listenerCount('step')).toBe(1);
    e.clear();
    expect(e.listenerCount('step') + e.listenerCount('note')).toBe(0);
  });

  it('a listener that throws is skipped: the others still run and emit does not throw', () => {
    const e = new Emitter<Events>();
    const got: number[] = [];
    e.on('step', () => {
      throw new Error('broken renderer');
    });
    e.on('step', (n) => got.push(n));
    expect(() => e.emit('step', 7)).not.toThrow();
    expect(got).toEqual([7]);
  });

  it('a listener removed by another during an emit still gets that emit, not the next', () => {
    const e = new Emitter<Events>();
    const got: string[] = [];
    let offB = (): void => undefined;
    e.on('step', () => offB());
    offB = e.on('step', (n) => got.push(`b${n}`));
    e.emit('step', 1);
    e.emit('step', 2);
    expect(got).toEqual(['b1']);
  });
});
