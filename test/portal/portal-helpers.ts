// Shared by the portal's browser suites: the rig they run against, calling the portal's API with Basic
// credentials or a Bearer token, logging a browser in, and polling.
import { request } from 'node:https';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.ts';
import { TestVch, repoRoot } from '../helpers/vch.ts';
import { startTestRegistry, type TestRegistry } from '../registry/helpers.ts';
import type { RegistryOptions } from '../../src/registry/index.ts';
import { startPortal, type RunningPortal } from '../../src/portal/main.ts';
import { buildPortalUi } from '../../src/portal/build-ui.ts';

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

/**
 * What a portal browser suite runs against: a registry, optionally a VCH the portal manages (listed in
 * its VCH home under its name, trusting the registry's CA), the portal with its UI built into the
 * suite's work directory, and an isolated browser. `stop` tears all of it down.
 */
export class PortalRig {
  readonly work: string;
  readonly docs = join(repoRoot, 'docs');
  registry!: TestRegistry;
  vch?: TestVch;
  portal!: RunningPortal;
  browser!: Browser;
  private port = 0;
  private readonly options: PortalRigOptions;

  private constructor(options: PortalRigOptions) {
    this.options = options;
    this.work = mkdtempSync(join(tmpdir(), `bonneville-portal-${options.name}-`));
  }

  static async start(options: PortalRigOptions): Promise<PortalRig> {
    const rig = new PortalRig(options);
    try {
      rig.registry = await startTestRegistry({ insecureHttp: false, ...options.registry });
      mkdirSync(join(rig.work, 'vchs'));
      if (options.vch) {
        rig.vch = new TestVch(options.vch.name, [...(options.vch.args ?? []), '--registry-ca', rig.registry.registry.caCertPath!]);
        await rig.vch.startWithBusybox();
        // The VCH home is a directory of VCH datastores by name, as /var/lib/bonneville is.
        symlinkSync(rig.vch.datastore, join(rig.work, 'vchs', options.vch.name));
      }
      await buildPortalUi(join(rig.work, 'ui'));
      await rig.startPortal();
      rig.browser = await launchBrowser();
      mkdirSync(rig.docs, { recursive: true });
      return rig;
    } catch (err) {
      await rig.stop();
      throw err;
    }
  }

  get url(): string {
    return this.portal.url;
  }

  /** (Re)starts the portal on the same state and, after the first start, the same port (a browser's cookie is per origin). */
  async startPortal(): Promise<void> {
    this.portal = await startPortal({ listen: `127.0.0.1:${this.port}`, registryUrl: this.registry.url, registryRoot: join(this.registry.dir, 'root'),
      vchHome: join(this.work, 'vchs'), stateDir: join(this.work, 'state'), uiDir: join(this.work, 'ui'), sampleIntervalMs: this.options.sampleIntervalMs });
    this.port = Number(new URL(this.portal.url).port);
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await this.portal?.close();
    await this.vch?.destroy();
    await this.registry?.stop();
    rmSync(this.work, { recursive: true, force: true });
  }
}

export interface PortalRigOptions {
  /** Names the work directory. */
  name: string;
  registry?: Partial<RegistryOptions>;
  vch?: { name: string; args?: string[] };
  sampleIntervalMs?: number;
}
