// `bonneville portal serve`: the web portal (Admiral's container management and Harbor's registry UI)
// on HTTPS with a certificate from the registry's CA, users from the registry's user store.
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortalStore } from './store.ts';
import { HostInventory } from './hosts.ts';
import { RegistryClient } from './registry-client.ts';
import { Sessions } from './sessions.ts';
import { Portal } from './portal.ts';
import { createPortalServer } from './server.ts';
import { ensureCa, issueServerCertificate, subjectAltNames } from '../pki/certificates.ts';
import { buildPortalUi } from './build-ui.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface PortalOptions {
  listen: string;
  registryUrl: string;
  /** The registry's root: its tls/ CA signs the portal's certificate and is trusted for registry calls. */
  registryRoot?: string;
  registryCa?: string;
  vchHome: string;
  stateDir: string;
  uiDir?: string;
  sampleIntervalMs?: number;
}

export interface RunningPortal { url: string; caCertPath: string; close: () => Promise<void> }

export async function startPortal(o: PortalOptions): Promise<RunningPortal> {
  const m = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(o.listen);
  if (!m) throw new Error(`--listen wants HOST:PORT, got ${o.listen}`);
  const host = m[1] ?? m[2];
  // The certificate: from the registry's CA when we have its key (same machine), else the portal's own CA.
  const registryTls = o.registryRoot ? join(o.registryRoot, 'tls') : undefined;
  const ca = registryTls && existsSync(join(registryTls, 'ca.key'))
    ? await ensureCa(registryTls, 'Bonneville Registry CA', { cert: 'ca.crt', key: 'ca.key' })
    : await ensureCa(join(o.stateDir, 'tls'), 'Bonneville Portal CA');
  const issued = await issueServerCertificate(ca, join(o.stateDir, 'tls'), subjectAltNames([host].filter((h) => h !== '0.0.0.0' && h !== '::')), { cert: 'portal.crt', key: 'portal.key' });
  const registryCa = o.registryCa ?? (o.registryRoot && existsSync(join(o.registryRoot, 'tls', 'ca.crt')) ? join(o.registryRoot, 'tls', 'ca.crt') : undefined);
  const registry = new RegistryClient(o.registryUrl, registryCa ? readFileSync(registryCa) : undefined);
  const store = new PortalStore(o.stateDir);
  const portal = new Portal({ store, hosts: new HostInventory(o.vchHome, store), registry, sessions: new Sessions(registry, store) });
  const uiDir = o.uiDir ?? join(repoRoot, 'build', 'portal');
  if (!existsSync(join(uiDir, 'index.html'))) await buildPortalUi(uiDir);
  const { server, close } = createPortalServer({ portal, uiDir, tls: { cert: readFileSync(issued.cert), key: readFileSync(issued.key) }, sampleIntervalMs: o.sampleIntervalMs });
  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(Number(m[3]), host, () => res()); });
  const addr = server.address() as { port: number };
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `https://${shown}:${addr.port}`,
    caCertPath: ca.cert,
    close: async () => {
      close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      store.close();
    },
  };
}

export async function portalServe(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:8282' },
      registry: { type: 'string', default: 'https://127.0.0.1:5443' },
      'registry-root': { type: 'string', default: '/var/lib/bonneville/registry' },
      'registry-ca': { type: 'string' },
      'vch-home': { type: 'string', default: '/var/lib/bonneville' },
      state: { type: 'string', default: '/var/lib/bonneville/portal' },
    },
  });
  // The state (database with its WAL, keys) is root's alone, whatever the caller's umask.
  process.umask(0o077);
  const portal = await startPortal({ listen: values.listen!, registryUrl: values.registry!, registryRoot: values['registry-root'],
    registryCa: values['registry-ca'], vchHome: values['vch-home']!, stateDir: values.state! });
  process.stdout.write(`portal listening on ${portal.url}\nCA certificate: ${portal.caCertPath}\n`);
  const stop = () => { void portal.close().then(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
