// electron-builder `beforePack` hook (build/electron-builder.json): a Linux package must
// carry the Bluetooth helper built for its architecture (build/ble-helper/build.mjs),
// or its users could never use a real massager. Fails the pack with what to run;
// UNKNOT_PACK_WITHOUT_BLE_HELPER=1 packs without it (the app then shows Bluetooth as
// "not permitted" and offers the simulated devices, as before the helper existed).
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- electron-builder loads this hook as CommonJS */
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/** electron-builder's Arch enum values → Node's process.arch names. */
const ARCH = { 0: 'ia32', 1: 'x64', 2: 'arm', 3: 'arm64', 4: 'universal' };

/**
 * Checks `out/ble-helper/` for a Linux pack: the executable, the native module, and a
 * manifest whose platform and arch match the target. Returns a problem, or null.
 */
function checkBleHelper(projectDir, arch) {
  const dir = join(projectDir, 'out', 'ble-helper');
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath) || !existsSync(join(dir, 'unknot-ble-helper'))) return `${dir} has no Bluetooth helper`;
  if (!existsSync(join(dir, 'node_modules', '@abandonware', 'bluetooth-hci-socket', 'build', 'Release', 'bluetooth_hci_socket.node')))
    return 'the Bluetooth helper has no native HCI socket module';
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (manifest.platform !== 'linux') return `the Bluetooth helper was built for ${manifest.platform}, not linux`;
  if (manifest.arch !== arch) return `the Bluetooth helper was built for ${manifest.arch}, but this package is for ${arch}`;
  return null;
}

/** The hook: electron-builder calls it with its pack context before packing each target. */
async function beforePack(context) {
  if (context.electronPlatformName !== 'linux') return;
  const arch = ARCH[context.arch] ?? String(context.arch);
  const problem = checkBleHelper(context.packager.projectDir, arch);
  if (!problem) return;
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

// electron-builder imports the hook and takes the export named `beforePack` (else the default).
module.exports = beforePack;
module.exports.beforePack = beforePack;
module.exports.checkBleHelper = checkBleHelper;
module.exports.ARCH = ARCH;
