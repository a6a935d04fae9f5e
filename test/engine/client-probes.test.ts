// What clients probe and filter with, through the real docker CLI against a VCH: swarm and plugin
// probes answered as a swarm-inactive dockerd does, container prune, and filter patterns that cannot
// freeze the engine. No container VM is started here: created containers suffice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestVch } from '../helpers/vch.ts';

const vch = new TestVch('probes');

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
});

test('docker node/service/secret/config ls and swarm leave say swarm is inactive; plugin ls is empty', async () => {
  for (const args of [['node', 'ls'], ['service', 'ls'], ['secret', 'ls'], ['config', 'ls']]) {
    const r = await vch.docker(args);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /This node is not a swarm manager/, args.join(' '));
  }
  const leave = await vch.docker(['swarm', 'leave', '--force']);
  assert.match(leave.stderr, /This node is not part of a swarm/);
  const plugins = await vch.docker(['plugin', 'ls', '--format', '{{.Name}}']);
  assert.equal(plugins.code, 0, plugins.stderr);
  assert.equal(plugins.stdout.trim(), '');
});

test('docker container prune removes what is not up, honouring label filters', async () => {
  const keep = await vch.docker(['create', '--label', 'keep=1', 'busybox', 'true']);
  const drop = await vch.docker(['create', '--label', 'tier=batch', 'busybox', 'true']);
  assert.equal(drop.code, 0, drop.stderr);
  const pruned = await vch.docker(['container', 'prune', '-f', '--filter', 'label=tier=batch']);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, new RegExp(drop.stdout.trim()));
  const left = await vch.docker(['ps', '-aq', '--no-trunc']);
  assert.ok(left.stdout.includes(keep.stdout.trim()));
  assert.ok(!left.stdout.includes(drop.stdout.trim()));
  const everything = await vch.docker(['system', 'prune', '-f']);
  assert.equal(everything.code, 0, everything.stderr);
  assert.equal((await vch.docker(['ps', '-aq'])).stdout.trim(), '');
  const bad = await vch.docker(['container', 'prune', '-f', '--filter', 'until=soon']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid filter 'until=soon'/);
});

test('star-heavy reference filters and backtracking name filters answer at once', async () => {
  const long = `${'a'.repeat(100)}:latest`;
  assert.equal((await vch.docker(['tag', 'busybox', long])).code, 0);
  // A backtracking glob needs minutes for this pattern on a 100-character name (38 s for 6 stars on 120).
  const images = await vch.docker(['images', '--filter', `reference=${'*a'.repeat(12)}b`, '--format', '{{.Repository}}'], { timeoutMs: 60_000 });
  assert.equal(images.code, 0, images.stderr);
  assert.equal(images.stdout.trim(), '');
  const matching = await vch.docker(['images', '--filter', `reference=${'*a'.repeat(12)}`, '--format', '{{.Repository}}']);
  assert.equal(matching.stdout.trim(), 'a'.repeat(100));
  assert.equal((await vch.docker(['create', '--name', 'a'.repeat(60), 'busybox', 'true'])).code, 0);
  const ps = await vch.docker(['ps', '-a', '--filter', 'name=^(a+)+b$', '--format', '{{.Names}}'], { timeoutMs: 60_000 });
  assert.equal(ps.code, 0, ps.stderr);
  assert.equal(ps.stdout.trim(), '');
  const backref = await vch.docker(['ps', '-a', '--filter', 'name=(a)\\1']);
  assert.notEqual(backref.code, 0);
  assert.match(backref.stderr, /invalid filter/);
  await vch.docker(['rm', 'a'.repeat(60)]);
});

test('docker update: restart policy and VM size while stopped; a running VM keeps its size; cgroup knobs refused', async () => {
  const id = (await vch.docker(['create', '--name', 'upd', 'busybox', 'sleep', '300'])).stdout.trim();
  const policy = await vch.docker(['update', '--restart', 'on-failure:3', '--memory', '300m', '--cpus', '2', 'upd']);
  assert.equal(policy.code, 0, policy.stderr);
  const inspected = JSON.parse((await vch.docker(['inspect', id])).stdout)[0];
  assert.deepEqual(inspected.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(inspected.HostConfig.Memory, 300 * 1024 * 1024);
  assert.equal(inspected.HostConfig.NanoCpus, 2e9);
  const shares = await vch.docker(['update', '--cpu-shares', '512', 'upd']);
  assert.notEqual(shares.code, 0);
  assert.match(shares.stderr, /cannot update CpuShares/);
  const removing = (await vch.docker(['create', '--rm', 'busybox', 'true'])).stdout.trim();
  const autoRemove = await vch.docker(['update', '--restart', 'always', removing]);
  assert.match(autoRemove.stderr, /Restart policy cannot be updated because AutoRemove is enabled/);
  assert.equal((await vch.docker(['start', 'upd'])).code, 0);
  const live = await vch.docker(['update', '--memory', '400m', 'upd']);
  assert.notEqual(live.code, 0);
  assert.match(live.stderr, /sizes fixed while it runs/);
  const restartOnly = await vch.docker(['update', '--restart', 'no', 'upd']);
  assert.equal(restartOnly.code, 0, restartOnly.stderr);
  const vm = JSON.parse((await vch.docker(['inspect', id])).stdout)[0];
  assert.equal(vm.HostConfig.RestartPolicy.Name, 'no');
  assert.equal(vm.VirtualMachine.MemoryMiB, 300);
  await vch.docker(['rm', '-f', 'upd', removing]);
});

test('docker diff lists what the container added, changed and deleted, not the files the VCH writes', async () => {
  const run = await vch.docker(['run', '--name', 'differ', 'busybox', 'sh', '-c', 'mkdir /newdir && echo x > /newdir/f && echo y >> /etc/passwd && rm /bin/ls']);
  assert.equal(run.code, 0, run.stderr);
  const diff = await vch.docker(['diff', 'differ']);
  assert.equal(diff.code, 0, diff.stderr);
  assert.deepEqual(diff.stdout.trim().split('\n'), ['C /bin', 'D /bin/ls', 'C /etc', 'C /etc/passwd', 'A /newdir', 'A /newdir/f']);
  const quiet = await vch.docker(['create', '--name', 'untouched', 'busybox', 'true']);
  assert.equal(quiet.code, 0);
  await vch.docker(['start', '-a', 'untouched']);
  assert.equal((await vch.docker(['diff', 'untouched'])).stdout.trim(), '');
  await vch.docker(['rm', 'differ', 'untouched']);
});

test('log drivers: json-file is reported, none keeps docker logs from reading, unknown drivers are refused', async () => {
  const plain = (await vch.docker(['create', 'busybox', 'true'])).stdout.trim();
  assert.equal((await vch.docker(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', plain])).stdout.trim(), 'json-file');
  const silent = (await vch.docker(['create', '--log-driver', 'none', 'busybox', 'true'])).stdout.trim();
  const logs = await vch.docker(['logs', silent]);
  assert.notEqual(logs.code, 0);
  assert.match(logs.stderr, /configured logging driver does not support reading/);
  const unknown = await vch.docker(['create', '--log-driver', 'splunk', 'busybox', 'true']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no log driver named 'splunk' is registered/);
  await vch.docker(['rm', plain, silent]);
});

test('--group-add, --mac-address and --runtime as dockerd takes them', async () => {
  const groups = await vch.docker(['run', '--rm', '--user', 'nobody', '--group-add', 'app', '--group-add', '4242', 'busybox', 'id', '-G']);
  assert.equal(groups.code, 0, groups.stderr);
  assert.deepEqual(groups.stdout.trim().split(' ').sort(), ['1000', '4242', '65534'].sort());
  const unknownGroup = await vch.docker(['run', '--rm', '--group-add', 'no-such-group', 'busybox', 'true']);
  assert.notEqual(unknownGroup.code, 0);
  assert.match(unknownGroup.stderr, /unable to find group no-such-group/);
  const mac = await vch.docker(['run', '--rm', '--mac-address', '02:42:de:ad:be:ef', 'busybox', 'cat', '/sys/class/net/eth0/address']);
  assert.equal(mac.code, 0, mac.stderr);
  assert.equal(mac.stdout.trim(), '02:42:de:ad:be:ef');
  const multicast = await vch.docker(['create', '--mac-address', '03:00:00:00:00:01', 'busybox', 'true']);
  assert.match(multicast.stderr, /invalid MAC address/);
  const runtime = await vch.docker(['create', '--runtime', 'runsc', 'busybox', 'true']);
  assert.notEqual(runtime.code, 0);
  assert.match(runtime.stderr, /unknown or invalid runtime name: runsc/);
});
