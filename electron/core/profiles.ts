/**
 * The user-profiles concern: fills the `profiles.*` slice of the handler map and keeps the
 * registry the devices concern identifies and connects with: the built-in profiles first,
 * then every user profile file of the data folder's `profiles/` that was accepted
 * (`electron/store/user-profiles.ts`). A refused file changes nothing else. The registry
 * is rebuilt at start, on `profiles.reload` and after an import; a device already
 * connected keeps the protocol it connected with until it reconnects.
 */
import * as path from 'node:path';
import type { DeviceProfile } from '../../protocols/profile/schema';
import { BUILT_IN_PROFILES, createRegistry, type Registry } from '../../protocols/registry';
import * as builtIn from '../../protocols/registry';
import { Refusal, type Handlers } from '../ipc/boundary';
import type { ProfileImportResult, ProfilesView, RequestInput, UserProfileMark } from '../ipc/contract';
import { PROFILES_DIR, checkProfileText, loadProfileFiles, profileFileName, profileImportRefusal, saveProfileFile, type CheckedProfileFile } from '../store/user-profiles';
import type { CoreContext } from './context';

/** The channels this concern answers. */
export type ProfileChannels = 'profiles.*';

/** What the other concerns ask of the protocols: the registry in force and which protocols are the user's. */
export interface ProtocolCatalog {
  /** Built-in and accepted user profiles. */
  registry(): Registry;
  /** The user profile file behind a protocol id (or the draft being tried), or undefined for a built-in one. */
  userProfile(protocolId: string): UserProfileMark | undefined;
}

/** A draft tried from the lab (`draft.try`): in the registry for this run only, never saved. */
export interface TriedDraft {
  profile: DeviceProfile;
  /** The digest of the draft's text (`profileVersion`): what its stop check is remembered for. */
  version: string;
}

/** See the module comment. */
export class UserProfiles implements ProtocolCatalog {
  private files: CheckedProfileFile[] = [];
  private current: Registry;
  private marks = new Map<string, UserProfileMark>();
  private draft: TriedDraft | null = null;
  private readonly builtInIds = builtIn.all().map((m) => m.id);

  constructor(private readonly ctx: Pick<CoreContext, 'options' | 'broadcast'>) {
    this.current = createRegistry(BUILT_IN_PROFILES);
  }

  registry(): Registry {
    return this.current;
  }

  userProfile(protocolId: string): UserProfileMark | undefined {
    if (this.draft?.profile.id === protocolId) return { file: `${protocolId}.json`, version: this.draft.version, draft: true };
    const m = this.marks.get(protocolId);
    return m ? { ...m } : undefined;
  }

  /** The ids of the built-in profiles (a user file or a draft may not reuse one). */
  builtIns(): readonly string[] {
    return this.builtInIds;
  }

  /** The draft being tried, if any. */
  triedDraft(): TriedDraft | null {
    return this.draft;
  }

  /**
   * Puts a validated draft into the registry for this run (replacing any earlier draft),
   * or takes it out (`null`). A user file with the draft's id is set aside while the
   * draft is in. Connections already open keep their protocol until they reconnect.
   */
  setDraft(draft: TriedDraft | null): void {
    this.draft = draft;
    this.rebuild();
  }

  /** Reads the folder again and rebuilds the registry. Never throws: a file that cannot be read is refused. */
  async load(): Promise<ProfilesView> {
    this.files = await loadProfileFiles(this.ctx.options.dataDir, this.builtInIds);
    this.rebuild();
    return this.view();
  }

  /** The registry of the built-in profiles, the accepted files and the draft. */
  private rebuild(): void {
    const draft = this.draft?.profile;
    const accepted = this.files.filter((f) => f.profile && f.profile.id !== draft?.id);
    const files = accepted.map((f) => f.profile!);
    try {
      this.current = createRegistry([...BUILT_IN_PROFILES, ...files, ...(draft ? [draft] : [])]);
    } catch {
      // Each file was built alone when it was checked; should two still clash, none is used.
      this.current = createRegistry([...BUILT_IN_PROFILES, ...(draft ? [draft] : [])]);
    }
    this.marks = new Map(
      accepted.flatMap((f) => (f.result.ok ? [[f.result.id, { file: f.result.file, version: f.result.version }] as const] : [])),
    );
  }

  /** The files as last loaded. */
  view(): ProfilesView {
    return { folder: path.join(this.ctx.options.dataDir, PROFILES_DIR), files: this.files.map((f) => structuredClone(f.result)) };
  }

  /** The handlers of this concern's channels. */
  handlers(): Handlers<ProfileChannels> {
    return {
      'profiles.list': () => this.view(),
      'profiles.reload': async () => {
        const view = await this.load();
        this.ctx.broadcast('profiles.changed', view);
        return view;
      },
      'profiles.import': (req) => this.import(req),
    };
  }

  private async import({ fileName, text }: RequestInput<'profiles.import'>): Promise<ProfileImportResult> {
    // Another file may already hold this id; the file being replaced may not.
    let id: string | undefined;
    try {
      const raw = JSON.parse(text) as { id?: unknown };
      if (typeof raw?.id === 'string' && /^[a-z0-9][a-z0-9-]{1,40}$/.test(raw.id)) id = raw.id;
    } catch {
      /* reported by the check */
    }
    const file = profileFileName(fileName, id) ?? path.basename(fileName.replace(/\\/g, '/')).slice(0, 100);
    const taken = new Map<string, string>(this.builtInIds.map((b) => [b, 'a built-in profile']));
    for (const f of this.files) if (f.result.ok && f.result.file !== file) taken.set(f.result.id, f.result.file);
    const checked = checkProfileText(file, text, taken);
    if (!checked.profile || profileFileName(file) === null) {
      const result = checked.profile
        ? { file, ok: false as const, errors: [{ path: '(file)', message: 'the file name must end in .json' }] }
        : checked.result;
      return { result, view: this.view() };
    }
    // The caps of profiles/ (MAX_PROFILE_FILES, MAX_PROFILES_BYTES): past them nothing is written.
    const full = await profileImportRefusal(this.ctx.options.dataDir, file, text);
    if (full) throw new Refusal('refused', full);
    try {
      await saveProfileFile(this.ctx.options.dataDir, file, text);
    } catch (err) {
      throw new Refusal('refused', `The profile could not be saved: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
    }
    const view = await this.load();
    this.ctx.broadcast('profiles.changed', view);
    const result = view.files.find((f) => f.file === file) ?? checked.result;
    return { result, view };
  }
}
