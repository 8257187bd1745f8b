/**
 * A small typed JSON document store: one file, validated with a zod schema on
 * load, written atomically (write-file-atomic: temp file, fsync, rename) on save.
 *
 * Plain Node, no Electron: the caller passes the data folder.
 *
 * - A missing file loads as the defaults, silently.
 * - A file that cannot be read, is not JSON, or does not match the schema is moved
 *   aside to `<name>.corrupt-<timestamp>`, the defaults are used, and a
 *   {@link StoreNotice} says which file it was and where the old copy went (returned
 *   from {@link JsonFile.load} and passed to `onNotice`, so the UI can tell the user).
 * - Saves are serialised: overlapping saves never interleave, and when several are
 *   waiting only the latest value is written (every waiting caller resolves once a
 *   value at least as new as theirs is on disk).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { z } from 'zod';
import type { StoreNotice } from '../ipc/contract';

/** The notice shape is the contract's (pushed as the `store.notice` event). */
export type { StoreNotice };

/**
 * The options every store file is written with. File mode 0600: the usage log and
 * the screening answers are health data, readable by the user only (ignored on
 * Windows). `fsync: true` flushes the temp file before the rename.
 *
 * The kill-during-write test fixture (`test/unit/store/fixtures/writer.cjs`) uses the
 * same library with the same options; keep them in step.
 */
export const ATOMIC_WRITE_OPTIONS = Object.freeze({ fsync: true, mode: 0o600, encoding: 'utf8' as const });

/** Receives store notices; must not throw. */
export type NoticeListener = (notice: StoreNotice) => void;

/** What {@link JsonFile.load} found. */
export interface LoadResult<T> {
  /** The document: the file's content, or a fresh copy of the defaults. */
  value: T;
  /** `file`: read from disk; `missing`: no file yet; `reset`: the file was unusable and moved aside. */
  source: 'file' | 'missing' | 'reset';
  /** Set when `source` is `reset`. */
  notice: StoreNotice | null;
}

/** Options of a {@link JsonFile}. */
export interface JsonFileOptions<T> {
  /** The data folder (created on first save). */
  dir: string;
  /** The file's base name, e.g. `settings.json`. */
  name: string;
  /** Validates the parsed file and every value saved. Should not transform. */
  schema: z.ZodType<T>;
  /** Returns a fresh defaults document (called on every load that needs it). */
  defaults: () => T;
  /** Label used in user-facing messages, e.g. `settings` or `usage log`. Defaults to the file name. */
  label?: string;
  /** Called with every notice this file raises. */
  onNotice?: NoticeListener;
  /** Wall clock in milliseconds since the epoch (for the corrupt-copy timestamp). Defaults to `Date.now`. */
  now?: () => number;
}

type PendingOp = { kind: 'write'; data: string } | { kind: 'delete' };
interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A typed JSON document on disk. One instance per file; the instance serialises its own writes. */
export class JsonFile<T> {
  /** Absolute path of the file. */
  readonly path: string;
  readonly dir: string;
  readonly name: string;
  private readonly schema: z.ZodType<T>;
  private readonly defaults: () => T;
  private readonly label: string;
  private readonly onNotice: NoticeListener | undefined;
  private readonly now: () => number;
  private pending: { op: PendingOp; waiters: Waiter[] } | null = null;
  private pumping: Promise<void> | null = null;

  /** Creates the handle; touches nothing on disk until {@link load} or {@link save}. */
  constructor(options: JsonFileOptions<T>) {
    if (!options.name || options.name !== path.basename(options.name)) {
      throw new TypeError(`JsonFile: name must be a plain file name, got ${JSON.stringify(options.name)}`);
    }
    this.dir = path.resolve(options.dir);
    this.name = options.name;
    this.path = path.join(this.dir, options.name);
    this.schema = options.schema;
    this.defaults = options.defaults;
    this.label = options.label ?? options.name;
    this.onNotice = options.onNotice;
    this.now = options.now ?? Date.now;
  }

  /**
   * Reads and validates the file. Never throws for a bad file: a missing file gives
   * the defaults; an unreadable, non-JSON or schema-invalid file is moved aside to
   * `<name>.corrupt-<timestamp>` and gives the defaults plus a notice (also passed to
   * `onNotice`). Leftover temp files of an interrupted write are removed.
   */
  async load(): Promise<LoadResult<T>> {
    await this.removeStaleTempFiles();
    let text: string;
    try {
      text = await fsp.readFile(this.path, 'utf8');
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return { value: this.defaults(), source: 'missing', notice: null };
      return this.reset('unreadable', `could not be read (${code ?? describe(error)})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return this.reset('corrupt', `is not valid JSON (${describe(error)})`);
    }
    const result = this.schema.safeParse(parsed);
    if (!result.success) {
      const first = result.error.issues[0];
      const where = first && first.path.length > 0 ? first.path.join('.') : 'document';
      return this.reset('invalid', `does not have the expected shape (${where}: ${first?.message ?? 'invalid'})`);
    }
    return { value: result.data, source: 'file', notice: null };
  }

  /**
   * Writes `value` atomically (temp file + fsync + rename, then a best-effort fsync
   * of the folder). Resolves once `value` or a later value is on disk.
   *
   * @throws TypeError (synchronously rejected) when `value` fails the schema; nothing is written.
   * @throws the file-system error when the write fails (e.g. EACCES, ENOSPC).
   */
  save(value: T): Promise<void> {
    const checked = this.schema.safeParse(value);
    if (!checked.success) {
      return Promise.reject(new TypeError(`${this.name}: refusing to save an invalid document: ${checked.error.message}`));
    }
    return this.enqueue({ kind: 'write', data: `${JSON.stringify(value, null, 2)}\n` });
  }

  /**
   * Deletes the file (after any write in flight; supersedes saves still waiting).
   * A missing file is not an error.
   *
   * @throws the file-system error when the file exists but cannot be removed.
   */
  remove(): Promise<void> {
    return this.enqueue({ kind: 'delete' });
  }

  /** Resolves when no write or delete is in flight or waiting. Never rejects. */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping.catch(() => undefined);
  }

  private enqueue(op: PendingOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.pending) {
        this.pending.op = op;
        this.pending.waiters.push({ resolve, reject });
      } else {
        this.pending = { op, waiters: [{ resolve, reject }] };
      }
      this.kick();
    });
  }

  /**
   * Starts the pump unless it runs. An operation enqueued just as the pump finishes (from
   * a waiter's continuation, before the pump's own promise settles) is picked up by a new
   * pump rather than left waiting forever.
   */
  private kick(): void {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.pending) this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.pending) {
      const batch = this.pending;
      this.pending = null;
      try {
        if (batch.op.kind === 'write') {
          await fsp.mkdir(this.dir, { recursive: true });
          await writeFileAtomic(this.path, batch.op.data, { ...ATOMIC_WRITE_OPTIONS });
        } else {
          await fsp.rm(this.path, { force: true });
        }
        await fsyncDir(this.dir);
        for (const waiter of batch.waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of batch.waiters) waiter.reject(error);
      }
    }
  }

  private async reset(reason: 'unreadable' | 'corrupt' | 'invalid', what: string): Promise<LoadResult<T>> {
    const atMs = this.now();
    const movedTo = await this.moveAside(atMs);
    const kept = movedTo
      ? `The old copy was kept as ${movedTo}.`
      : 'The old copy could not be moved aside and will be overwritten on the next save.';
    const notice: StoreNotice = {
      kind: 'reset',
      file: this.name,
      path: this.path,
      movedTo,
      reason,
      detail: what,
      message: `Your ${this.label} file (${this.name}) ${what.replace(/ \(.*\)$/, '')}, so the defaults are in use. ${kept}`,
      at: new Date(atMs).toISOString(),
    };
    this.emit(notice);
    return { value: this.defaults(), source: 'reset', notice };
  }

  /** Renames the file to `<name>.corrupt-<timestamp>[-n]`; returns the new path, or null on failure. */
  private async moveAside(atMs: number): Promise<string | null> {
    const stamp = new Date(atMs).toISOString().replace(/[:.]/g, '-');
    for (let n = 0; n < 100; n += 1) {
      const target = path.join(this.dir, `${this.name}.corrupt-${stamp}${n === 0 ? '' : `-${n}`}`);
      try {
        // Never clobber an earlier corrupt copy: rename only onto a free name.
        await fsp.access(target);
        continue;
      } catch {
        // free name
      }
      try {
        await fsp.rename(this.path, target);
        return target;
      } catch {
        return null;
      }
    }
    return null;
  }

  /** Removes `<name>.<digits>` temp files that write-file-atomic leaves when the process is killed mid-write. */
  private async removeStaleTempFiles(): Promise<void> {
    let entries: string[];
    try {
      entries = await fsp.readdir(this.dir);
    } catch {
      return;
    }
    const prefix = `${this.name}.`;
    await Promise.all(
      entries
        .filter((entry) => entry.startsWith(prefix) && /^\d+$/.test(entry.slice(prefix.length)))
        .map((entry) => fsp.rm(path.join(this.dir, entry), { force: true }).catch(() => undefined)),
    );
  }

  /**
   * Emits (and returns) the `write-failed` notice of a save that failed with `error`;
   * `message` says, for the user, what that means for this file's data.
   */
  writeFailed(error: unknown, message: string): StoreNotice {
    const notice: StoreNotice = {
      kind: 'write-failed',
      file: this.name,
      path: this.path,
      movedTo: null,
      reason: 'io-error',
      detail: error instanceof Error ? error.message : String(error),
      message,
      at: new Date(this.now()).toISOString(),
    };
    this.emit(notice);
    return notice;
  }

  /** Passes a notice to `onNotice` (if any); a throwing listener is ignored. */
  emit(notice: StoreNotice): void {
    try {
      this.onNotice?.(notice);
    } catch {
      // listeners must not break the store
    }
  }
}

/** Best-effort fsync of a folder so a rename survives a power cut; not supported on Windows. */
async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM on some platforms: the data itself was already fsynced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
