#!/usr/bin/env node
// `bonneville`: the admin command. Subcommands live in ./commands, one module each.
import { vchServe } from './commands/vch-serve.ts';

const USAGE = `usage: bonneville <command>

commands:
  vch serve [--name N] [--datastore DIR] [--socket PATH] [--tls-listen HOST:PORT] [--accel kvm|tcg]
            [--memory MiB] [--cpus N] [--boot-timeout S] [--guest DIR] [--standby-clones N]
            [--insecure-registry HOST[:PORT]] [--registry-ca FILE] [--allowed-registry HOST[:PORT]]
            [--dns-server IP[:PORT]] [--tls-cert F --tls-key F (--tls-ca F | --no-tlsverify)]
            [--memory-limit MiB] [--cpu-limit CPUS] [--memory-reservation MiB] [--cpu-shares N]
            [--volume-store [NAME:]DIR]… [--bridge-network-range CIDR] [--log-level info|debug]
            [--backend qemu|vsphere]   vsphere: --target https://USER:PASS@HOST/sdk --thumbprint T
            --compute-resource PATH --image-store DATASTORE[/PATH] [--volume-store DATASTORE/PATH:NAME]…
            [--bridge-network PG] [--tether-uri tcp://HOST:PORT|none]   (--name is the VCH's pool and folder)
      run a VCH's Docker endpoint in the foreground (unix socket; TCP with mutual TLS when asked)
  registry serve --root DIR [--listen HOST:PORT] [--insecure-http] [--tls-cert F --tls-key F]
                 [--tls-hostname NAME] [--admin-password P] [--external-url URL]
                 [--database postgres://…] [--gc-grace-seconds N] [--upload-max-age-seconds N]
                 [--heartbeat-seconds N] [--stale-after-seconds N] [--schedule-check-seconds N]
      run the registry (SQLite metadata by default; several processes may share one PostgreSQL + root)
  portal serve [--listen HOST:PORT] [--registry URL] [--registry-root DIR] [--registry-ca FILE]
               [--vch-home DIR] [--state DIR]
      run the web portal (containers across VCHs, templates, projects; the registry's UI) on HTTPS
VCH lifecycle (vic-machine's role; every verb takes --home DIR, default $BONNEVILLE_HOME or /var/lib/bonneville):
  create --name N [--memory-limit MiB] [--cpu-limit CPUS] [--memory-reservation MiB] [--cpu-shares N]
         [--container-memory MiB] [--container-cpus N] [--image-store DIR] [--volume-store [NAME:]DIR]…
         [--bridge-network-range CIDR] [--dns-server IP]… [--endpoint HOST[:PORT]]
         [--tls-cname NAME]… [--cert F --key F] [--tls-ca F] [--no-tlsverify]
         [--insecure-registry R]… [--registry-ca F]… [--whitelist-registry R]… [--no-instant-clone] [--standby-clones N]
  ls
  inspect --name N [--format json|env]
  configure --name N [limits as for create; 0 lifts one] [--volume-store NAME:DIR]… [--dns-server IP]…
            [--insecure-registry R]… [--registry-ca F]… [--whitelist-registry R]… [--rotate-certificates]
  upgrade --name N [--force]        rollback --name N
  delete --name N [--force] [--remove-volume-stores]
  debug --name N [--log-level debug|info] [--bundle FILE.tar.gz]
  supervise                          the daemon that keeps VCH engines running (started on demand)
`;

const LIFECYCLE: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
  create: async () => (await import('./commands/create.ts')).create,
  ls: async () => (await import('./commands/ls.ts')).ls,
  inspect: async () => (await import('./commands/inspect.ts')).inspect,
  configure: async () => (await import('./commands/configure.ts')).configure,
  upgrade: async () => (await import('./commands/upgrade.ts')).upgrade,
  rollback: async () => (await import('./commands/upgrade.ts')).rollback,
  delete: async () => (await import('./commands/delete.ts')).deleteCommand,
  debug: async () => (await import('./commands/debug.ts')).debug,
  supervise: async () => (await import('./commands/supervise.ts')).supervise,
};

async function main(argv: string[]): Promise<void> {
  const [group, verb, ...rest] = argv;
  if (group === 'vch' && verb === 'serve') return vchServe(rest);
  if (group !== undefined && Object.hasOwn(LIFECYCLE, group)) return (await LIFECYCLE[group]())(argv.slice(1));
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
