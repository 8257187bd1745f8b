/**
 * The device lab and user profiles end to end (issue 17), in Chromium against the browser
 * host in demo mode: the lab finds the unknown Nodo Mini, shows its GATT table and live
 * notifications, and a capture is downloaded and checked (valid JSON lines, that device
 * alone); the fixture profile dropped into the data folder's profiles/ makes it supported,
 * it passes the stop check and runs the "Upper back" routine at or under the 30% default
 * ceiling (the simulated cushion's level, read on `sim.state`); the broken fixture is
 * refused with its field errors listed under its file name; axe finds no serious or
 * critical violation on the lab and profiles screens. Screenshots of the lab, the profiles
 * screen and the stop check go to test-results/screens.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { axe, hostWithSideClient, screenedThrough, shot, startRoutine, type SimState } from './helpers';

const FIXTURES = join(__dirname, '..', 'fixtures', 'profiles');
const NODO_SERVICE = '4e4f00010000100080004e4f444f0001';
const NODO_NOTIFY = '4e4f00030000100080004e4f444f0001';
const NODO_INFO = '4e4f00040000100080004e4f444f0001';

const start = hostWithSideClient();

test('the lab looks inside the unknown Nodo Mini, and a capture of it alone is downloaded', async ({ page }) => {
  const { host, client } = await start();
  await page.goto(host.url);
  await page.getByRole('button', { name: 'Device lab', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Device lab' })).toBeVisible();
  await page.getByRole('button', { name: 'Scan', exact: true }).click();

  // every advertising device is listed, the unknown one with its services and manufacturer data in hex
  const nodo = page.getByRole('row', { name: /Nodo Mini/ });
  await expect(nodo).toBeVisible();
  await expect(nodo).toContainText(NODO_SERVICE);
  await expect(nodo).toContainText('ff ff 4e 4d 01');
  await expect(nodo).toContainText('unknown');
  await expect(nodo).toContainText(/-\d+ dBm/);
  await expect(page.getByRole('row', { name: /^Pro\b/ })).toBeVisible();
  const listed = await page.locator('tr[data-peripheral]').count();
  expect(listed).toBeGreaterThanOrEqual(4);
  await shot(page, 'lab-01-devices');
  await axe(page, 'lab list');

  await nodo.getByRole('button', { name: 'Look inside Nodo Mini' }).click();
  await expect(page.getByText('Connected, read-only.')).toBeVisible();
  // its GATT table: its own service, Battery and Device Information, with properties and descriptors
  const own = page.locator(`[data-service="${NODO_SERVICE}"]`);
  await expect(own.locator(`tr[data-characteristic="${NODO_NOTIFY}"]`)).toContainText('notify');
  await expect(own.locator(`tr[data-characteristic="${NODO_NOTIFY}"]`)).toContainText('2902');
  await expect(page.locator('[data-service="180f"]')).toBeVisible();
  await expect(page.locator('[data-service="180a"]')).toBeVisible();
  // no control of the lab writes anything
  await expect(page.locator('main').getByRole('button', { name: /write|send/i })).toHaveCount(0);

  await page.getByRole('button', { name: `Read ${NODO_INFO}` }).click();
  await expect(own.locator(`tr[data-characteristic="${NODO_INFO}"]`)).toContainText('4e 4d 2d 31 20 66 77 20 30 2e 33');
  await expect(own.locator(`tr[data-characteristic="${NODO_INFO}"]`)).toContainText('“NM-1 fw 0.3”');
  await page.getByRole('button', { name: `Listen to notifications of ${NODO_NOTIFY}` }).click();
  const log = page.locator('table.lab-log tbody tr');
  await expect.poll(() => log.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
  await expect(log.first()).toContainText('aa 81 03 00 00 40 6e');
  await shot(page, 'lab-02-gatt-and-live-log');
  await axe(page, 'lab inside');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download capture (JSON lines)' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^unknot-capture-Nodo-Mini-.+\.jsonl$/);
  const text = readFileSync(await download.path(), 'utf8');
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines[0]).toMatchObject({ type: 'capture', format: 'unknot-lab-capture' });
  expect(lines[1]).toMatchObject({ type: 'advertisement', name: 'Nodo Mini', manufacturerData: 'ffff4e4d01' });
  const types = new Set(lines.map((l) => l.type));
  for (const type of ['gatt', 'read', 'write', 'notification']) expect(types).toContain(type);
  expect(lines.every((l) => typeof l.t === 'number' && typeof l.at === 'string')).toBe(true);
  // only that device: no other simulated peripheral is named anywhere
  const ids = new Set(lines.map((l) => l.peripheralId).filter(Boolean));
  expect([...ids]).toEqual(['sim-nodo-mini']);
  for (const other of ['Pro', 'EVOLUTION', 'hy1', 'sim-theragun', 'sim-rongtai', 'sim-jieli']) expect(text).not.toContain(other);

  // the lab moved no motor
  const sims = await client.ok<SimState[]>('sim.state');
  expect(sims.find((s) => s.peripheralId === 'sim-nodo-mini')!.state).toMatchObject({ level: 0, running: false, framesReceived: 0 });
});

test('a dropped-in profile makes the Nodo Mini supported: stop check, then "Upper back" at or under 30%; a broken file is refused', async ({ page }) => {
  const { host, client } = await start(['--demo', '--time-scale', '30']);
  mkdirSync(join(host.dataDir, 'profiles'), { recursive: true });
  copyFileSync(join(FIXTURES, 'nodo-mini.json'), join(host.dataDir, 'profiles', 'nodo-mini.json'));
  copyFileSync(join(FIXTURES, 'broken-cushion.json'), join(host.dataDir, 'profiles', 'broken-cushion.json'));
  await page.goto(host.url);
  await screenedThrough(client);

  // the profiles screen: the fixture accepted, the broken file refused with its field errors, named
  await page.getByRole('button', { name: 'Your profiles', exact: true }).click();
  await page.getByRole('button', { name: 'Read the folder again' }).click();
  const good = page.locator('li.profile-file[data-file="nodo-mini.json"]');
  await expect(good).toContainText('your profile — not verified');
  const broken = page.locator('li.profile-file[data-file="broken-cushion.json"]');
  await expect(broken).toContainText('refused');
  const errors = page.getByRole('list', { name: 'Problems in broken-cushion.json' }).getByRole('listitem');
  expect(await errors.count()).toBeGreaterThanOrEqual(2);
  await expect(errors.first().locator('code')).not.toBeEmpty();
  await shot(page, 'profiles-refused-file');
  await axe(page, 'profiles');

  // connect the Nodo Mini: supported now, on the user's profile, and its motor waits for the stop check
  await page.getByRole('button', { name: 'Devices', exact: true }).click();
  await page.getByRole('button', { name: 'Scan', exact: true }).click();
  const group = page.getByRole('group', { name: /^Nodo Mini/ }).first();
  await expect(group).toContainText('your profile — not verified');
  await group.getByRole('button', { name: 'Connect', exact: true }).click();
  await expect(page.getByText(/Connected to/).first()).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Stop check' })).toBeVisible();
  await shot(page, 'device-panel-stop-check');

  const levels: number[] = [];
  let sampling = true;
  const side = client;
  const sampler = (async () => {
    while (sampling && !side.closed) {
      const sims = await side.ok<SimState[]>('sim.state').catch(() => [] as SimState[]);
      if (!sims.length) break;
      levels.push(Number(sims.find((s) => s.peripheralId === 'sim-nodo-mini')!.state.level));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await page.getByRole('button', { name: 'Run the stop check' }).click();
  await expect(page.getByRole('button', { name: 'Yes, it stopped' })).toBeVisible({ timeout: 15_000 });
  await shot(page, 'device-panel-stop-check-asking');
  await page.getByRole('button', { name: 'Yes, it stopped' }).click();
  await expect(page.getByRole('heading', { name: 'Stop check' })).toHaveCount(0);
  // the check ran the lowest step only, and left the cushion off
  expect(Math.max(...levels)).toBe(1);
  expect(levels[levels.length - 1]).toBe(0);

  levels.length = 0;
  await startRoutine(page, 'Upper back');
  await expect(page.getByText('Around the knot').first()).toBeVisible();
  await expect(page.getByText(/drink/i).first()).toBeVisible({ timeout: 40_000 });
  await expect.poll(() => levels[levels.length - 1], { timeout: 10_000 }).toBe(0);
  sampling = false;
  await sampler;
  // it ran, and never above floor(0.3 × 10) = 3
  expect(Math.max(...levels)).toBeGreaterThan(0);
  expect(Math.max(...levels)).toBeLessThanOrEqual(3);
});
