// Registries as child processes (src/registry/main.ts), for crash and multi-process tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { ADMIN_PASSWORD } from './helpers.ts';

const main = new URL('../../src/registry/main.ts', import.meta.url).pathname;

export interface RegistryProcess { child: ChildProcess; url: string; output: () => string }

export async function spawnRegistry(root: string, extraArgs: string[] = []): Promise<RegistryProcess> {
  const child = spawn(process.execPath, [main, '--root', root, '--listen', '127.0.0.1:0', '--insecure-http', '--admin-password', ADMIN_PASSWORD, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (c) => { out += c; });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`registry exited early (${code}): ${out}`)));
  });
  return { child, url, output: () => out };
}

export async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
