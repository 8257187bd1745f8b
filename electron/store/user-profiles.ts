/**
 * User profiles on disk: device profiles (docs/device-profiles.md) the user wrote or
 * imported, one JSON file each in the data folder's `profiles/`. Each file is checked
 * on its own and accepted or refused whole; a refused file names every problem with
 * its field path and reason, and affects no other file.
 *
 * Besides the profile schema, a user profile must: declare its stop
 * (`commands.stop`, even with a hook), name no hook (hooks are code shipped with
 * Unknot), use an id no built-in profile and no other user file has, and fit in
 * {@link MAX_PROFILE_TEXT} characters.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { createRegistry } from '../../protocols/registry';
import { deviceProfileSchema, type DeviceProfile } from '../../protocols/profile/schema';
import { MAX_PROFILE_TEXT, type ProfileFileResult, type ProfileProblem } from '../ipc/contract';

/** The folder inside the data folder that holds user profiles. */
export const PROFILES_DIR = 'profiles';
/**
 * Most profile files read from `profiles/` (its `*.json` files, in name order); those
 * past it are refused unread, and an import that would add one more is refused.
 */
export const MAX_PROFILE_FILES = 50;
/**
 * Most bytes of profile files read from `profiles/` together (2 MiB): a file that would
 * take the total past it is refused unread, and so is an import that would. The folder
 * shares the disk with the usage log.
 */
export const MAX_PROFILES_BYTES = 2 * 1024 * 1024;

/** One file of `profiles/` as checked: its result for the UI and, when accepted, the validated profile. */
export interface CheckedProfileFile {
  result: ProfileFileResult;
  /** The validated profile (defaults filled in); absent when the file was refused. */
  profile?: DeviceProfile;
}

/** The first characters of a SHA-256 of the text: the version a stop check is remembered for. */
export function profileVersion(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
}

/**
 * Checks one profile file's text. Never throws: every problem (not JSON, a schema error,
 * no stop, a hook, an id already taken) is in the refused result.
 * @param file the file's base name (shown to the user)
 * @param takenIds ids the profile may not use (the built-in ones, and other user files': id → file name)
 */
export function checkProfileText(file: string, text: string, takenIds: ReadonlyMap<string, string>): CheckedProfileFile {
  const refuse = (errors: ProfileProblem[]): CheckedProfileFile => ({ result: { file, ok: false, errors } });
  if (text.length > MAX_PROFILE_TEXT) {
    return refuse([{ path: '(file)', message: `the file is ${text.length} characters long; a profile may have at most ${MAX_PROFILE_TEXT}` }]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return refuse([{ path: '(file)', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const parsed = deviceProfileSchema.safeParse(data);
  const errors: ProfileProblem[] = [];
  if (!parsed.success) {
    for (const i of parsed.error.issues) errors.push({ path: i.path.length > 0 ? i.path.join('.') : '(root)', message: i.message });
  }
  // Checks of our own, on the raw data so they show beside the schema's errors.
  const raw = (data !== null && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const commands = (raw.commands !== null && typeof raw.commands === 'object' ? raw.commands : {}) as Record<string, unknown>;
  if (commands.stop === undefined) errors.push({ path: 'commands.stop', message: 'a user profile must declare how the device is stopped' });
  if (raw.hook !== undefined) errors.push({ path: 'hook', message: 'a user profile cannot name a hook (hooks are code that ships with Unknot)' });
  if (typeof raw.id === 'string' && takenIds.has(raw.id)) {
    errors.push({ path: 'id', message: `the id "${raw.id}" is already used by ${takenIds.get(raw.id)}` });
  }
  // The same problem said twice (the schema's "stop is required" and ours) is listed once.
  const unique = errors.filter((e, i) => errors.findIndex((o) => o.path === e.path && o.message === e.message) === i);
  if (unique.length > 0 || !parsed.success) return refuse(unique);
  const profile = parsed.data;
  try {
    // What the schema cannot see (a frame the engine cannot build) fails here, not at connect.
    createRegistry([profile], { simulators: {} });
  } catch (err) {
    return refuse([{ path: '(root)', message: (err as Error).message }]);
  }
  return {
    result: { file, ok: true, id: profile.id, name: profile.name, kind: profile.kind, version: profileVersion(text) },
    profile,
  };
}

/** A file name as saved in `profiles/`: the base name, letters, digits, dots, dashes and underscores, ending `.json`. */
export function profileFileName(uploaded: string, id?: string): string | null {
  const base = path.basename(uploaded.replace(/\\/g, '/'));
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.json$/.test(base)) return base;
  return id ? `${id}.json` : null;
}

/**
 * Reads and checks the `*.json` files of `<dataDir>/profiles/`, in name order (a missing
 * folder is no files). A file that cannot be read is refused with the reason; so is,
 * unread, each file past {@link MAX_PROFILE_FILES} and each that would take the bytes
 * read past {@link MAX_PROFILES_BYTES}. Never throws.
 * @param builtInIds the ids of the built-in profiles (a user file may not reuse one)
 */
export async function loadProfileFiles(dataDir: string, builtInIds: readonly string[]): Promise<CheckedProfileFile[]> {
  const folder = path.join(dataDir, PROFILES_DIR);
  let names: string[];
  try {
    names = (await fsp.readdir(folder)).filter((n) => n.toLowerCase().endsWith('.json')).sort();
  } catch {
    return [];
  }
  const taken = new Map<string, string>(builtInIds.map((id) => [id, 'a built-in profile']));
  const out: CheckedProfileFile[] = [];
  const refused = (file: string, message: string): CheckedProfileFile => ({ result: { file, ok: false, errors: [{ path: '(file)', message }] } });
  let files = 0;
  let bytes = 0;
  for (const name of names) {
    let text: string;
    if (files >= MAX_PROFILE_FILES) {
      out.push(refused(name, `not read: Unknot reads at most ${MAX_PROFILE_FILES} profile files; remove some from the folder`));
      continue;
    }
    try {
      const stat = await fsp.stat(path.join(folder, name));
      if (!stat.isFile()) continue;
      files += 1;
      if (stat.size > MAX_PROFILE_TEXT * 4) {
        out.push(refused(name, `the file is ${stat.size} bytes; a profile may have at most ${MAX_PROFILE_TEXT} characters`));
        continue;
      }
      if (bytes + stat.size > MAX_PROFILES_BYTES) {
        out.push(refused(name, `not read: the profile files together may have at most ${MAX_PROFILES_BYTES / (1024 * 1024)} MB; remove some from the folder`));
        continue;
      }
      bytes += stat.size;
      text = await fsp.readFile(path.join(folder, name), 'utf8');
    } catch (err) {
      out.push(refused(name, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      continue;
    }
    const checked = checkProfileText(name, text, taken);
    if (checked.profile) taken.set(checked.profile.id, name);
    out.push(checked);
  }
  return out;
}

/**
 * Why `text` may not be saved as `<dataDir>/profiles/<file>`: the folder would then hold
 * more than {@link MAX_PROFILE_FILES} profile files or more than {@link MAX_PROFILES_BYTES}
 * bytes of them (a file of the same name is replaced, so it does not count); null when it
 * fits. Reads the folder's names and sizes, never the files. Never throws (a missing
 * folder is an empty one; a file that cannot be stat'ed counts as one file of no bytes).
 */
export async function profileImportRefusal(dataDir: string, file: string, text: string): Promise<string | null> {
  const folder = path.join(dataDir, PROFILES_DIR);
  let names: string[];
  try {
    names = (await fsp.readdir(folder)).filter((n) => n.toLowerCase().endsWith('.json') && n !== file);
  } catch {
    names = [];
  }
  if (names.length + 1 > MAX_PROFILE_FILES) {
    return `Your profiles folder already holds ${names.length} profile files; Unknot keeps at most ${MAX_PROFILE_FILES}. Remove one you no longer use first.`;
  }
  let bytes = Buffer.byteLength(text, 'utf8');
  for (const name of names) {
    try {
      bytes += (await fsp.stat(path.join(folder, name))).size;
    } catch {
      /* gone meanwhile */
    }
  }
  if (bytes > MAX_PROFILES_BYTES) {
    return `With this one your profile files would take ${(bytes / (1024 * 1024)).toFixed(1)} MB; Unknot keeps at most ${MAX_PROFILES_BYTES / (1024 * 1024)} MB of them. Remove one you no longer use first.`;
  }
  return null;
}

/**
 * Saves a profile's text as `<dataDir>/profiles/<file>` (atomically: temp file, fsync, rename),
 * creating the folder.
 * @throws Error from the file system (no space, no permission).
 */
export async function saveProfileFile(dataDir: string, file: string, text: string): Promise<void> {
  const folder = path.join(dataDir, PROFILES_DIR);
  await fsp.mkdir(folder, { recursive: true });
  await writeFileAtomic(path.join(folder, file), text, { encoding: 'utf8', fsync: true });
}
