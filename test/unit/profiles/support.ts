/**
 * Shared setup of the user-profile tests: the fixture profiles, and a data folder with
 * chosen files in its `profiles/`.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The fixture folder (`test/fixtures/profiles`). */
export const FIXTURES = join(__dirname, '../../fixtures/profiles');
/** The Nodo Mini's user profile (demo mode's unknown cushion), as text. */
export const NODO = readFileSync(join(FIXTURES, 'nodo-mini.json'), 'utf8');

/** A fresh data folder whose `profiles/` holds `files` (file name → text). */
export function dataDirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'unknot-profiles-'));
  mkdirSync(join(dir, 'profiles'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'profiles', name), text);
  return dir;
}
