/**
 * Entry of the Bluetooth helper process (`out/main/ble-helper.js`; packaged as the
 * single executable `resources/ble-helper/unknot-ble-helper`, see build/ble-helper/).
 * Everything it does is in `run.ts`.
 */
import { ignoreTerminalSignals, keepStdoutForProtocol, runHelper } from './run';

keepStdoutForProtocol(process.stderr);
// Ctrl+C and a closed terminal reach the whole process group: the main process stops the
// massagers through this helper, then closes its stdin, which ends it (run.ts).
ignoreTerminalSignals();
process.on('SIGTERM', () => process.exit(0)); // exit handlers run: the HCI binding closes its links
process.stdout.on('error', () => process.exit(0)); // the main process has gone
runHelper(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  exit: (code) => process.exit(code),
});
