// Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port>, filesystem storage in a
// temp dir, optionally behind htpasswd (Basic) authentication. For replication tests and the benchmark.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './postgres.ts';

export interface DockerRegistry { url: string; stop(): Promise<void> }

export async function startDockerRegistry(opts: { user?: string; password?: string } = {}): Promise<DockerRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-docker-registry-'));
  const port = await freePort();
  let auth = '';
  if (opts.user) {
    const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', opts.user, opts.password ?? '']);
    await writeFile(join(dir, 'htpasswd'), stdout);
    auth = `auth:\n  htpasswd:\n    realm: test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  const config = join(dir, 'config.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n` +
    `  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
    await rm(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ([200, 401].includes((await fetch(`${url}/v2/`)).status)) break; } catch { /* not up yet */ }
    if (i > 100 || child.exitCode !== null) { await stop(); throw new Error('docker-registry did not start'); }
    await sleep(100);
  }
  return { url, stop };
}
