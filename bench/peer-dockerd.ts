// Debian's dockerd (vfs + runc) on private directories, started for a benchmark run and stopped after:
// the peer Bonneville is measured against. It does not touch the host's network (no bridge, no iptables).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pingUnixSocket } from '../test/helpers/vch.ts';

export class PeerDockerd {
  readonly dir = mkdtempSync(join(tmpdir(), 'bonneville-peer-dockerd-'));
  readonly socket = join(this.dir, 'docker.sock');
  private child?: ChildProcess;

  get dockerHost(): string {
    return `unix://${this.socket}`;
  }

  async start(): Promise<void> {
    this.child = spawn('dockerd', ['--storage-driver=vfs', '--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'),
      '--pidfile', join(this.dir, 'dockerd.pid'), '-H', `unix://${this.socket}`, '--bridge=none', '--iptables=false', '--ip6tables=false'],
      { stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (await pingUnixSocket(this.socket)) return;
      if (this.child.exitCode !== null) throw new Error('dockerd exited at start');
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('dockerd did not answer within 60s');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
