// electron-builder hooks (build/electron-builder.json) for the Linux Bluetooth helper: a
// Linux package must carry the helper built for its architecture (build/ble-helper/build.mjs),
// or its users could never use a real massager.
//
// - `beforePack` checks the helper's source folder (the `from` of the `linux.extraResources`
//   entry that goes `to: "ble-helper"`) before anything is packed.
// - `afterPack` checks what was actually packed, `resources/ble-helper/` of the packed tree:
//   electron-builder's copy filter silently drops a folder named `node_modules` at the root of
//   an extraResources source whatever the filter says (app-builder-lib/out/util/filter.js,
//   electron-userland/electron-builder#3104), so a correct source folder is not enough.
//
// Both fail the pack with what to do; UNKNOT_PACK_WITHOUT_BLE_HELPER=1 packs without the
// helper (the app then shows Bluetooth as "not permitted" and offers the simulated devices).
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- electron-builder loads this hook as CommonJS */
const { existsSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

/** electron-builder's Arch enum values → Node's process.arch names. */
const ARCH = { 0: 'ia32', 1: 'x64', 2: 'arm', 3: 'arm64', 4: 'universal' };

/** Where the helper goes inside `resources/`, and the files it needs there (paths relative to that folder). */
const HELPER_RESOURCE = 'ble-helper';
const HELPER_FILES = {
  executable: 'unknot-ble-helper',
  manifest: 'manifest.json',
  addon: 'node_modules/@abandonware/bluetooth-hci-socket/build/Release/bluetooth_hci_socket.node',
  nativeEntry: 'node_modules/@abandonware/bluetooth-hci-socket/index.js',
};

/**
 * Checks a helper folder (the source `out/ble-helper/`, or the packed `resources/ble-helper/`):
 * the executable, the native HCI socket module, and a manifest whose platform and arch
 * match the target. Returns a problem (a sentence), or null when all is there.
 */
function checkBleHelper(dir, arch) {
  const manifestPath = join(dir, HELPER_FILES.manifest);
  if (!existsSync(manifestPath) || !existsSync(join(dir, HELPER_FILES.executable))) return `${dir} has no Bluetooth helper`;
  if (!existsSync(join(dir, HELPER_FILES.addon)) || !existsSync(join(dir, HELPER_FILES.nativeEntry)))
    return `the Bluetooth helper in ${dir} has no native HCI socket module`;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return `the Bluetooth helper's ${manifestPath} cannot be read`;
  }
  if (manifest.platform !== 'linux') return `the Bluetooth helper was built for ${manifest.platform}, not linux`;
  if (manifest.arch !== arch) return `the Bluetooth helper was built for ${manifest.arch}, but this package is for ${arch}`;
  return null;
}

/**
 * The helper's source folder, as the configuration packs it: the `from` of the
 * `linux.extraResources` entry whose `to` is `ble-helper`, resolved against the project
 * folder (`out/ble-helper` when the configuration names none).
 */
function helperSourceDir(packager) {
  const entries = [].concat(packager.config?.linux?.extraResources ?? [], packager.config?.extraResources ?? []);
  const entry = entries.find((e) => e && typeof e === 'object' && e.to === HELPER_RESOURCE && typeof e.from === 'string');
  return resolve(packager.projectDir, entry ? entry.from : join('out', HELPER_RESOURCE));
}

function fail(problem, arch) {
  if (process.env.UNKNOT_PACK_WITHOUT_BLE_HELPER === '1') {
    console.warn(`Unknot: packing for Linux without the Bluetooth helper (${problem}).`);
    return;
  }
  throw new Error(
    `Unknot: ${problem}. Build it on a Linux ${arch} machine first: ` +
      '`npx electron-vite build && node build/ble-helper/build.mjs` (docs/desktop.md, "Linux: Bluetooth permissions"), ' +
      'or set UNKNOT_PACK_WITHOUT_BLE_HELPER=1 to pack without it.',
  );
}

/** The `beforePack` hook: electron-builder calls it with its pack context before packing each target. Throws when the helper is missing. */
async function beforePack(context) {
  if (context.electronPlatformName !== 'linux') return;
  const arch = ARCH[context.arch] ?? String(context.arch);
  const problem = checkBleHelper(helperSourceDir(context.packager), arch);
  if (problem) fail(problem, arch);
}

/**
 * The `afterPack` hook: checks the packed tree, `<appOutDir>/resources/ble-helper/`, once
 * electron-builder has copied the extra resources. Throws when the helper or its native
 * module did not make it into the package.
 */
async function afterPack(context) {
  if (context.electronPlatformName !== 'linux') return;
  const arch = ARCH[context.arch] ?? String(context.arch);
  const problem = checkBleHelper(join(context.appOutDir, 'resources', HELPER_RESOURCE), arch);
  if (problem) fail(`packed tree: ${problem}`, arch);
}

// electron-builder imports the hook and takes the export named after the hook (else the default).
module.exports = beforePack;
module.exports.beforePack = beforePack;
module.exports.afterPack = afterPack;
module.exports.checkBleHelper = checkBleHelper;
module.exports.helperSourceDir = helperSourceDir;
module.exports.HELPER_FILES = HELPER_FILES;
module.exports.ARCH = ARCH;
