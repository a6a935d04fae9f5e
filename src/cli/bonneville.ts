#!/usr/bin/env node
// `bonneville`: the admin command. Subcommands live in ./commands, one module each.
import { vchServe } from './commands/vch-serve.ts';

const USAGE = `usage: bonneville <command>

commands:
  vch serve [--name N] [--datastore DIR] [--socket PATH] [--accel kvm|tcg] [--memory MiB] [--cpus N]
      run a VCH's Docker endpoint in the foreground
  registry serve --root DIR --listen HOST:PORT [--insecure-http]
      run the registry
`;

async function main(argv: string[]): Promise<void> {
  const [group, verb, ...rest] = argv;
  if (group === 'vch' && verb === 'serve') return vchServe(rest);
  if (group === 'registry' && verb === 'serve') {
    const { registryServe } = await import('./commands/registry-serve.ts');
    return registryServe(rest);
  }
  process.stderr.write(USAGE);
  process.exitCode = group === undefined || group === 'help' || group === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`bonneville: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
