#!/usr/bin/env bash
# Electron security scan: runs electronegativity (@doyensec/electronegativity, its own
# TypeScript-aware parser) over the main process, preload and renderer sources and
# fails (exit 1) on any finding above INFORMATIONAL.
#
#   bash build/electronegativity.sh          # from anywhere in the checkout
#
# How it runs, and why:
# - The main process, preload and renderer are scanned together (copied into one
#   temporary tree), because the global checks (navigation limits, permission
#   handler, CSP) look for a guard anywhere in the app: scanning a folder alone
#   reports the guards that live in the other as missing.
# - It calls electronegativity's runner from Node instead of its CLI: the CLI never
#   exits non-zero on findings, and both it and the runner fetch translations and
#   Electron's release list over the network; here the HTTP client is replaced by one
#   that fails at once, so the scan is offline and deterministic (English texts).
# - The Electron version is the installed one (the scanned folders hold no package.json).
# - Findings are suppressed only at their line, with `eng-disable CHECK_ID — reason`.
#
# Checks excluded, with the reason:
# - CSP_GLOBAL_CHECK: it finds a CSP only in `webRequest` header code or an HTML <meta>;
#   ours is sent by the app:// protocol handler (electron/main/protocol.ts) from
#   electron/security/csp.ts, so the check reports "no CSP" for the Electron side.
#   Instead test/unit/shell/csp.test.ts runs the same evaluator (@doyensec/csp-evaluator)
#   over our policy; its one remark ('self' in script-src, a "maybe" for sites that host
#   JSONP, Angular or user uploads) does not apply: app://unknot serves only our build.
# - AVAILABLE_SECURITY_FIXES_GLOBAL_CHECK: needs Electron's release list from the network.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SCAN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/unknot-eng.XXXXXX")"
trap 'rm -rf "$SCAN_DIR"' EXIT
for dir in electron renderer; do
  if [ -d "$dir" ]; then cp -R "$dir" "$SCAN_DIR/$dir"; fi
done

node - "$ROOT" "$SCAN_DIR" <<'NODE'
const path = require('node:path');
const Module = require('node:module');
const [root, input] = process.argv.slice(2);
const engDir = path.join(root, 'node_modules', '@doyensec', 'electronegativity');
// Offline: electronegativity's HTTP client (translations, Electron releases) fails at once.
const load = Module._load;
Module._load = function (request, parent, ...rest) {
  if (request === 'got' && parent && parent.filename.startsWith(engDir)) {
    return () => Promise.reject(new Error('offline'));
  }
  return load.call(this, request, parent, ...rest);
};
const run = require(engDir);
const electronVersion = require(path.join(root, 'node_modules', 'electron', 'package.json')).version;
// id reported -> check class name the runner's exclusion list takes
const EXCLUDED = { CSP_GLOBAL_CHECK: 'CSPGlobalCheck', AVAILABLE_SECURITY_FIXES_GLOBAL_CHECK: 'AvailableSecurityFixesGlobalCheck' };

(async () => {
  const log = console.log;
  console.log = () => undefined; // the runner's own chatter ("could not retrieve translations")
  let result;
  try {
    result = await run(
      {
        input,
        output: undefined,
        isSarif: false,
        customScan: [],
        excludeFromScan: Object.values(EXCLUDED).map((c) => c.toLowerCase()),
        severitySet: 'informational',
        confidenceSet: 'tentative',
        isRelative: true,
        isVerbose: false,
        electronUpgrade: undefined,
        electronVersionOverride: electronVersion,
        parserPlugins: [],
      },
      false,
    );
  } finally {
    console.log = log;
  }
  const excluded = new Set(Object.keys(EXCLUDED));
  const issues = result.issues.filter((i) => !excluded.has(i.id));
  const failing = issues.filter((i) => i.severity.name !== 'INFORMATIONAL');
  console.log(`electronegativity ${require(path.join(engDir, 'package.json')).version}: ${result.atomicChecks} atomic and ${result.globalChecks} global checks on electron/ and renderer/ (Electron ${electronVersion}); excluded: ${Object.keys(EXCLUDED).join(', ')}`);
  for (const e of result.errors) console.log(`${e.tolerable ? 'warning' : 'error'}: could not fully parse ${path.relative(input, e.file)}: ${e.message}`);
  for (const i of issues) {
    const where = i.file === 'N/A' ? 'whole app' : `${i.file}:${i.location.line}:${i.location.column}`;
    console.log(`${i.severity.name.padEnd(13)} ${i.confidence.name.padEnd(9)} ${i.id.padEnd(40)} ${where}${i.manualReview ? ' (review)' : ''}`);
  }
  const hardErrors = result.errors.filter((e) => !e.tolerable);
  console.log(`${failing.length} finding(s) above INFORMATIONAL, ${issues.length - failing.length} informational, ${hardErrors.length} parse error(s)`);
  process.exit(failing.length > 0 || hardErrors.length > 0 ? 1 : 0);
})().catch((err) => {
  console.error(err);
  process.exit(2);
});
NODE
