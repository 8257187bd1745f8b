import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, CSP_DIRECTIVES, SECURITY_HEADERS } from '../../../electron/security/csp';

// The evaluator electronegativity's CSP_GLOBAL_CHECK uses (build/electronegativity.sh
// excludes that check because it cannot see a CSP sent by a protocol handler).
const require = createRequire(join(__dirname, '../../../node_modules/@doyensec/electronegativity/package.json'));
const csp = require('@doyensec/csp-evaluator') as {
  CspParser: new (policy: string) => { csp: unknown };
  CspEvaluator: new (policy: unknown, version: unknown) => { evaluate(): { severity: number; directive: string; value?: string }[] };
  Version: { CSP3: unknown };
  severities: Record<string, number>;
};

describe('Content-Security-Policy', () => {
  it('has no high or medium finding under the CSP evaluator, only the reviewed script-src remark', () => {
    const findings = new csp.CspEvaluator(new csp.CspParser(CONTENT_SECURITY_POLICY).csp, csp.Version.CSP3).evaluate();
    const { HIGH, SYNTAX, MEDIUM, HIGH_MAYBE, MEDIUM_MAYBE } = csp.severities;
    expect(findings.filter((f) => [HIGH, SYNTAX, MEDIUM, HIGH_MAYBE].includes(f.severity))).toEqual([]);
    // Reviewed: 'self' in script-src is a "maybe" only for origins that host JSONP,
    // Angular or user uploads; app://unknot serves our own build only.
    expect(findings.filter((f) => f.severity === MEDIUM_MAYBE).map((f) => f.directive)).toEqual(['script-src']);
  });

  it('allows nothing remote, inline or evaluated', () => {
    for (const sources of Object.values(CSP_DIRECTIVES)) {
      for (const source of sources) expect(["'self'", "'none'", 'data:']).toContain(source);
    }
    expect(CSP_DIRECTIVES['object-src']).toEqual(["'none'"]);
    expect(CSP_DIRECTIVES['frame-ancestors']).toEqual(["'none'"]);
    expect(SECURITY_HEADERS['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
  });
});
