/**
 * Shared steps of the end-to-end tests: reading the simulated Theragun's rpm from the
 * "Simulated devices" panel, pairing, answering the screening, starting a routine.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { HostClient } from '../unit/helpers/ws-client';
import { startHost, type RunningHost } from './host';

export const SHOTS = 'test-results/screens';

/** The rpm the simulated gun reports in the panel ("Motor: N rpm"), or null when not shown. */
export async function simRpm(page: Page): Promise<number | null> {
  const text = await page.getByRole('region', { name: 'Simulated devices' }).innerText();
  const m = text.match(/Motor:\s*(\d+)\s*rpm/);
  return m ? Number(m[1]) : null;
}

/** The readout block of one simulated device (by its advertised name) in the panel. */
export async function simReadout(page: Page, name: RegExp): Promise<string> {
  const region = page.getByRole('region', { name: 'Simulated devices' });
  const text = await region.innerText();
  const lines = text.split('\n');
  const start = lines.findIndex((l) => name.test(l));
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /Inject a fault/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** Scans and connects the first device whose name matches. */
export async function scanAndConnect(page: Page, name: RegExp): Promise<void> {
  await page.getByRole('button', { name: 'Scan', exact: true }).click();
  const group = page.getByRole('group', { name }).first();
  await expect(group).toBeVisible();
  await group.getByRole('button', { name: 'Connect', exact: true }).click();
  await expect(page.getByText(/Connected to/).first()).toBeVisible();
}

/** Answers the screening questions shown on the page with "No" and acknowledges the notice. */
export async function answerScreeningNo(page: Page): Promise<void> {
  for (const q of [/pregnant/i, /heart/i, /blood pressure/i, /implant|pacemaker/i, /epilep/i]) {
    const g = page.getByRole('group', { name: q });
    if (await g.count()) await g.first().getByRole('radio', { name: 'No' }).check();
  }
  const ack = page.getByRole('button', { name: 'I understand' });
  if (await ack.count()) await ack.first().click();
}

/** Opens a routine by its button name on the Routines screen. */
export async function openRoutine(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: 'Routines', exact: true }).click();
  await page.getByRole('button', { name, exact: true }).click();
}

/** Opens a routine, answers the screening "No" (where asked) and presses Start. */
export async function startRoutine(page: Page, name: string): Promise<void> {
  await openRoutine(page, name);
  await answerScreeningNo(page);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
}

/** Runs axe (WCAG 2 A/AA) on the page and fails on serious or critical violations, naming `screen`. */
export async function axe(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${screen}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** A full-page screenshot from the top, as `test-results/screens/<name>.png`. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

/** Every screening question answered "no" (what a test user says). */
export const SCREENING_ALL_NO = { pregnant: false, 'heart-condition': false, 'high-blood-pressure': false, implant: false, epilepsy: false };

/** One simulated peripheral as `sim.state` reports it. */
export interface SimState {
  peripheralId: string;
  name: string;
  state: Record<string, number | string | boolean>;
}

/**
 * For a spec file: `start(args)` starts the browser host (`startHost`) and a second client
 * of it, for what a test reads or sets beside the page (`sim.state`, the screening); both
 * are stopped after each test. Call once at the top level of the spec.
 */
export function hostWithSideClient(): (args?: string[]) => Promise<{ host: RunningHost; client: HostClient }> {
  let host: RunningHost | undefined;
  let client: HostClient | undefined;
  test.afterEach(async () => {
    client?.close();
    client = undefined;
    await host?.stop();
    host = undefined;
  });
  return async (args = ['--demo']) => {
    host = await startHost(args);
    const u = new URL(host.url);
    client = await HostClient.open(Number(u.port), u.searchParams.get('token')!);
    return { host, client };
  };
}

/** Answers the screening "no" and acknowledges the doctor notice through `client` (the page then needs neither). */
export async function screenedThrough(client: HostClient): Promise<void> {
  await client.ok('screening.set', { answers: SCREENING_ALL_NO });
  await client.ok('settings.set', { doctorNoticeAcknowledged: true });
}
