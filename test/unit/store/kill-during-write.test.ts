// Kills a writer process at random moments while it saves a large document in a loop
// (with write-file-atomic and the store's options, see fixtures/writer.mjs) and checks
// that the file on disk always parses and validates: never a half-written file.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ATOMIC_WRITE_OPTIONS } from '../../../electron/store/json-file';
import { UsageLog } from '../../../electron/store/usage';
import { tempDir } from './helpers';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'writer.mjs');
const SESSIONS = 3000;

/** Starts the writer; `ready` resolves once it has written its first document. */
function startWriter(file: string) {
  const child = spawn(process.execPath, [WRITER, file, String(SESSIONS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.on('exit', (code, signal) => reject(new Error(`writer exited early (${code ?? signal}): ${stderr}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  return { child, ready, exited };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('kill during write', () => {
  it('the fixture writes with the same options as the store', () => {
    expect(ATOMIC_WRITE_OPTIONS).toEqual({ fsync: true, mode: 0o600, encoding: 'utf8' });
    expect(readFileSync(WRITER, 'utf8')).toContain("{ fsync: true, mode: 0o600, encoding: 'utf8' }");
  });

  it(
    'SIGKILL at random moments never leaves a torn usage.json',
    async () => {
      const dir = tempDir();
      const file = path.join(dir, 'usage.json');
      let rounds = 0;
      let killedMidWrite = 0;
      // At least 8 kills, and keep going (up to 40) until at least 3 of them interrupted a write.
      while (rounds < 8 || (killedMidWrite < 3 && rounds < 40)) {
        rounds += 1;
        const writer = startWriter(file);
        if (rounds === 1 || rounds % 2 === 0) await writer.ready; // some kills right after start-up, some mid-loop
        await sleep(Math.floor(Math.random() * 250));
        writer.child.kill('SIGKILL');
        expect(await writer.exited).toBe('SIGKILL');

        const leftovers = readdirSync(dir).filter((name) => /^usage\.json\.\d+$/.test(name));
        if (leftovers.length > 0) killedMidWrite += 1;

        // The file parses and has the full shape (the writer's version 1 document, or the
        // version 2 the store migrated it to in an earlier round, if this kill came first)...
        expect(existsSync(file)).toBe(true);
        const doc = JSON.parse(readFileSync(file, 'utf8'));
        expect([1, 2]).toContain(doc.version);
        expect(doc.sessions).toHaveLength(SESSIONS);
        expect(doc.pain).toHaveLength(1);
        const first = doc.sessions[0];
        const seconds = doc.version === 1 ? first.motorSeconds[Object.keys(first.motorSeconds)[0]!] : first.charges[0].seconds;
        // ...and the store loads it without a reset, removing the temp files of the killed write.
        const log = new UsageLog({ dir });
        const { notices } = await log.load();
        log.dispose();
        expect(notices).toEqual([]);
        expect(log.sessionSeconds(first.id)).toBe(seconds);
        expect(readdirSync(dir)).toEqual(['usage.json']);
      }
      expect(killedMidWrite).toBeGreaterThan(0);
    },
    90_000,
  );
});
