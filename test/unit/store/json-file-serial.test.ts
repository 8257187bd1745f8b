// Checks that JsonFile never runs two writes of one file at once and coalesces waiting
// saves, by wrapping write-file-atomic with a slow, counting double.
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { JsonFile } from '../../../electron/store/json-file';
import { tempDir } from './helpers';

const stats = vi.hoisted(() => ({ calls: 0, active: 0, maxActive: 0, written: [] as string[], options: [] as unknown[] }));

vi.mock('write-file-atomic', async (importOriginal) => {
  const real = ((await importOriginal()) as { default: (file: string, data: string, options: unknown) => Promise<void> }).default;
  const wrapped = async (file: string, data: string, options: unknown) => {
    stats.calls += 1;
    stats.active += 1;
    stats.maxActive = Math.max(stats.maxActive, stats.active);
    stats.options.push(options);
    try {
      await new Promise((resolve) => setTimeout(resolve, 15));
      await real(file, data, options);
      stats.written.push(data);
    } finally {
      stats.active -= 1;
    }
  };
  return { default: wrapped };
});

const Doc = z.object({ n: z.number() });

describe('JsonFile save serialisation', () => {
  it('never interleaves writes; waiting saves collapse into the latest value', async () => {
    const dir = tempDir();
    const file = new JsonFile({ dir, name: 'doc.json', schema: Doc, defaults: () => ({ n: 0 }) });
    const order: number[] = [];
    const saves = Array.from({ length: 30 }, (_, i) => file.save({ n: i + 1 }).then(() => order.push(i + 1)));
    await Promise.all(saves);

    expect(stats.maxActive).toBe(1);
    // The first save starts at once; the other 29 wait and are written as one.
    expect(stats.calls).toBe(2);
    expect(JSON.parse(stats.written.at(-1)!)).toEqual({ n: 30 });
    expect(order).toHaveLength(30);
    expect(stats.options[0]).toMatchObject({ fsync: true, mode: 0o600 });
    expect((await file.load()).value).toEqual({ n: 30 });
    expect(path.basename(file.path)).toBe('doc.json');
  });
});
