/**
 * The chair's stop and reset as a user sees them: a routine on the simulated chair,
 * Stop, the chair returning to rest (the device panel says so, and a second Stop sends
 * no power toggle), then at rest. The simulated devices panel shows what the chair
 * decoded, including how many power presses reached it while it was returning to rest.
 */
import { expect, test } from '@playwright/test';
import { SHOTS, scanAndConnect, simReadout, startRoutine } from './helpers';
import { startHost, type RunningHost } from './host';

let host: RunningHost | undefined;
test.afterEach(async () => {
  await host?.stop();
  host = undefined;
});

const chair = /^EVOLUTION-/;

test('chair: Stop during a routine, one power press, the chair returns to rest, a second Stop sends none', async ({ page }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await scanAndConnect(page, chair);
  await startRoutine(page, 'Upper back');
  await expect.poll(() => simReadout(page, chair), { timeout: 10_000, intervals: [100] }).toMatch(/State: running[\s\S]*Power presses: 1 \(0 while returning to rest\)/);

  // The device panel: the chair's own run state and speed, as it reports them.
  await page.getByRole('button', { name: 'Devices', exact: true }).click();
  const panel = page.locator('.device-panel');
  await expect(panel).toContainText(/The chair says\s*rollers moving/);
  await expect(panel).toContainText(/Chair’s own speed\s*\d of 6/);
  await expect(panel).toContainText(/Chair’s timer\s*\d+:\d\d left/);
  await page.screenshot({ path: `${SHOTS}/chair-01-running.png`, fullPage: true });

  await panel.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect.poll(() => simReadout(page, chair), { timeout: 3000, intervals: [50] }).toMatch(/State: returning to rest[\s\S]*Power presses: 2 \(0 while/);
  await expect(panel).toContainText(/The chair says\s*returning to rest/, { timeout: 4000 });
  await expect(panel.getByText(/returning to rest\. Unknot sends it no power command/)).toBeVisible();
  await expect(panel).not.toContainText('Chair’s own speed');
  await page.screenshot({ path: `${SHOTS}/chair-02-returning-to-rest.png`, fullPage: true });

  // A second Stop while it resets: nothing reaches the chair.
  await page.keyboard.press('Escape');
  await panel.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(panel).toContainText(/The chair says\s*off/, { timeout: 8000 });
  await expect.poll(() => simReadout(page, chair), { timeout: 3000 }).toMatch(/State: idle[\s\S]*Power presses: 2 \(0 while returning to rest\)/);
  await expect(panel.getByText(/Unknot sends it no power command/)).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/chair-03-at-rest.png`, fullPage: true });
});
