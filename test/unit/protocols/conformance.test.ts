/**
 * The conformance kit over the built-in profiles, with their golden vectors in
 * `protocols/vectors/<id>.json`; and the checks of the built-in registry itself.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProfile } from '../../../protocols/profile/schema';
import { BUILT_IN_PROFILES, all, get, identify } from '../../../protocols/registry';
import * as registry from '../../../protocols/registry';
import { conformanceKit, referenceCrc16Xmodem, type VectorFile } from './kit';

function loadVectors(id: string): VectorFile {
  return JSON.parse(readFileSync(new URL(`../../../protocols/vectors/${id}.json`, import.meta.url), 'utf8')) as VectorFile;
}

const modules = all();

describe('independent CRC-16/XMODEM reference', () => {
  it('passes the check value 31C3 for "123456789"', () => {
    expect(referenceCrc16Xmodem(Uint8Array.from('123456789', (c) => c.charCodeAt(0)))).toBe(0x31c3);
  });
});

describe('registry', () => {
  it('every built-in profile is valid, and every one is registered', () => {
    const ids = BUILT_IN_PROFILES.map((p) => parseProfile(p).id);
    expect(modules.map((m) => m.id)).toEqual(ids);
  });

  it('has unique ids, and get() finds each', () => {
    const ids = modules.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of modules) expect(get(m.id)).toBe(m);
    expect(get('nope')).toBeUndefined();
  });

  it('identify sorts strong matches first', () => {
    const result = identify({ localName: 'hy1', serviceUuids: [], manufacturerData: Uint8Array.of(0x68, 0x79, 0x31) });
    expect(result[0]).toMatchObject({ confidence: 'strong', model: 'hy1' });
    expect(identify({ localName: 'Pro', serviceUuids: [] }).map((c) => c.module.id)).toEqual(['theragun']);
    expect(identify({ localName: 'EVOLUTION-7', serviceUuids: [] })[0]?.confidence).toBe('strong');
    expect(identify({ localName: 'Headphones', serviceUuids: ['180f'] })).toEqual([]);
  });
});

conformanceKit(registry, loadVectors);
