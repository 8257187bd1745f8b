import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JsonFile, type StoreNotice } from '../../../electron/store/json-file';
import { tempDir } from './helpers';

const Doc = z.object({ version: z.literal(1), count: z.number().int(), items: z.array(z.string()) });
type Doc = z.infer<typeof Doc>;
const defaults = (): Doc => ({ version: 1, count: 0, items: [] });

function makeFile(dir: string, notices: StoreNotice[] = [], now = () => Date.UTC(2024, 4, 1, 10, 20, 30, 123)) {
  return new JsonFile<Doc>({ dir, name: 'doc.json', schema: Doc, defaults, label: 'test document', onNotice: (n) => notices.push(n), now });
}

describe('JsonFile', () => {
  it('gives the defaults, without a notice, when the file (or the folder) is missing', async () => {
    const dir = path.join(tempDir(), 'not-yet');
    const notices: StoreNotice[] = [];
    const result = await makeFile(dir, notices).load();
    expect(result).toEqual({ value: defaults(), source: 'missing', notice: null });
    expect(notices).toEqual([]);
  });

  it('round-trips a saved document and creates the folder', async () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const file = makeFile(dir);
    await file.save({ version: 1, count: 3, items: ['a', 'b'] });
    const again = await makeFile(dir).load();
    expect(again.source).toBe('file');
    expect(again.value).toEqual({ version: 1, count: 3, items: ['a', 'b'] });
  });

  it.skipIf(process.platform === 'win32')('writes the file readable by the user only (0600)', async () => {
    const dir = tempDir();
    await makeFile(dir).save(defaults());
    expect(statSync(path.join(dir, 'doc.json')).mode & 0o777).toBe(0o600);
  });

  it('moves a file of garbage bytes aside, uses the defaults and raises a notice', async () => {
    const dir = tempDir();
    const garbage = Buffer.from([0xff, 0x00, 0x13, 0x37, 0x7b, 0x22, 0xde, 0xad]);
    writeFileSync(path.join(dir, 'doc.json'), garbage);
    const notices: StoreNotice[] = [];
    const result = await makeFile(dir, notices).load();

    expect(result.value).toEqual(defaults());
    expect(result.source).toBe('reset');
    const notice = result.notice!;
    expect(notices).toEqual([notice]);
    expect(notice).toMatchObject({ kind: 'reset', reason: 'corrupt', file: 'doc.json', path: path.join(dir, 'doc.json') });
    expect(notice.movedTo).toBe(path.join(dir, 'doc.json.corrupt-2024-05-01T10-20-30-123Z'));
    expect(notice.message).toContain('doc.json');
    expect(notice.message).toContain(notice.movedTo);
    expect(readFileSync(notice.movedTo!)).toEqual(garbage);
    expect(existsSync(path.join(dir, 'doc.json'))).toBe(false);
  });

  it('moves valid JSON of the wrong shape aside', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'doc.json'), JSON.stringify({ version: 1, count: 'many', items: [] }));
    const result = await makeFile(dir).load();
    expect(result.value).toEqual(defaults());
    expect(result.notice).toMatchObject({ kind: 'reset', reason: 'invalid', file: 'doc.json' });
    expect(result.notice!.detail).toContain('count');
    expect(JSON.parse(readFileSync(result.notice!.movedTo!, 'utf8'))).toEqual({ version: 1, count: 'many', items: [] });
  });

  it('treats an empty file and a JSON array as unusable too', async () => {
    for (const content of ['', '[1,2,3]', 'null']) {
      const dir = tempDir();
      writeFileSync(path.join(dir, 'doc.json'), content);
      const result = await makeFile(dir).load();
      expect(result.source).toBe('reset');
      expect(result.value).toEqual(defaults());
    }
  });

  it('moves an unreadable file aside (a folder in its place)', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'doc.json'));
    const result = await makeFile(dir).load();
    expect(result.notice).toMatchObject({ kind: 'reset', reason: 'unreadable' });
    expect(result.value).toEqual(defaults());
    expect(statSync(result.notice!.movedTo!).isDirectory()).toBe(true);
    await makeFile(dir).save({ version: 1, count: 1, items: [] });
    expect((await makeFile(dir).load()).value.count).toBe(1);
  });

  it('never overwrites an earlier corrupt copy', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'doc.json'), 'first');
    const first = await makeFile(dir).load();
    writeFileSync(path.join(dir, 'doc.json'), 'second');
    const second = await makeFile(dir).load();
    expect(first.notice!.movedTo).not.toBe(second.notice!.movedTo);
    expect(readFileSync(first.notice!.movedTo!, 'utf8')).toBe('first');
    expect(readFileSync(second.notice!.movedTo!, 'utf8')).toBe('second');
  });

  it('serialises overlapping saves: all resolve, the latest wins, no temp file is left', async () => {
    const dir = tempDir();
    const file = makeFile(dir);
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 40; i += 1) saves.push(file.save({ version: 1, count: i, items: Array.from({ length: 200 }, () => `item-${i}`) }));
    await Promise.all(saves);
    const result = await makeFile(dir).load();
    expect(result.value.count).toBe(40);
    expect(result.value.items.every((item) => item === 'item-40')).toBe(true);
    expect(readdirSync(dir)).toEqual(['doc.json']);
  });

  it('a save started the moment a delete (or save) resolves is written too, not left waiting', async () => {
    const dir = tempDir();
    const file = makeFile(dir);
    await file.save({ version: 1, count: 1, items: [] });
    await file.remove();
    // the continuation of remove() runs before the finished pump has let go: this save must still land
    const saved = file.save({ version: 1, count: 2, items: ['kept'] });
    const outcome = await Promise.race([saved.then(() => 'written'), new Promise((r) => setTimeout(() => r('stuck'), 5000))]);
    expect(outcome).toBe('written');
    expect(JSON.parse(readFileSync(path.join(dir, 'doc.json'), 'utf8'))).toEqual({ version: 1, count: 2, items: ['kept'] });
    await file.save({ version: 1, count: 3, items: [] });
    await expect(Promise.race([file.save({ version: 1, count: 4, items: [] }).then(() => 'written'), new Promise((r) => setTimeout(() => r('stuck'), 5000))])).resolves.toBe('written');
  });

  it('refuses to save a document that fails the schema', async () => {
    const dir = tempDir();
    const file = makeFile(dir);
    await expect(file.save({ version: 1, count: 1.5, items: [] })).rejects.toThrow(TypeError);
    expect(existsSync(path.join(dir, 'doc.json'))).toBe(false);
  });

  it('remove() deletes the file after writes in flight and supersedes waiting saves', async () => {
    const dir = tempDir();
    const file = makeFile(dir);
    const a = file.save({ version: 1, count: 1, items: [] });
    const b = file.save({ version: 1, count: 2, items: [] });
    const c = file.remove();
    await Promise.all([a, b, c]);
    expect(existsSync(path.join(dir, 'doc.json'))).toBe(false);
    await file.remove(); // missing is fine
    await file.idle();
  });

  it('removes temp files left by a write that was killed, but nothing else', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'doc.json'), JSON.stringify(defaults()));
    writeFileSync(path.join(dir, 'doc.json.123456789'), '{"half":');
    writeFileSync(path.join(dir, 'doc.json.corrupt-2024-01-01T00-00-00-000Z'), 'kept');
    writeFileSync(path.join(dir, 'other.json.42'), 'not ours');
    await makeFile(dir).load();
    expect(readdirSync(dir).sort()).toEqual(['doc.json', 'doc.json.corrupt-2024-01-01T00-00-00-000Z', 'other.json.42']);
  });

  it('rejects a name with a folder in it', () => {
    expect(() => new JsonFile({ dir: tempDir(), name: '../x.json', schema: Doc, defaults })).toThrow(TypeError);
  });
});
