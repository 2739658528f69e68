import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (installed by .ci/run when missing); playwright never downloads one here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * A real headless Chromium for the hosted pages, one per test file (playwright gives each
 * launch a fresh temporary profile). Close it in afterAll.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}
