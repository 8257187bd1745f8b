import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests: Debian's Chromium drives the browser host in demo mode. Each test
 * starts its own host with its own temporary data folder (see test/e2e/host.ts).
 */
export default defineConfig({
  testDir: 'test/e2e',
  outputDir: 'test-results/e2e',
  timeout: 90_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'],
    },
    viewport: { width: 1280, height: 860 },
    trace: 'off',
  },
});
