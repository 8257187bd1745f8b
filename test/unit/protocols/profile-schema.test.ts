/** The profile format refuses what would make a broken protocol, and says where. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProfileError, parseProfile } from '../../../protocols/profile/schema';
import { createRegistry } from '../../../protocols/registry';

const base = (): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL('./fixtures/made-up/profiles/knotless-k1.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function problems(p: unknown): string[] {
  try {
    parseProfile(p, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(ProfileError);
    return (error as ProfileError).problems;
  }
  throw new Error('the profile was accepted');
}

describe('device profile schema', () => {
  it('accepts the made-up profile and fills in defaults', () => {
    const p = parseProfile(base());
    expect(p.framing.in.guards).toEqual([]);
    expect(p.capabilities.minRunningStep).toBe(2);
  });

  it('refuses a misspelt key, a command naming an unknown frame, a missing stop and a bad UUID, with their paths', () => {
    const p = base();
    p.writegap = 10;
    (p.commands as Record<string, unknown>).init = [{ frame: 'nope' }];
    delete (p.commands as Record<string, unknown>).stop;
    ((p.gatt as { variants: { service: string }[] }).variants[0]!).service = 'FFE0';
    const found = problems(p);
    expect(found.some((m) => m.includes('writegap'))).toBe(true);
    expect(found.some((m) => m.includes('gatt.variants.0.service'))).toBe(true);
    // Cross-field checks run once the shape is right.
    const q = base();
    (q.commands as Record<string, unknown>).init = [{ frame: 'nope' }];
    delete (q.commands as Record<string, unknown>).stop;
    const cross = problems(q);
    expect(cross).toContain('(root): command refers to unknown frame "nope"');
    expect(cross).toContain('(root): commands.stop is required without a hook');
  });

  it('refuses reassembly without a length field, a name pattern that is no regular expression, and a rule that tests nothing', () => {
    const p = base();
    delete ((p.framing as { in: Record<string, unknown> }).in).length;
    (p.identify as unknown[]).push({ confidence: 'candidate', name: { pattern: '(' } }, { confidence: 'strong' });
    const found = problems(p);
    expect(found).toContain('(root): framing.in.reassemble needs a header and a length field');
    expect(found.some((m) => m.includes('is not a regular expression'))).toBe(true);
    expect(found).toContain('(root): an identify rule must test something');
  });

  it('a registry refuses two profiles with one id, and a hook it does not know', () => {
    expect(() => createRegistry([base(), base()])).toThrow(/two profiles have the id knotless-k1/);
    expect(() => createRegistry([{ ...base(), hook: 'no-such-hook' }])).toThrow(/no-such-hook/);
  });
});
