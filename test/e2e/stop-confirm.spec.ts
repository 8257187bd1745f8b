/**
 * A stop's confirmation as a user sees it, on the simulated Theragun: confirmed by the
 * device; not confirmed (the gun ignores every stop: the app says to switch it off by
 * hand and starts nothing until the gun's status says it is off, or the user says "It is
 * off"); and a gun that never reports its state ("cannot confirm", which is no failure).
 */
import { expect, test, type Page } from '@playwright/test';
import { SHOTS, scanAndConnect, simRpm, startRoutine } from './helpers';
import { startHost, type RunningHost } from './host';

let host: RunningHost | undefined;
test.afterEach(async () => {
  await host?.stop();
  host = undefined;
});

/** Clicks a fault button of the simulated gun ("Pro") in the simulated devices panel. */
async function gunFault(page: Page, label: string): Promise<void> {
  const gun = page.getByRole('region', { name: 'Simulated devices' }).getByRole('group', { name: /^Pro/ });
  const details = gun.locator('details.faults');
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) await details.locator('summary').click();
  await gun.getByRole('button', { name: label, exact: true }).click();
}

async function runThenStop(page: Page): Promise<void> {
  await startRoutine(page, 'Upper back');
  await expect.poll(() => simRpm(page), { timeout: 10_000 }).toBeGreaterThan(0);
  await page.keyboard.press('Space');
}

const panel = (page: Page) => page.locator('.device-panel');

test('a stop confirmed by the device', async ({ page }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await scanAndConnect(page, /^Pro$/);
  await runThenStop(page);
  await expect.poll(() => simRpm(page), { timeout: 1000 }).toBe(0);
  await page.getByRole('button', { name: 'Devices', exact: true }).click();
  await expect(panel(page).getByText('Stopped — confirmed by the device.')).toBeVisible({ timeout: 2000 });
  await page.screenshot({ path: `${SHOTS}/stop-01-confirmed.png`, fullPage: true });
});

test('a stop the gun ignores: switch it off by hand; its status then confirms the stop late and it starts again', async ({ page }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await scanAndConnect(page, /^Pro$/);
  await gunFault(page, 'Ignore every stop');
  await runThenStop(page);
  // Within its deadline and one repeat (2 × 1 s), the app gives up and says so on whatever screen is open.
  const alert = page.locator('.banners .stop-alert');
  await expect(alert).toBeVisible({ timeout: 4000 });
  await expect(alert).toContainText('The massage gun did not confirm that it stopped — switch it off by hand now.');
  await expect(alert).toContainText('Press the power button on the massage gun to switch it off.');
  await expect(page.locator('.banners .banner.warn')).toHaveCount(0); // said once, not twice
  expect(await simRpm(page)).toBeGreaterThan(0); // the gun really is still running
  await page.screenshot({ path: `${SHOTS}/stop-02-unconfirmed.png`, fullPage: true });

  // A new routine is refused until the user says it is off.
  await page.getByRole('button', { name: 'Routines', exact: true }).click();
  await page.getByRole('button', { name: 'Upper back', exact: true }).click();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.getByText(/did not confirm the last stop\. Check that it is off, then press “It is off”/).first()).toBeVisible();

  await gunFault(page, 'Press its power button');
  await expect.poll(() => simRpm(page)).toBe(0);
  // switched off by hand, the gun's next status says so: the stop is confirmed late and the
  // alert goes by itself, no "It is off" needed
  await expect(page.locator('.stop-alert')).toHaveCount(0, { timeout: 5000 });
  await expect(page.getByRole('button', { name: 'It is off', exact: true })).toHaveCount(0);
  // and the refusal that asked for "It is off" no longer shows
  await expect(page.locator('.start-card .error')).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/stop-03-confirmed-late.png`, fullPage: true });
  await page.getByRole('button', { name: 'Routines', exact: true }).click();
  await page.getByRole('button', { name: 'Upper back', exact: true }).click();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect.poll(() => simRpm(page), { timeout: 10_000 }).toBeGreaterThan(0);
  await page.keyboard.press('Escape');
});

test('a gun that never reports its state: "stop sent — this massager does not report its state", and it starts again', async ({ page }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await page.getByRole('button', { name: 'Scan', exact: true }).click();
  await expect(page.getByRole('region', { name: 'Simulated devices' }).getByRole('group', { name: /^Pro/ })).toBeVisible();
  await gunFault(page, 'Never report its state');
  await scanAndConnect(page, /^Pro$/);
  await runThenStop(page);
  await expect.poll(() => simRpm(page), { timeout: 1000 }).toBe(0);
  await page.getByRole('button', { name: 'Devices', exact: true }).click();
  await expect(panel(page).getByText('Stop sent — this massager does not report its state.')).toBeVisible({ timeout: 3000 });
  await expect(page.locator('.stop-alert')).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/stop-04-cannot-confirm.png`, fullPage: true });
  await startRoutine(page, 'Upper back');
  await expect.poll(() => simRpm(page), { timeout: 10_000 }).toBeGreaterThan(0);
  await page.keyboard.press('Escape');
});
