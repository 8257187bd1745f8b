/**
 * The full app in Chromium against the browser host in demo mode: first run through a
 * finished "Upper back" routine on each simulated device (Theragun, RongTai chair,
 * JieLi EMS pad), each run with its own temporary data folder and `--time-scale` so a
 * routine takes seconds; the routine motions show up as chair modes in the simulated
 * devices panel; axe-core finds no serious or critical violation on any screen; every
 * screen is saved as a screenshot in both themes.
 */
import { expect, test } from '@playwright/test';
import { answerScreeningNo, axe, scanAndConnect, shot, simReadout, startRoutine } from './helpers';
import { startHost, type RunningHost } from './host';

let host: RunningHost | undefined;
test.afterEach(async () => {
  await host?.stop();
  host = undefined;
});


// The chair runs at ×10 so its steps are several seconds apart in real time: its power
// knowledge must survive the gaps (a toggle on a running chair switches it off).
const DEVICES = [
  { name: /^Pro$/, label: 'theragun', scale: '30' },
  { name: /^EVOLUTION-/, label: 'chair', scale: '10' },
  { name: /^hy\d/, label: 'ems', scale: '30' },
] as const;

for (const device of DEVICES) {
  test(`first run to a finished "Upper back" routine on the simulated ${device.label}`, async ({ page }) => {
    host = await startHost(['--demo', '--time-scale', device.scale]);
    await page.goto(host.url);
    await scanAndConnect(page, device.name);
    await startRoutine(page, 'Upper back');
    await expect(page.getByText('Around the knot').first()).toBeVisible();
    if (device.label === 'chair') {
      // circular → knead, back-and-forth → knock, as the panel shows what the chair decoded
      await expect.poll(() => simReadout(page, /^EVOLUTION-/), { timeout: 10_000, intervals: [50] }).toMatch(/Power: on[\s\S]*Mode: knead\b/);
      // step 2 starts 6 s later: the chair must still be on, now knocking
      await expect.poll(() => simReadout(page, /^EVOLUTION-/), { timeout: 15_000, intervals: [50] }).toMatch(/Power: on[\s\S]*Mode: knock\b/);
      await expect(page.getByText('Toward the knot').first()).toBeVisible();
    }
    if (device.label === 'ems') {
      await expect.poll(() => simReadout(page, /^hy\d/), { timeout: 10_000, intervals: [50] }).toMatch(/Output: on/);
    }
    await expect(page.getByText(/drink/i).first()).toBeVisible({ timeout: 40_000 });
    await shot(page, `full-${device.label}-finished`);
    if (device.label === 'chair') await expect.poll(() => simReadout(page, /^EVOLUTION-/), { timeout: 8000 }).toMatch(/State: (returning to rest|idle)/);
    // the device is left stopped
    if (device.label === 'theragun') await expect.poll(() => simReadout(page, /^Pro/)).toMatch(/Motor: 0 rpm/);
    if (device.label === 'ems') await expect.poll(() => simReadout(page, /^hy\d/)).toMatch(/Output: off/);
  });
}

for (const theme of ['light', 'dark'] as const) {
  test(`every screen passes axe and is saved in the ${theme} theme`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: theme });
    host = await startHost(['--demo', '--time-scale', '30']);
    await page.goto(host.url);
    await expect(page.getByRole('button', { name: 'Scan', exact: true })).toBeEnabled();
    await axe(page, 'pairing');
    await shot(page, `${theme}-01-pairing`);

    await page.getByRole('button', { name: 'Safety', exact: true }).click();
    await axe(page, 'safety');
    await shot(page, `${theme}-02-safety`);

    await page.getByRole('button', { name: 'Devices', exact: true }).click();
    await scanAndConnect(page, /^Pro$/);
    await axe(page, 'connected');
    await shot(page, `${theme}-03-connected`);

    await page.getByRole('button', { name: 'Routines', exact: true }).click();
    await axe(page, 'routines');
    await shot(page, `${theme}-04-routines`);

    await page.getByRole('button', { name: 'Upper back', exact: true }).click();
    await axe(page, 'prepare');
    await shot(page, `${theme}-05-prepare`);
    await answerScreeningNo(page);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect(page.getByText('Around the knot').first()).toBeVisible();
    await axe(page, 'guided');
    await shot(page, `${theme}-06-guided`);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await expect(page.getByRole('button', { name: 'Resume', exact: true })).toBeVisible();
    await axe(page, 'paused');
    await shot(page, `${theme}-07-paused`);
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect(page.getByText(/drink/i).first()).toBeVisible({ timeout: 20_000 });
    await axe(page, 'summary');
    await shot(page, `${theme}-08-summary`);

    await page.getByRole('button', { name: 'History', exact: true }).click();
    await axe(page, 'history');
    await shot(page, `${theme}-09-history`);

    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await axe(page, 'settings');
    await shot(page, `${theme}-10-settings`);
  });
}
