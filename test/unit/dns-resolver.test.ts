// The VCH's resolver without a VM: container names answered from the records, the rest forwarded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { DnsResolver, hostUpstreams, parseUpstream } from '../../src/portlayer/networks/dns-resolver.ts';
import { FakeUpstreamDns } from '../helpers/fake-dns.ts';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const upstream = new FakeUpstreamDns({ 'outside.test': '192.0.2.7' });
let resolver: DnsResolver;

before(async () => {
  await upstream.start();
  resolver = new DnsResolver({
    upstreams: [parseUpstream(upstream.address)],
    lookup: (net, name) => (net === 'n1' && name === 'web' ? ['172.18.0.2', '172.18.0.3'] : undefined),
  });
});

after(() => upstream.stop());

/** dns-packet decodes the response code as `rcode`; its types do not declare it. */
function decode(bytes: Buffer | undefined): ReturnType<typeof dnsPacket.decode> & { rcode: string } {
  return dnsPacket.decode(bytes!) as ReturnType<typeof dnsPacket.decode> & { rcode: string };
}

function ask(name: string, type: 'A' | 'AAAA' = 'A', id = 42): Buffer {
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
}

test('container names are answered from the records, case-insensitively, every address', async () => {
  const reply = decode(await resolver.answer('n1', false, ask('WEB.')));
  assert.equal(reply.id, 42);
  assert.equal(reply.rcode, 'NOERROR');
  assert.deepEqual(reply.answers!.map((a) => (a as { data: string }).data), ['172.18.0.2', '172.18.0.3']);
  const aaaa = decode(await resolver.answer('n1', false, ask('web', 'AAAA')));
  assert.equal(aaaa.rcode, 'NOERROR');
  assert.equal(aaaa.answers!.length, 0);
  assert.ok(!upstream.asked.includes('web'), 'a container name never leaves the VCH');
});

test('other names are forwarded; an internal network gets NXDOMAIN without asking outside', async () => {
  const reply = decode(await resolver.answer('n1', false, ask('outside.test', 'A', 7)));
  assert.equal(reply.id, 7);
  assert.deepEqual(reply.answers!.map((a) => (a as { data: string }).data), ['192.0.2.7']);
  const before = upstream.asked.length;
  const internal = decode(await resolver.answer('n1', true, ask('outside.test')));
  assert.equal(internal.rcode, 'NXDOMAIN');
  assert.equal(upstream.asked.length, before);
  // Names of containers on other networks are not this network's.
  const other = decode(await resolver.answer('n2', false, ask('web')));
  assert.equal(other.rcode, 'NXDOMAIN');
});

test('garbage is ignored; a silent upstream is SERVFAIL', async () => {
  assert.equal(await resolver.answer('n1', false, Buffer.from('not dns')), undefined);
  const silent = new DnsResolver({ upstreams: [{ host: '127.0.0.1', port: 9 }], lookup: () => undefined, upstreamTimeoutMs: 200 });
  const reply = decode(await silent.answer('n1', false, ask('outside.test')));
  assert.equal(reply.rcode, 'SERVFAIL');
});

test('upstreams: the host resolv.conf IPv4 nameservers; IP[:PORT] parsing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'resolv-'));
  try {
    writeFileSync(join(dir, 'resolv.conf'), '# x\nnameserver 10.0.0.2\nnameserver ::1\nsearch lan\nnameserver 10.0.0.3\n');
    assert.deepEqual(hostUpstreams(join(dir, 'resolv.conf')), [{ host: '10.0.0.2', port: 53 }, { host: '10.0.0.3', port: 53 }]);
    assert.deepEqual(hostUpstreams(join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.throws(() => parseUpstream('resolver.example'));
});
