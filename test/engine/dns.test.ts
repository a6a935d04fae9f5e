// The VCH's DNS resolver with real container VMs and busybox's nslookup (which asks DNS, never
// /etc/hosts): peers by name and alias on a user network, outside names forwarded to the VCH's
// --dns-server (a fake upstream on loopback), --dns/--dns-search/--dns-option, internal networks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestVch } from '../helpers/vch.ts';
import { FakeUpstreamDns } from '../helpers/fake-dns.ts';

const upstream = new FakeUpstreamDns({ 'outside.test': '192.0.2.7' });
let vch: TestVch;

before(async () => {
  await upstream.start();
  vch = new TestVch('dns', ['--dns-server', upstream.address]);
  await vch.startWithBusybox();
});

after(async () => {
  await vch?.destroy();
  upstream.stop();
});

function ok(args: string[]): Promise<string> {
  return vch.ok(args);
}

test('containers resolve peers by name and alias, and outside names, through the resolver on their gateway', async () => {
  await ok(['network', 'create', '--subnet', '10.89.77.0/24', 'dnsnet']);
  await ok(['run', '-d', '--network', 'dnsnet', '--name', 'web', '--network-alias', 'www', 'busybox', 'sleep', '300']);
  const webIp = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.dnsnet.IPAddress}}', 'web'])).trim();
  const out = await ok(['run', '--rm', '--network', 'dnsnet', 'busybox', 'sh', '-c',
    'cat /etc/resolv.conf; for n in web www outside.test; do nslookup -type=a $n; done']);
  assert.match(out, /^nameserver 10\.89\.77\.1$/m);
  const addresses = [...out.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]).filter((a) => !a.includes(':53') && a !== '10.89.77.1');
  assert.deepEqual(addresses, [webIp, webIp, '192.0.2.7'], out);
  assert.ok(upstream.asked.includes('outside.test'));
  assert.ok(!upstream.asked.includes('web'), 'container names stay inside the VCH');
  await ok(['rm', '-f', 'web']);
});

test('--dns, --dns-search and --dns-option write the container\'s resolv.conf', async () => {
  const out = await ok(['run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'corp.test', '--dns-option', 'ndots:2', 'busybox', 'cat', '/etc/resolv.conf']);
  assert.equal(out, 'nameserver 192.0.2.53\nsearch corp.test\noptions ndots:2\n');
  const bad = await vch.docker(['run', '--rm', '--dns', 'resolver.example', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
});

test('an internal network resolves its members but nothing outside', async () => {
  await ok(['network', 'create', '--internal', '--subnet', '10.89.78.0/24', 'sealed']);
  await ok(['run', '-d', '--network', 'sealed', '--name', 'db', 'busybox', 'sleep', '300']);
  const out = await vch.docker(['run', '--rm', '--network', 'sealed', 'busybox', 'sh', '-c', 'nslookup -type=a db; echo ---; nslookup -type=a outside.test; echo "rc=$?"']);
  const [inside, outside] = out.stdout.split('---');
  assert.match(inside, /Address:\s*10\.89\.78\.\d+/);
  assert.doesNotMatch(outside, /192\.0\.2\.7/);
  assert.match(outside, /rc=1/);
  await ok(['rm', '-f', 'db']);
});
