// `node src/registry/main.ts --root DIR --listen HOST:PORT [--insecure-http] [--tls-cert F --tls-key F] [--admin-password P]
//    [--database postgres://…] [--gc-grace-seconds N] [--upload-max-age-seconds N]
//    [--heartbeat-seconds S] [--stale-after-seconds S] [--schedule-check-seconds S] [--allow-internal-webhooks]
//    [--headers-timeout-seconds S] [--idle-timeout-seconds S]`
// The database URL may also come from BONNEVILLE_REGISTRY_DATABASE (keeps its password out of `ps`).
import { parseArgs } from 'node:util';
import { startRegistry } from './index.ts';

export async function registryServe(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      root: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:5000' },
      'insecure-http': { type: 'boolean', default: false },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-hostname': { type: 'string', multiple: true },
      'admin-password': { type: 'string' },
      'external-url': { type: 'string' },
      database: { type: 'string' },
      'gc-grace-seconds': { type: 'string' },
      'upload-max-age-seconds': { type: 'string' },
      'heartbeat-seconds': { type: 'string' },
      'stale-after-seconds': { type: 'string' },
      'schedule-check-seconds': { type: 'string' },
      'allow-internal-webhooks': { type: 'boolean', default: false },
      'headers-timeout-seconds': { type: 'string' },
      'idle-timeout-seconds': { type: 'string' },
    },
  });
  if (!values.root) throw new Error('--root DIR is required');
  if (!!values['tls-cert'] !== !!values['tls-key']) throw new Error('--tls-cert and --tls-key go together');
  const registry = await startRegistry({
    root: values.root, listen: values.listen, insecureHttp: values['insecure-http'],
    tlsCert: values['tls-cert'], tlsKey: values['tls-key'], tlsHostnames: values['tls-hostname'],
    adminPassword: values['admin-password'] ?? process.env.BONNEVILLE_REGISTRY_ADMIN_PASSWORD, externalUrl: values['external-url'],
    database: values.database ?? process.env.BONNEVILLE_REGISTRY_DATABASE,
    gcGraceSeconds: seconds(values['gc-grace-seconds'], '--gc-grace-seconds'),
    uploadMaxAgeSeconds: seconds(values['upload-max-age-seconds'], '--upload-max-age-seconds'),
    heartbeatSeconds: fraction(values['heartbeat-seconds'], '--heartbeat-seconds'),
    staleAfterSeconds: fraction(values['stale-after-seconds'], '--stale-after-seconds'),
    scheduleCheckSeconds: fraction(values['schedule-check-seconds'], '--schedule-check-seconds'),
    allowInternalWebhooks: values['allow-internal-webhooks'],
    headersTimeoutSeconds: fraction(values['headers-timeout-seconds'], '--headers-timeout-seconds'),
    idleTimeoutSeconds: fraction(values['idle-timeout-seconds'], '--idle-timeout-seconds'),
  });
  process.stdout.write(`registry listening on ${registry.url}\n`);
  if (registry.caCertPath) process.stdout.write(`CA certificate: ${registry.caCertPath}\n`);
  // Never the password itself: stdout usually ends up in a log file.
  if (registry.adminPasswordFile) process.stdout.write(`admin password (generated) in: ${registry.adminPasswordFile}\n`);
  const stop = () => { void registry.close().then(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function seconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`${flag} wants a whole number of seconds`);
  return Number(v);
}

function fraction(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new Error(`${flag} wants a number of seconds`);
  return Number(v);
}

if (import.meta.main) {
  registryServe(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`registry: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
