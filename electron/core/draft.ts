/**
 * The draft editor's concern (issue 17, item 4): a profile draft that starts from the
 * device the lab explored, is checked as the user types, and can be tried on that device.
 *
 * - `draft.template`: the lab's device as discovered, filled into a profile whose frames the
 *   user still has to write (the name it advertises, the service holding a writable
 *   characteristic and the notifying one beside it, a stop by "step 0").
 * - `draft.check`: the checks a user profile file gets (`checkProfileText`), each problem with
 *   its field path and the line and column it points at, and whether the draft identifies
 *   the lab's device.
 * - `draft.try`: the draft joins the registry for this run only (`UserProfiles.setDraft`,
 *   marked `draft: true`) and the device is connected with it as the massager. From then on
 *   it is a device on a user profile like any other: nothing moves before its stop check
 *   passes for this version of the draft (every edit is a new version), the 30% default
 *   ceiling and the slowest ramp, the session cap and daily budget, the watchdog, and stops
 *   confirmed only by a status the draft declares. This module writes no bytes itself.
 * - `draft.end`: stops and disconnects a device on the draft and forgets the draft.
 */
import { findNodeAtLocation, parseTree, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { identifyByProfile } from '../../protocols/profile/engine';
import type { DeviceProfile } from '../../protocols/profile/schema';
import type { Advertisement } from '../../protocols/types';
import { Refusal, type Handlers } from '../ipc/boundary';
import type { DeviceStatusEvent, DraftCheck, DraftProblem, DraftTemplate, LabService } from '../ipc/contract';
import { checkProfileText } from '../store/user-profiles';
import type { CoreContext } from './context';
import type { Devices } from './devices';
import type { Lab } from './lab';
import type { UserProfiles } from './profiles';

/** The channels this concern answers. */
export type DraftChannels = 'draft.*';

/** The name a draft's problems are reported under (a draft is no file yet). */
const DRAFT_FILE = 'draft';

/** 16-bit UUIDs of the Bluetooth SIG's standard services (noble form): never a massager's command service. */
function isStandardService(uuid: string): boolean {
  return /^18[0-9a-f]{2}$/.test(uuid);
}

const writable = (props: readonly string[]): boolean => props.includes('write') || props.includes('writeWithoutResponse');
const notifying = (props: readonly string[]): boolean => props.includes('notify') || props.includes('indicate');

/** A profile id from a device name: lowercase letters, digits and dashes, 2..41 characters, never a built-in id. */
export function draftId(name: string | undefined, builtIns: readonly string[]): string {
  let id = (name ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 34)
    .replace(/-+$/, '');
  if (id.length < 2) id = 'my-device';
  if (builtIns.includes(id)) id = `${id}-draft`;
  return id;
}

/**
 * A draft profile for a device as the lab discovered it: its advertised name (or its
 * services, or its manufacturer's company id) to identify it, the first service that is
 * not a standard one and holds a writable characteristic (its notifying one beside it; the
 * writable one again when there is none, which the user must correct), ten steps, one frame
 * carrying the step, and a stop that sends step 0. The result passes `draft.check`.
 * @param name the advertised local name, when there is one
 * @param services the GATT table the lab discovered
 */
export function draftTemplate(
  name: string | undefined,
  advertisement: Advertisement,
  services: readonly LabService[],
  builtIns: readonly string[],
  now: Date,
): DraftTemplate {
  const id = draftId(name, builtIns);
  const candidates = [...services.filter((s) => !isStandardService(s.uuid)), ...services.filter((s) => isStandardService(s.uuid))];
  const service = candidates.find((s) => s.characteristics.some((c) => writable(c.properties))) ?? candidates[0];
  const write = service?.characteristics.find((c) => writable(c.properties)) ?? service?.characteristics[0];
  const notify = service?.characteristics.find((c) => notifying(c.properties)) ?? write;
  const identify: Record<string, unknown>[] = [];
  if (name) identify.push({ confidence: 'candidate', name: { exact: [name] } });
  else if (advertisement.serviceUuids.length > 0) identify.push({ confidence: 'candidate', services: [...advertisement.serviceUuids] });
  else if (advertisement.manufacturerData && advertisement.manufacturerData.length >= 2) {
    identify.push({ confidence: 'candidate', manufacturer: { companyId: advertisement.manufacturerData[0]! | (advertisement.manufacturerData[1]! << 8) } });
  } else identify.push({ confidence: 'candidate', services: [service?.uuid ?? 'ffe0'] });
  const profile = {
    format: 1,
    id,
    name: name ? `${name} (my draft)` : 'My draft',
    kind: 'cushion',
    sources: [{ title: `Explored in Unknot's device lab on ${now.toISOString().slice(0, 10)}`, where: `a lab capture of ${name ?? 'the device'}` }],
    confidence: { level: 'experimental', note: 'Written in the device lab; nobody has checked it.' },
    writeGapMs: 100,
    identify,
    gatt: {
      variants: [
        {
          service: service?.uuid ?? 'ffe0',
          write: write?.uuid ?? 'ffe1',
          notify: notify?.uuid ?? 'ffe1',
          writeType: write && !write.properties.includes('write') ? 'prefer-without-response' : 'prefer-with-response',
        },
      ],
    },
    capabilities: { steps: 10, stepUnit: 'level', battery: 'none' },
    frames: { level: [{ value: 'step' }] },
    commands: {
      setIntensity: { running: [{ frame: 'level' }] },
      stop: [[{ frame: 'level', values: { step: 0 } }]],
    },
  };
  return { text: `${JSON.stringify(profile, null, 2)}\n`, fileName: `${id}.json` };
}

/** 1-based line and column of a character offset in `text`. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** The node a problem's dotted path points at, or the nearest parent that exists. */
function nodeAt(root: JsonNode, path: string): JsonNode | undefined {
  if (path === '(root)' || path === '(file)') return undefined;
  const segments = path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = segments.length; n > 0; n--) {
    const node = findNodeAtLocation(root, segments.slice(0, n));
    // A property's value node: point at its key (the property node's start).
    if (node) return node.parent?.type === 'property' ? node.parent : node;
  }
  return undefined;
}

/**
 * What a valid draft leaves unguarded (see `DraftCheck.warnings`): a `step` field written
 * scaled or offset (the intensity ceiling counts steps, the device then gets other
 * numbers), no status rule reporting the level as the step (`levelIsIntensity`: nothing
 * compares the device's level with the ceiling), no `stopProof` (no stop is ever confirmed).
 */
export function draftWarnings(p: DeviceProfile): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const fields = [
    ...Object.entries(p.frames).flatMap(([name, f]) => f.map((field, i) => ({ path: `frames.${name}.${i}`, field }))),
    ...p.framing.out.before.map((field, i) => ({ path: `framing.out.before.${i}`, field })),
    ...p.framing.out.after.map((field, i) => ({ path: `framing.out.after.${i}`, field })),
  ];
  for (const { path, field } of fields) {
    if ('value' in field && field.value === 'step' && (field.scale !== 1 || field.offset !== 0 || field.divisor !== 1)) {
      out.push({ path, message: 'the step is written scaled or offset: the ceiling limits steps, so make sure step N is the device\'s level N' });
    }
  }
  if (!p.status.rules.some((r) => r.levelIsIntensity && r.fields.level)) {
    out.push({ path: 'status.rules', message: 'no status reports the level as the step (levelIsIntensity): nothing checks the ceiling at the device' });
  }
  if (!p.stopProof) out.push({ path: 'stopProof', message: 'no stop proof: Unknot can never confirm that this device stopped' });
  return out;
}

/**
 * Checks a draft's text: every problem of `checkProfileText` (JSON, the profile schema, a
 * declared stop, no hook, no built-in id), each with the line and column it points at, and
 * the validated profile when there is none.
 * @param builtIns ids the draft may not use (a user file with the draft's id is set aside while it is tried)
 */
export function checkDraft(text: string, builtIns: readonly string[]): { check: DraftCheck; profile?: DeviceProfile } {
  const checked = checkProfileText(DRAFT_FILE, text, new Map(builtIns.map((id) => [id, 'a built-in profile'])));
  if (checked.result.ok && checked.profile) {
    const p = checked.profile;
    const steps = typeof p.capabilities.steps === 'number' ? p.capabilities.steps : p.capabilities.steps.default;
    const warnings = draftWarnings(p);
    return {
      check: { ok: true, errors: [], profile: { id: p.id, name: p.name, kind: p.kind, version: checked.result.version, steps }, ...(warnings.length ? { warnings } : {}) },
      profile: p,
    };
  }
  const errors: DraftProblem[] = checked.result.ok ? [] : checked.result.errors.map((e) => ({ ...e }));
  const parseErrors: ParseError[] = [];
  const root = parseTree(text, parseErrors, { allowTrailingComma: false, disallowComments: true });
  for (const e of errors) {
    let offset: number | undefined;
    if (e.path === '(file)' && /JSON/.test(e.message)) offset = parseErrors[0]?.offset ?? Number(/position (\d+)/.exec(e.message)?.[1] ?? NaN);
    else if (root) offset = nodeAt(root, e.path)?.offset;
    if (offset !== undefined && Number.isFinite(offset)) Object.assign(e, lineAndColumn(text, offset));
  }
  return { check: { ok: false, errors } };
}

/** See the module comment. */
export class Drafts {
  /** A try under way: a second one is refused (it would swap the draft under the first one's connection). */
  private trying = false;

  constructor(
    private readonly ctx: CoreContext,
    private readonly devices: Devices,
    private readonly lab: Lab,
    private readonly profiles: UserProfiles,
  ) {}

  /** The handlers of this concern's channels. */
  handlers(): Handlers<DraftChannels> {
    return {
      'draft.template': () => {
        const explored = this.lab.explored();
        if (!explored) throw new Refusal('not-connected', 'Explore a device in the lab first: the draft starts from its GATT table.');
        const p = explored.peripheral;
        return draftTemplate(p.localName, p.advertisement, explored.services, this.profiles.builtIns(), new Date(this.ctx.clock.wallNow()));
      },
      'draft.check': ({ text }) => this.check(text),
      'draft.try': ({ text, peripheralId }) => this.try(text, peripheralId),
      'draft.end': () => this.end(),
    };
  }

  private check(text: string): DraftCheck {
    const { check, profile } = checkDraft(text, this.profiles.builtIns());
    const explored = this.lab.explored();
    if (profile && explored) check.identifiesLabDevice = identifyByProfile(profile, explored.peripheral.advertisement) !== null;
    return check;
  }

  private async try(text: string, peripheralId: string): Promise<DeviceStatusEvent> {
    if (this.trying) throw new Refusal('refused', 'A draft is already being connected. Wait for it to finish.');
    this.trying = true;
    try {
      return await this.tryNow(text, peripheralId);
    } finally {
      this.trying = false;
    }
  }

  private async tryNow(text: string, peripheralId: string): Promise<DeviceStatusEvent> {
    const session = this.ctx.governor.current();
    if (session) throw new Refusal('refused', 'A session is running. End it before trying a draft.');
    const { check, profile } = checkDraft(text, this.profiles.builtIns());
    if (!profile || !check.profile) {
      const first = check.errors[0];
      throw new Refusal(
        'refused',
        `The draft has ${check.errors.length === 1 ? 'a problem' : `${check.errors.length} problems`}; fix ${check.errors.length === 1 ? 'it' : 'them'} first${first ? ` (${first.path}: ${first.message})` : ''}.`,
      );
    }
    if (!this.devices.scanEntry(peripheralId)) throw new Refusal('refused', 'That device is no longer in range. Scan again.');
    this.profiles.setDraft({ profile, version: check.profile.version });
    try {
      return await this.devices.connect({ peripheralId, protocolId: profile.id });
    } catch (err) {
      // Nothing connected on it: the draft leaves the registry again.
      if (this.devices.current()?.module.id !== profile.id) this.profiles.setDraft(null);
      throw err;
    }
  }

  private async end(): Promise<DeviceStatusEvent> {
    if (this.devices.current()?.userProfile?.draft) await this.devices.disconnect();
    this.profiles.setDraft(null);
    this.devices.broadcastStatus();
    return this.devices.status();
  }
}
