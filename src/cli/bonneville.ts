#!/usr/bin/env node
// `bonneville`: the admin command. Subcommands live in ./commands, one module each.
import { vchServe } from './commands/vch-serve.ts';

const USAGE = `usage: bonneville <command>

commands:
  vch serve [--name N] [--datastore DIR] [--socket PATH] [--tls-listen HOST:PORT] [--accel kvm|tcg]
            [--memory MiB] [--cpus N] [--boot-timeout S] [--guest DIR]
            [--insecure-registry HOST[:PORT]] [--registry-ca FILE] [--allowed-registry HOST[:PORT]]
            [--dns-server IP[:PORT]]
      run a VCH's Docker endpoint in the foreground (unix socket; TCP with mutual TLS when asked)
  registry serve --root DIR [--listen HOST:PORT] [--insecure-http] [--tls-cert F --tls-key F]
                 [--tls-hostname NAME] [--admin-password P] [--external-url URL]
                 [--database postgres://…] [--gc-grace-seconds N] [--upload-max-age-seconds N]
                 [--heartbeat-seconds N] [--stale-after-seconds N] [--schedule-check-seconds N]
      run the registry (SQLite metadata by default; several processes may share one PostgreSQL + root)
  portal serve [--listen HOST:PORT] [--registry URL] [--registry-root DIR] [--registry-ca FILE]
               [--vch-home DIR] [--state DIR]
      run the web portal (containers across VCHs, templates, projects; the registry's UI) on HTTPS
`;

async function main(argv: string[]): Promise<void> {
  const [group, verb, ...rest] = argv;
  if (group === 'vch' && verb === 'serve') return vchServe(rest);
  if (group === 'registry' && verb === 'serve') {
    const { registryServe } = await import('./commands/registry-serve.ts');
    return registryServe(rest);
  }
  if (group === 'portal' && verb === 'serve') {
    const { portalServe } = await import('./commands/portal-serve.ts');
    return portalServe(rest);
  }
  process.stderr.write(USAGE);
  process.exitCode = group === undefined || group === 'help' || group === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`bonneville: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
