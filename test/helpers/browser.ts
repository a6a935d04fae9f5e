// A real browser for UI tests: Debian's chromium, headless, driven by playwright-core. Nothing here
// downloads a browser: playwright-core is only the driver, the executable is the system's.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface BrowserOptions {
  /** Trust self-signed certificates (the VCH's and the registry's own CAs are not in the system store). */
  ignoreHttpsErrors?: boolean;
  /** A client certificate to present to an origin that asks for one (mutual TLS). */
  clientCertificates?: Array<{ origin: string; certPath: string; keyPath: string }>;
}

/** Launches chromium once; close() it in the suite's after(). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/install-system.sh installs Debian's chromium`);
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A fresh profile (cookies, storage) for one scenario. */
export function newContext(browser: Browser, options: BrowserOptions = {}): Promise<BrowserContext> {
  return browser.newContext({
    ignoreHTTPSErrors: options.ignoreHttpsErrors ?? true,
    clientCertificates: options.clientCertificates,
    viewport: { width: 1280, height: 800 },
  });
}
