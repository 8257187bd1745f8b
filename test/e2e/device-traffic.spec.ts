/**
 * "Report a problem" on the device panel (issue 17, part 5), in Chromium against the browser
 * host in demo mode: during manual control on the simulated Theragun the panel shows its
 * recent traffic (the set-speed writes to the device, its status notifications), the stop
 * appears when manual control ends, and the saved capture is valid JSON lines of that
 * device only, with the bytes the simulator received. axe finds no serious or critical
 * violation on the panel; a screenshot goes to test-results/screens.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { answerScreeningNo, axe, hostWithSideClient, scanAndConnect, screenedThrough, shot } from './helpers';

const start = hostWithSideClient();

const THERAGUN_STOP = 'aa070103000003';

test('the device panel shows the traffic of a session, and saves a capture of that device alone', async ({ page }) => {
  const { host, client } = await start();
  await screenedThrough(client);
  await page.goto(host.url);
  await answerScreeningNo(page);
  await scanAndConnect(page, /^Pro$/);

  const report = page.getByRole('region', { name: 'Report a problem with this device' });
  await expect(report).toBeVisible();
  // connecting already talked to it: the link event at least
  await expect(report.getByRole('table', { name: 'Recent traffic' })).toContainText('Connected');

  await page.getByRole('slider', { name: 'Intensity' }).fill('40');
  await page.getByRole('button', { name: 'Start manual control' }).click();
  const rows = report.locator('table.traffic-table tbody tr');
  // set-speed frames (AA cs 01 03 …) to the device's write characteristic, marked as steps
  await expect(rows.filter({ hasText: 'to device' }).filter({ hasText: /aa .. 01 03/ }).filter({ hasText: 'step' }).first()).toBeVisible();
  await expect(rows.filter({ hasText: 'ffe2' }).first()).toBeVisible();
  await expect(rows.filter({ hasText: 'from device' }).first()).toBeVisible();
  await page.getByRole('button', { name: 'End manual control' }).click();
  // the stop frame, newest first in the table
  await expect(rows.filter({ hasText: 'aa 07 01 03 00 00 03' }).filter({ hasText: 'stop' }).first()).toBeVisible();
  expect(await rows.count()).toBeLessThanOrEqual(20);
  await expect(report.getByText(/Stop confirmed|Stop sent/).first()).toBeVisible();

  await report.scrollIntoViewIfNeeded();
  await shot(page, 'device-panel-report');
  await axe(page, 'device panel with its traffic');

  const [download] = await Promise.all([page.waitForEvent('download'), report.getByRole('button', { name: 'Save a capture of this device' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^unknot-capture-Pro-traffic-.+\.jsonl$/);
  const text = readFileSync(await download.path(), 'utf8');
  const lines = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines[0]).toMatchObject({ type: 'capture', format: 'unknot-device-capture', version: 1, peripheralId: 'sim-theragun-pro', name: 'Pro', protocol: { id: 'theragun' }, simulated: true });
  expect(lines[1]).toMatchObject({ type: 'advertisement', peripheralId: 'sim-theragun-pro', name: 'Pro' });
  expect(lines.every((l) => typeof l.type === 'string' && typeof l.t === 'number' && typeof l.at === 'string')).toBe(true);
  // that device only
  const ids = new Set(lines.map((l) => l.peripheralId).filter(Boolean));
  expect([...ids]).toEqual(['sim-theragun-pro']);
  for (const other of ['Nodo', 'EVOLUTION', 'hy1', 'sim-rongtai', 'sim-jieli', 'sim-nodo']) expect(text).not.toContain(other);
  const writes = lines.filter((l) => l.type === 'write');
  expect(writes.some((w) => w.purpose === 'stop' && w.hex === THERAGUN_STOP)).toBe(true);
  expect(writes.some((w) => w.purpose === 'step')).toBe(true);
  expect(lines.some((l) => l.type === 'notification')).toBe(true);
  // a download, not an error: no warning banner, and the page says where it went
  await expect(page.locator('.banner.warn')).toHaveCount(0);
  await expect(page.locator('[role=status][aria-live=polite]')).toContainText(`Capture saved as ${download.suggestedFilename()}`);
});
