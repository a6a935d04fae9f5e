// `docker network connect/disconnect` on running containers, with the real docker CLI against a real
// VCH: the VM's spare NIC is joined to a tap on the network's bridge over QMP and configured by the
// tether; peers find the container by name and alias (hosts file and the VCH's resolver).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestVch } from '../helpers/vch.ts';

const vch = new TestVch('nethotplug');

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
});

async function ok(args: string[]): Promise<string> {
  return (await vch.ok(args)).trim();
}

// Pings that must get through send once a second until the first reply (-w 30): a first packet may go
// while the fresh NIC's neighbours are still being resolved, and TCG guests on a loaded host are slow.
test('a running container joins a network with an alias and a fixed address, is found by both, and leaves it', async () => {
  await ok(['network', 'create', '--subnet', '10.231.7.0/24', 'hot1']);
  await ok(['run', '-d', '--name', 'alpha', 'busybox', 'sleep', '1000']);
  await ok(['run', '-d', '--name', 'beta', '--network', 'hot1', 'busybox', 'sleep', '1000']);

  await ok(['network', 'connect', '--alias', 'web', '--ip', '10.231.7.50', 'hot1', 'alpha']);
  assert.match(await ok(['exec', 'alpha', 'ip', '-4', 'addr']), /inet 10\.231\.7\.50\/24/);
  const [inspect] = JSON.parse(await ok(['inspect', 'alpha']));
  assert.equal(inspect.NetworkSettings.Networks.hot1.IPAddress, '10.231.7.50');
  assert.ok(inspect.NetworkSettings.Networks.hot1.Aliases.includes('web'));
  // Its default route stays on its first network.
  assert.match(await ok(['exec', 'alpha', 'ip', 'route']), /^default via 172\.|\ndefault via 172\./);

  // b finds a by alias and by name, through the resolver and through its hosts file; a finds b.
  assert.match(await ok(['exec', 'beta', 'nslookup', 'web']), /Address:? 10\.231\.7\.50/);
  assert.match(await ok(['exec', 'beta', 'cat', '/etc/hosts']), /10\.231\.7\.50\talpha .*web/);
  await ok(['exec', 'beta', 'ping', '-c', '1', '-w', '30', 'web']);
  await ok(['exec', 'alpha', 'ping', '-c', '1', '-w', '30', 'beta']);
  // (alpha's resolver is the default bridge's, which, as dockerd's, resolves no container names:
  // alpha finds beta through its hosts file.)

  await ok(['network', 'disconnect', 'hot1', 'alpha']);
  assert.doesNotMatch(await ok(['exec', 'alpha', 'ip', '-4', 'addr']), /10\.231\.7\./);
  const gone = await vch.docker(['exec', 'beta', 'ping', '-c', '1', '-W', '2', '10.231.7.50']);
  assert.notEqual(gone.code, 0, 'the address left with the NIC');
  const lookup = await vch.docker(['exec', 'beta', 'nslookup', 'web']);
  assert.doesNotMatch(lookup.stdout, /10\.231\.7\.50/);

  // The slot is free again: a second join works.
  await ok(['network', 'connect', 'hot1', 'alpha']);
  await ok(['exec', 'beta', 'ping', '-c', '1', '-w', '30', 'alpha']);

  // An engine killed meanwhile: the next one adopts the VM with its joins and can undo them.
  await vch.killEngine();
  await vch.start();
  await ok(['network', 'disconnect', 'hot1', 'alpha']);
  assert.doesNotMatch(await ok(['exec', 'alpha', 'ip', '-4', 'addr']), /10\.231\.7\./);
  await ok(['network', 'connect', 'hot1', 'alpha']);
  const [again] = JSON.parse(await ok(['inspect', 'alpha']));
  const ip = again.NetworkSettings.Networks.hot1.IPAddress as string;
  assert.match(ip, /^10\.231\.7\.\d+$/);
  await ok(['exec', 'beta', 'ping', '-c', '1', '-w', '30', 'alpha']);

  // A paused container is refused: its guest could not answer.
  await ok(['network', 'create', 'hot2']);
  await ok(['pause', 'beta']);
  const paused = await vch.docker(['network', 'connect', 'hot2', 'beta']);
  assert.notEqual(paused.code, 0);
  assert.match(paused.stderr, /paused/);
  await ok(['unpause', 'beta']);
  await ok(['network', 'rm', 'hot2']);

  // Restarted, the container gets the network as one of its boot NICs.
  await ok(['restart', '-t', '1', 'alpha']);
  assert.match(await ok(['exec', 'alpha', 'ip', '-4', 'addr']), new RegExp(`inet ${ip.replaceAll('.', '\\.')}/24`));

  await ok(['rm', '-f', 'alpha', 'beta']);
  await ok(['network', 'rm', 'hot1']);
});
