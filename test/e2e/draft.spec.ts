/**
 * The lab's draft editor end to end (issue 17, item 4), in Chromium against the browser
 * host in demo mode: a draft starts from the Nodo Mini's discovered table, is checked as
 * the user types (the problem's field path and line shown), is tried on the cushion under
 * the governor (the stop check first; steps above the 30% default ceiling not offered; the
 * cushion's own level, read on `sim.state`, never above 3 of 10; Stop stops it), and is
 * saved as the user's profile. axe on the editor and the try panel; screenshots of both.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { axe, hostWithSideClient, screenedThrough, shot, type SimState } from './helpers';

const NODO = readFileSync(join(__dirname, '..', 'fixtures', 'profiles', 'nodo-mini.json'), 'utf8');
const NODO_SERVICE = '4e4f00010000100080004e4f444f0001';

const start = hostWithSideClient();

test('a draft from the Nodo Mini\'s table is checked as it is typed, tried under the governor, and saved', async ({ page }) => {
  const { host, client: side } = await start();
  await page.goto(host.url);
  await screenedThrough(side);
  const level = async (): Promise<number> => {
    const sims = await side.ok<SimState[]>('sim.state');
    return Number(sims.find((s) => s.peripheralId === 'sim-nodo-mini')!.state.level);
  };

  await page.getByRole('button', { name: 'Device lab', exact: true }).click();
  await page.getByRole('button', { name: 'Scan', exact: true }).click();
  await page.getByRole('row', { name: /Nodo Mini/ }).getByRole('button', { name: 'Look inside Nodo Mini' }).click();
  await expect(page.getByText('Connected, read-only.')).toBeVisible();

  // the draft starts from the table: the UUIDs are filled in, and it already passes the check
  await page.getByRole('button', { name: "Start from this device's table" }).click();
  const editor = page.getByLabel('Draft (profile JSON)');
  await expect(editor).toHaveValue(new RegExp(NODO_SERVICE));
  const verdict = page.locator('.draft-check');
  await expect(verdict).toContainText('No problems');
  await expect(verdict).toContainText('It recognises Nodo Mini.');
  // the table gives no frames of its own: what it leaves unguarded is said
  const unguarded = page.getByRole('list', { name: 'What the draft leaves unguarded' });
  await expect(unguarded).toContainText('stopProof');
  await expect(unguarded).toContainText('status.rules');

  // typing: a broken value is named by its field path and line, and fixing it clears it
  await editor.fill(NODO.replace('"steps": 10', '"steps": 0'));
  const stepsLine = NODO.split('\n').findIndex((l) => l.includes('"steps": 10')) + 1;
  await expect(verdict).toContainText('1 problem');
  await expect(verdict).toContainText('capabilities.steps');
  await expect(verdict).toContainText(`line ${stepsLine}`);
  await expect(page.getByRole('button', { name: 'Try it on Nodo Mini' })).toBeDisabled();
  // the problem's line is a way to it: the editor selects that line
  await page.getByRole('button', { name: `Go to line ${stepsLine} of the draft` }).click();
  const selected = await editor.evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd));
  expect(selected).toContain('"steps": 0');
  await shot(page, 'draft-01-problem');
  await axe(page, 'draft editor');
  await editor.fill(`${NODO}${' '.repeat(50 * 1024)}`);
  await expect(verdict).toContainText('a profile may have at most 49152');
  await editor.fill(NODO);
  await expect(verdict).toContainText('No problems: Nodo Mini cushion, massage cushion, 10 steps.');
  await expect(unguarded).toHaveCount(0);
  await editor.press('End');
  await editor.pressSequentially('}');
  await expect(verdict).toContainText('not valid JSON');
  await editor.press('Backspace');
  await expect(verdict).toContainText('No problems');

  // the try: the stop check first, nothing offered above 3 of 10, Stop stops
  await page.getByRole('button', { name: 'Try it on Nodo Mini' }).click();
  const panel = page.locator('.try-panel');
  await expect(panel.getByRole('heading', { name: 'Trying the draft on Nodo Mini' })).toBeVisible();
  await expect(panel.getByRole('button', { name: 'Run at level 1', exact: true })).toBeDisabled();
  await panel.getByRole('button', { name: 'Run the stop check' }).click();
  await expect(panel.getByRole('button', { name: 'Yes, it stopped' })).toBeVisible({ timeout: 15_000 });
  await panel.getByRole('button', { name: 'Yes, it stopped' }).click();
  for (const k of [1, 2, 3]) await expect(panel.getByRole('button', { name: `Run at level ${k}`, exact: true })).toBeEnabled();
  for (const k of [4, 7, 10]) await expect(panel.getByRole('button', { name: `Run at level ${k}`, exact: true })).toBeDisabled();
  await panel.getByRole('button', { name: 'Run at level 3', exact: true }).click();
  await expect.poll(level, { timeout: 15_000 }).toBe(3);
  await expect(panel.locator('.facts')).toContainText('Reported level3');
  // beside the steps, the bytes of this try: the step 3 frame written, the cushion's status notifications
  const traffic = panel.getByRole('table', { name: 'Notifications and writes' });
  await expect(traffic).toContainText('55 01 01 03 5a');
  await expect(traffic).toContainText(/aa 81 03 01 03/);
  await shot(page, 'draft-02-try');
  await axe(page, 'draft try panel');
  await panel.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect.poll(level, { timeout: 5_000 }).toBe(0);

  // elsewhere the device is marked as the user's draft; back in the lab, the draft and the try are still there
  await page.getByRole('button', { name: 'Devices', exact: true }).click();
  await expect(page.locator('.device-panel')).toContainText('your draft — not verified');
  await page.getByRole('button', { name: 'Device lab', exact: true }).click();
  await expect(editor).toHaveValue(NODO);
  await expect(panel.getByRole('heading', { name: 'Trying the draft on Nodo Mini' })).toBeVisible();

  // saved as the user's profile, then the try ends
  await page.getByRole('button', { name: 'Save as my profile' }).click();
  await expect(page.getByText('Saved as nodo-mini.json in your profiles.')).toBeVisible();
  await page.getByRole('button', { name: 'End the try' }).click();
  await expect(panel).toHaveCount(0);
  await page.getByRole('button', { name: 'Your profiles', exact: true }).click();
  await expect(page.locator('li.profile-file[data-file="nodo-mini.json"]')).toContainText('your profile — not verified');
});
