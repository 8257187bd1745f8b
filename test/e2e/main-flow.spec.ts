/**
 * The main job end to end (browser host in demo mode, Debian's Chromium): scan →
 * connect the simulated Theragun → start "Upper back" → the gun reports a non-zero rpm
 * at or below step 1's intensity → Space → 0 rpm within one second. Plus the safety
 * governor's end-to-end checks: the ceiling holds for the whole routine, closing the
 * page stops the motor within 4 seconds, and a "yes" in the screening keeps Start
 * disabled with the doctor message.
 */
import { expect, test } from '@playwright/test';
import { SHOTS, answerScreeningNo, openRoutine, scanAndConnect, simRpm, startRoutine } from './helpers';
import { startHost, type RunningHost } from './host';

const STEP1_MAX_RPM = Math.ceil(0.35 * 3616); // step 1 of "Upper back" asks for 35%
const CEILING_RPM = Math.floor(0.6 * 3616); // 2169

let host: RunningHost | undefined;
test.afterEach(async () => {
  await host?.stop();
  host = undefined;
});

test('without --demo the pairing screen says Bluetooth is unavailable and why, and offers simulated devices', async ({ page }) => {
  host = await startHost([]);
  const t0 = Date.now();
  await page.goto(host.url);
  await expect(page.getByRole('button', { name: 'Scan', exact: true })).toBeEnabled();
  const interactiveMs = Date.now() - t0;
  console.log(`pairing screen interactive after ${interactiveMs} ms`);
  await expect(page.getByText('Bluetooth is not available.')).toBeVisible();
  await expect(page.getByText(/EAFNOSUPPORT/)).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/main-01-no-adapter.png`, fullPage: true });
  await page.getByRole('button', { name: 'Try simulated devices' }).click();
  await expect(page.getByRole('region', { name: 'Simulated devices' })).toBeVisible();
  await scanAndConnect(page, /^Pro$/);
  expect(await simRpm(page)).toBe(0);
  expect(host.output()).toMatch(/starting the browser host|Unknot is running/);
});

test('scan, connect the simulated Theragun, run "Upper back", Space stops it within one second', async ({ page }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await page.screenshot({ path: `${SHOTS}/main-02-pairing.png`, fullPage: true });
  await scanAndConnect(page, /^Pro$/);
  await page.screenshot({ path: `${SHOTS}/main-03-connected.png`, fullPage: true });
  await openRoutine(page, 'Upper back');
  await answerScreeningNo(page);
  await page.screenshot({ path: `${SHOTS}/main-04-prepare.png`, fullPage: true });
  await page.getByRole('button', { name: 'Start', exact: true }).click();

  // step 1: the gun runs, at or below step 1's intensity
  await expect.poll(() => simRpm(page), { timeout: 10_000 }).toBeGreaterThan(0);
  const rpm = (await simRpm(page))!;
  expect(rpm).toBeLessThanOrEqual(STEP1_MAX_RPM);
  await expect(page.getByText('Around the knot').first()).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/main-05-running.png`, fullPage: true });

  // Space stops it: 0 rpm within one second
  await page.keyboard.press('Space');
  const pressed = Date.now();
  await expect.poll(() => simRpm(page), { timeout: 1000, intervals: [20] }).toBe(0);
  console.log(`Space → 0 rpm in ${Date.now() - pressed} ms`);
  await page.screenshot({ path: `${SHOTS}/main-06-stopped.png`, fullPage: true });
});

test('the ceiling holds for the whole routine: never more than 2169 rpm', async ({ page }) => {
  host = await startHost(['--demo', '--time-scale', '20']);
  await page.goto(host.url);
  await scanAndConnect(page, /^Pro$/);
  // ask for full speed by hand: the governor must hold it at the ceiling
  await startRoutine(page, 'Upper back');
  let max = 0;
  const end = Date.now() + 14_000;
  while (Date.now() < end) {
    max = Math.max(max, (await simRpm(page)) ?? 0);
    if (await page.getByText(/drink/i).count()) break;
    await page.waitForTimeout(50);
  }
  expect(max).toBeGreaterThan(0);
  expect(max).toBeLessThanOrEqual(CEILING_RPM);
  await expect(page.getByText(/drink/i).first()).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/main-07-finished.png`, fullPage: true });

  // manual control at 100%: held at the ceiling, and the UI says so
  await page.getByRole('button', { name: 'Devices', exact: true }).click();
  await page.getByLabel('Area').selectOption('shoulders');
  const slider = page.getByRole('slider', { name: 'Intensity' });
  await slider.focus();
  await page.keyboard.press('End');
  await page.getByRole('button', { name: 'Start manual control' }).click();
  max = 0;
  const until = Date.now() + 8000;
  while (Date.now() < until && max < CEILING_RPM) {
    max = Math.max(max, (await simRpm(page)) ?? 0);
    await page.waitForTimeout(50);
  }
  expect(max).toBe(CEILING_RPM);
  await expect(page.getByText(/held at the ceiling, 2169 rpm/).first()).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/main-08-manual-clamped.png`, fullPage: true });
  await page.keyboard.press('Escape');
  await expect.poll(() => simRpm(page), { timeout: 1000 }).toBe(0);
});

test('closing the page mid-routine brings the gun to 0 rpm within 4 seconds', async ({ page, context }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await scanAndConnect(page, /^Pro$/);
  await startRoutine(page, 'Upper back');
  await expect.poll(() => simRpm(page), { timeout: 10_000 }).toBeGreaterThan(0);
  // a second tab watches the simulated devices panel
  const observer = await context.newPage();
  await observer.goto(host.url);
  await expect.poll(() => simRpm(observer), { timeout: 5000 }).toBeGreaterThan(0);
  await page.close();
  const closed = Date.now();
  await expect.poll(() => simRpm(observer), { timeout: 4000, intervals: [50] }).toBe(0);
  console.log(`page closed → 0 rpm in ${Date.now() - closed} ms`);
});

test('a "yes" in the screening keeps Start disabled with the doctor message', async ({ page }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await scanAndConnect(page, /^Pro$/);
  await openRoutine(page, 'Upper back');
  await page.getByRole('group', { name: /heart/i }).first().getByRole('radio', { name: 'Yes' }).check();
  for (const q of [/pregnant/i, /blood pressure/i]) await page.getByRole('group', { name: q }).first().getByRole('radio', { name: 'No' }).check();
  const ack = page.getByRole('button', { name: 'I understand' });
  if (await ack.count()) await ack.first().click();
  await expect(page.getByText(/consult a doctor/i).first()).toBeVisible();
  await expect(page.getByRole('button', { name: 'Start', exact: true })).toBeDisabled();
  await page.screenshot({ path: `${SHOTS}/main-09-screening-yes.png`, fullPage: true });
  expect(await simRpm(page)).toBe(0);
});

test('"Stop — it hurts" stops the gun at once and the history marks the pain event', async ({ page }) => {
  host = await startHost(['--demo', '--time-scale', '20']);
  await page.goto(host.url);
  await scanAndConnect(page, /^Pro$/);
  await startRoutine(page, 'Upper back');
  await expect.poll(() => simRpm(page), { timeout: 10_000 }).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Stop — it hurts' }).click();
  await expect.poll(() => simRpm(page), { timeout: 1000, intervals: [20] }).toBe(0);
  await expect(page.getByText(/Next time this area starts gentler/).first()).toBeVisible();
  await page.getByRole('button', { name: 'History', exact: true }).click();
  await expect(page.locator('svg.chart .pain-mark')).toHaveCount(1);
  await page.getByText('The same data as a table').click();
  await expect(page.getByRole('cell', { name: 'Upper back ×1' })).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/main-10-history-pain.png`, fullPage: true });
});

test('keyboard: focus lands on something useful after Connect and after each screen change', async ({ page }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await page.getByRole('button', { name: 'Scan', exact: true }).click();
  const connect = page.getByRole('group', { name: /^Pro$/ }).getByRole('button', { name: 'Connect', exact: true });
  await connect.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'Choose a routine' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Routines' })).toBeFocused();
  await page.getByRole('button', { name: 'Settings', exact: true }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeFocused();
});

test('a stop from a second window stops the gun and the first window says where the stop came from', async ({ page, context }) => {
  host = await startHost(['--demo']);
  await page.goto(host.url);
  await scanAndConnect(page, /^Pro$/);
  await startRoutine(page, 'Upper back');
  await expect.poll(() => simRpm(page), { timeout: 10_000 }).toBeGreaterThan(0);
  const other = await context.newPage();
  await other.goto(host.url);
  await expect(other.getByText('A routine is running in another window')).toBeVisible();
  await other.getByRole('button', { name: 'Stop it' }).click();
  await expect.poll(() => simRpm(page), { timeout: 1000, intervals: [20] }).toBe(0);
  await expect(page.getByText(/Stopped from outside this window/)).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/main-11-stopped-elsewhere.png`, fullPage: true });
});
