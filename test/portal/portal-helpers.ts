// Shared by the portal's browser suites: calling the portal's API with Basic credentials or a
// Bearer token, logging a browser in, and polling.
import { request } from 'node:https';
import type { BrowserContext, Page } from 'playwright-core';

export type Auth = [string, string] | { bearer: string };

/** The portal's API from the test. */
export function callApi(portalUrl: string, method: string, path: string, auth: Auth | null, body?: unknown): Promise<{ status: number; json: any }> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = data ? { 'Content-Type': 'application/json' } : {};
  if (Array.isArray(auth)) headers.Authorization = `Basic ${Buffer.from(auth.join(':')).toString('base64')}`;
  else if (auth) headers.Authorization = `Bearer ${auth.bearer}`;
  return new Promise((resolve, reject) => {
    const req = request(`${portalUrl}/api${path}`, { method, rejectUnauthorized: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any = null;
        try { json = text ? JSON.parse(text) : null; } catch { json = { unparsed: text }; }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Polls until `check` holds. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A page logged in as `user`; the nav's Registry link shows the app is up. The browser is isolated from
 * the host's network changes (test/helpers/browser.ts); should a load still fail at the network level,
 * logging in is tried again on a fresh page (chromium's error page reloads itself and would race a
 * retry on the same page), and every attempt's failure is reported.
 */
export async function login(context: BrowserContext, portalUrl: string, user: [string, string]): Promise<Page> {
  const failures: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    try {
      await page.goto(portalUrl);
      await page.getByLabel('User name').fill(user[0], { timeout: 20_000 });
      await page.getByLabel('Password').fill(user[1]);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('link', { name: 'Registry' }).waitFor({ timeout: 20_000 });
      return page;
    } catch (err) {
      const message = (err as Error).message.split('\n')[0];
      failures.push(`attempt ${attempt}: ${message}`);
      await page.close();
      if (!/net::ERR_|interrupted by another navigation/.test(message)) break;
    }
  }
  throw new Error(`could not log in as ${user[0]}:\n${failures.join('\n')}`);
}
