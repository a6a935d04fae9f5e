// Published ports on vSphere, for real: a VCH with --public-network DC0_DVPG1 against vcsim, the test
// host agent running the container VMs in QEMU with their NICs on that port group joined to a bridge
// this test makes, dnsmasq serving DHCP there (test/helpers/dhcp-bridge.ts). A container that
// publishes ports gets its public address from that DHCP server; `docker port` shows it with the host
// port, and an HTTP fetch from this host to it reaches busybox httpd inside — -p and -P.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { VcsimWithGuests, freePort } from '../../helpers/vsphere-guests.ts';
import { DhcpBridge } from '../../helpers/dhcp-bridge.ts';
import { TestVch } from '../../helpers/vch.ts';
import type { VchPlacement } from '../../../src/backends/vsphere/vch-pool.ts';

const VCH = 'vch-public';
const PUBLIC = 'DC0_DVPG1';
let host: VcsimWithGuests;
let placement: VchPlacement;
let vch: TestVch;
let bridge: DhcpBridge;

function context(): string {
  return `${host.context()}\nengine: ${vch.engineLog.slice(-3000)}\ndnsmasq: ${bridge.dnsmasqLog.slice(-1500)}`;
}

before(async () => {
  bridge = await DhcpBridge.start();
  host = await VcsimWithGuests.start();
  await host.agent.bridgePortgroup(PUBLIC, bridge.name);
  ({ vch, placement } = await host.startVch(VCH, ['--public-network', PUBLIC]));
});

after(async () => {
  await host?.stopVch(vch, placement);
  await host?.stop();
  await bridge?.stop();
});

/** A docker command that boots a VM: under TCG on a loaded host that takes minutes. */
async function slow(args: string[]): Promise<string> {
  const r = await vch.docker(args, { timeoutMs: 900_000 });
  assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n${context()}`);
  return r.stdout;
}

/** GET over HTTP from this host; undefined while nothing answers. */
async function fetchText(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/** Polls (a bounded number of attempts) until the page answers. */
async function fetchEventually(url: string): Promise<string> {
  for (let i = 0; i < 120; i++) {
    const text = await fetchText(url);
    if (text !== undefined) return text;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.fail(`nothing answered at ${url}\n${context()}`);
}

/** `docker port NAME PORT` → "ip:port", checked to be a lease of the test's DHCP server. */
async function publicEndpoint(name: string, port: string): Promise<{ ip: string; port: number }> {
  const line = (await vch.ok(['port', name, port])).trim().split('\n')[0];
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(line);
  assert.ok(m, `docker port ${name} ${port}: ${line}\n${context()}`);
  assert.ok(bridge.leases(m[1]), `${m[1]} is not from the public network's DHCP range (${bridge.prefix}.100-150)\n${context()}`);
  return { ip: m[1], port: Number(m[2]) };
}

test('docker run -d -p HOSTPORT:80 serves on the container\'s public address; docker port and inspect show it, also after an engine restart', { timeout: 1_800_000 }, async () => {
  const hostPort = await freePort();
  const serve = 'mkdir -p /www && echo "served from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www';
  await slow(['run', '-d', '--name', 'web', '-p', `${hostPort}:80`, 'busybox', 'sh', '-c', serve]);
  const hostname = (await vch.ok(['inspect', '--format', '{{.Config.Hostname}}', 'web'])).trim();
  const endpoint = await publicEndpoint('web', '80/tcp');
  assert.equal(endpoint.port, hostPort, 'the host port asked for');
  const bindings = JSON.parse(await vch.ok(['inspect', '--format', '{{json .NetworkSettings.Ports}}', 'web'])) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
  assert.deepEqual(bindings['80/tcp'], [{ HostIp: endpoint.ip, HostPort: String(hostPort) }]);
  assert.equal(await fetchEventually(`http://${endpoint.ip}:${hostPort}/index.html`), `served from ${hostname}\n`);
  // Two NICs: the bridge network's and, last, the public one (the agent bridged only that one).
  const web = host.agent.started.find((s) => s.vm.startsWith('web-'));
  assert.equal(web?.args.filter((a) => a.startsWith('vmxnet3,')).length, 2, 'a bridge NIC and a public NIC');
  assert.equal(web?.args.filter((a) => a.startsWith('tap,')).length, 1, 'only the public NIC on the test bridge');
  // A new engine learns the address again from the tether's HELLO once the VM's line reconnects.
  await vch.killEngine();
  vch = new TestVch(VCH, host.engineArgs(['--public-network', PUBLIC]), vch.dir);
  await vch.start();
  const shown = `${endpoint.ip}:${hostPort}`;
  for (let i = 0; i < 120 && (await vch.docker(['port', 'web', '80'])).stdout.trim() !== shown; i++) await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await vch.ok(['port', 'web', '80'])).trim(), shown, `after an engine restart\n${context()}`);
  assert.equal(await fetchEventually(`http://${endpoint.ip}:${hostPort}/index.html`), `served from ${hostname}\n`);
  await slow(['rm', '-f', 'web']);
});

test('docker run -P: an exposed port gets a host port, served on the public address', { timeout: 1_800_000 }, async () => {
  const serve = 'mkdir -p /www && echo published-all > /www/index.html && exec httpd -f -p 81 -h /www';
  await slow(['run', '-d', '--name', 'all', '-P', '--expose', '81', 'busybox', 'sh', '-c', serve]);
  const endpoint = await publicEndpoint('all', '81');
  assert.ok(endpoint.port > 0 && endpoint.port !== 81, `a host port of its own: ${endpoint.port}`);
  assert.equal(await fetchEventually(`http://${endpoint.ip}:${endpoint.port}/index.html`), 'published-all\n');
  const ps = await vch.ok(['ps', '--format', '{{.Ports}}', '--filter', 'name=all']);
  assert.match(ps, new RegExp(`${endpoint.ip.replaceAll('.', '\\.')}:${endpoint.port}->81/tcp`));
  await slow(['rm', '-f', 'all']);
});
