// A network of the test's own for VMs the host agent runs: a Linux bridge with a host address on a
// /24 no route of this host uses yet, and dnsmasq (Debian's dnsmasq-base) serving DHCP on it only —
// no DNS (--port=0), its lease file in a temporary directory. stop() removes all of it. Test code only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class DhcpBridge {
  /** The bridge's name (give it to HostAgent.bridgePortgroup). */
  readonly name: string;
  /** "10.x.y" of the /24. */
  readonly prefix: string;
  private readonly dir: string;
  private dnsmasq?: ChildProcess;
  private log = '';

  private constructor(name: string, prefix: string, dir: string) {
    this.name = name;
    this.prefix = prefix;
    this.dir = dir;
  }

  /** The host's address on the bridge: also the router and DHCP server the leases name. */
  get hostAddress(): string {
    return `${this.prefix}.1`;
  }

  /** Whether an address is in the DHCP range the leases come from. */
  leases(ip: string): boolean {
    const last = Number(ip.split('.')[3]);
    return ip.startsWith(`${this.prefix}.`) && last >= 100 && last <= 150;
  }

  /** What dnsmasq said, for a failing test's message. */
  get dnsmasqLog(): string {
    return this.log;
  }

  static async start(): Promise<DhcpBridge> {
    const name = `bvpub${process.pid % 100000}`;
    const prefix = freePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'bv-dhcp-bridge-'));
    const bridge = new DhcpBridge(name, prefix, dir);
    try {
      execFileSync('ip', ['link', 'add', 'name', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      execFileSync('ip', ['addr', 'add', `${prefix}.1/24`, 'dev', name]);
      execFileSync('ip', ['link', 'set', 'dev', name, 'up']);
      await bridge.serveDhcp();
    } catch (err) {
      await bridge.stop();
      throw err;
    }
    return bridge;
  }

  private serveDhcp(): Promise<void> {
    const dnsmasq = spawn('dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--port=0', '--bind-interfaces', `--interface=${this.name}`,
      '--except-interface=lo', `--dhcp-range=${this.prefix}.100,${this.prefix}.150,255.255.255.0,1h`,
      `--dhcp-leasefile=${join(this.dir, 'leases')}`, `--pid-file=${join(this.dir, 'pid')}`, '--user=root', '--log-facility=-', '--log-dhcp'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    this.dnsmasq = dnsmasq;
    const take = (c: Buffer) => { this.log = (this.log + c.toString()).slice(-8000); };
    dnsmasq.stdout!.on('data', take);
    dnsmasq.stderr!.on('data', take);
    // Serving once it has said so (its DHCP socket is bound by then).
    return new Promise((resolve, reject) => {
      const check = setInterval(() => {
        if (/DHCP, IP range/.test(this.log)) {
          clearInterval(check);
          resolve();
        }
      }, 50);
      dnsmasq.once('exit', (code) => {
        clearInterval(check);
        reject(new Error(`dnsmasq exited (${code}): ${this.log}`));
      });
    });
  }

  async stop(): Promise<void> {
    const dnsmasq = this.dnsmasq;
    if (dnsmasq && dnsmasq.exitCode === null && dnsmasq.signalCode === null) {
      const exited = new Promise((resolve) => dnsmasq.once('exit', resolve));
      dnsmasq.kill('SIGTERM');
      await exited;
    }
    try {
      execFileSync('ip', ['link', 'del', 'dev', this.name], { stdio: 'ignore' });
    } catch { /* never made */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A 10.2xx.y.0/24 that no route of this host covers or is covered by (the other tests' networks). */
function freePrefix(): string {
  const routes = (JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })) as Array<{ dst: string }>)
    .map((r) => r.dst).filter((d) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(d));
  const num = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const clashes = (base: number) => routes.some((r) => {
    const [ip, bits = '32'] = r.split('/');
    const size = 2 ** (32 - Number(bits));
    const start = num(ip) - (num(ip) % size);
    return start < base + 256 && base < start + size;
  });
  for (let i = 0; i < 200; i++) {
    const prefix = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!clashes(num(`${prefix}.0`))) return prefix;
  }
  throw new Error('no free 10.2xx.y.0/24 for the test bridge');
}
