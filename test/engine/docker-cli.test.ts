// The user's path from issue #2, driven with the real docker CLI against a real VCH whose containers
// are QEMU VMs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { TestVch, DOCKER, runCommand } from '../helpers/vch.ts';
import { buildTestImages } from '../fixtures/images.ts';

const vch = new TestVch('cli');
let images: { busybox: string; busyboxOci: string; layered: string };

before(async () => {
  images = await buildTestImages();
  await vch.start();
});

after(async () => {
  await vch.destroy();
});

/** The container's stdout once it matches (its process may still be starting up). */
async function waitForLogs(name: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const logs = await vch.docker(['logs', name]);
    if (pattern.test(logs.stdout) || Date.now() > deadline) return logs.stdout;
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('version and info describe the VCH, its backend and accelerator', async () => {
  const version = await vch.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), '1.48 linux');
  const info = await vch.docker(['info', '--format', '{{json .}}']);
  assert.equal(info.code, 0, info.stderr);
  const parsed = JSON.parse(info.stdout);
  assert.equal(parsed.Name, 'cli');
  assert.ok(parsed.NCPU > 0 && parsed.MemTotal > 0);
  const status = Object.fromEntries(parsed.DriverStatus);
  assert.equal(status.Backend, 'qemu');
  assert.match(status.Accelerator, /^(kvm|tcg)$/);
  const human = await vch.docker(['info']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /Backend: qemu/);
  assert.match(human.stdout, /Accelerator: (kvm|tcg)/);
});

test('docker load takes docker-save and OCI-layout tarballs; images and image inspect list them', async () => {
  const save = await vch.docker(['load', '-i', images.busybox]);
  assert.equal(save.code, 0, save.stderr);
  assert.match(save.stdout, /Loaded image: busybox:latest/);
  const oci = await vch.docker(['load', '-i', images.busyboxOci]);
  assert.equal(oci.code, 0, oci.stderr);
  const list = await vch.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.equal(list.code, 0, list.stderr);
  assert.ok(list.stdout.split('\n').includes('busybox:latest'), list.stdout);
  const inspect = await vch.docker(['image', 'inspect', 'busybox']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const [image] = JSON.parse(inspect.stdout);
  assert.deepEqual(image.RepoTags, ['busybox:latest']);
  assert.deepEqual(image.Config.Cmd, ['sh']);
  assert.equal(image.RootFS.Layers.length, 1);
  const missing = await vch.docker(['image', 'inspect', 'nosuchimage']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such image/);
});

test('docker run --rm busybox echo hi prints hi, and no VM is left behind', async () => {
  const run = await vch.docker(['run', '--rm', 'busybox', 'echo', 'hi']);
  assert.equal(run.code, 0, run.stderr + vch.engineLog);
  assert.equal(run.stdout, 'hi\n');
  const all = await vch.docker(['ps', '-aq']);
  assert.equal(all.stdout.trim(), '');
  assert.deepEqual(vch.qemuPids(), []);
});

test('exit codes and separate stdout/stderr', async () => {
  const falsy = await vch.docker(['run', '--rm', 'busybox', 'false']);
  assert.equal(falsy.code, 1);
  const mixed = await vch.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(mixed.code, 3);
  assert.equal(mixed.stdout, 'out\n');
  assert.equal(mixed.stderr, 'err\n');
});

test('a missing executable fails with an error naming it', async () => {
  const run = await vch.docker(['run', '--rm', 'busybox', 'fakeCommand']);
  assert.equal(run.code, 127, run.stderr);
  assert.match(run.stderr, /fakeCommand/);
  assert.match(run.stderr, /executable file not found/);
});

test('a detached web server: ps, logs, inspect, stop, start, rm -f', async () => {
  const run = await vch.docker(['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo serving; exec httpd -f -p 8080']);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await vch.docker(['ps', '--format', '{{.Names}} {{.Status}}']);
  assert.match(ps.stdout, /^web Up /m);
  assert.equal(vch.qemuPids().length, 1, 'one QEMU process for the one running container');
  assert.equal(await waitForLogs('web', /serving/), 'serving\n');
  const inspect = JSON.parse((await vch.docker(['inspect', 'web'])).stdout)[0];
  assert.equal(inspect.Id, id);
  assert.equal(inspect.Name, '/web');
  assert.equal(inspect.State.Running, true);
  assert.ok(inspect.State.Pid > 0);
  assert.ok(Date.parse(inspect.State.StartedAt) >= Date.parse(inspect.Created));
  assert.deepEqual(inspect.Config.Cmd, ['sh', '-c', 'echo serving; exec httpd -f -p 8080']);
  assert.equal(inspect.VirtualMachine.Backend, 'qemu');
  assert.equal(inspect.VirtualMachine.Pid, inspect.State.Pid);
  assert.deepEqual(vch.qemuPids(), [inspect.State.Pid]);

  const stop = await vch.docker(['stop', 'web']);
  assert.equal(stop.code, 0, stop.stderr);
  const stopped = JSON.parse((await vch.docker(['inspect', 'web'])).stdout)[0];
  assert.equal(stopped.State.Status, 'exited');
  assert.equal(stopped.State.ExitCode, 143, 'httpd dies of SIGTERM');
  assert.deepEqual(vch.qemuPids(), []);

  const start = await vch.docker(['start', 'web']);
  assert.equal(start.code, 0, start.stderr);
  const restarted = JSON.parse((await vch.docker(['inspect', 'web'])).stdout)[0];
  assert.equal(restarted.State.Running, true);
  const rm = await vch.docker(['rm', '-f', 'web']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((await vch.docker(['ps', '-aq'])).stdout.trim(), '');
  assert.deepEqual(vch.qemuPids(), []);
});

test('stop kills a process that ignores SIGTERM after the timeout', async () => {
  const run = await vch.docker(['run', '-d', '--name', 'stubborn', 'busybox', 'sh', '-c', "trap '' TERM; echo ready; while true; do sleep 1; done"]);
  assert.equal(run.code, 0, run.stderr);
  await waitForLogs('stubborn', /ready/);
  const stop = await vch.docker(['stop', '-t', '1', 'stubborn']);
  assert.equal(stop.code, 0, stop.stderr);
  const state = JSON.parse((await vch.docker(['inspect', 'stubborn'])).stdout)[0].State;
  assert.equal(state.ExitCode, 137);
  await vch.docker(['rm', 'stubborn']);
});

test('errors come back in Docker shape and status', async () => {
  const missing = await vch.docker(['inspect', '--type', 'container', 'nope']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such container: nope/);
  const create = await vch.docker(['create', '--name', 'twice', 'busybox', 'true']);
  assert.equal(create.code, 0, create.stderr);
  const again = await vch.docker(['create', '--name', 'twice', 'busybox', 'true']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already in use/);
  const noImage = await vch.docker(['create', 'nosuch:image', 'true']);
  assert.notEqual(noImage.code, 0);
  assert.match(noImage.stderr, /nosuch:image/);
  await vch.docker(['rm', 'twice']);
});

test('user, working dir and env from the command line apply with Docker semantics', async () => {
  const run = await vch.docker(['run', '--rm', '-u', 'app', '-w', '/tmp/work', '-e', 'FOO=bar', 'busybox', 'sh', '-c', 'id -u; id -g; pwd; echo $FOO; echo $HOME']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '1000\n1000\n/tmp/work\nbar\n/home/app\n');
});

test('image layers stack: whiteouts delete and opaque directories hide lower files', async () => {
  const load = await vch.docker(['load', '-i', images.layered]);
  assert.equal(load.code, 0, load.stderr);
  const run = await vch.docker(['run', '--rm', 'layered', 'sh', '-c', 'ls /var/www; test -e /etc/motd && echo motd-present || echo motd-gone']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'layered.html\nmotd-gone\n');
});

test('older API versions are accepted (down to 1.24)', async () => {
  const env = { DOCKER_API_VERSION: '1.24' };
  const ps = await runCommand(DOCKER, ['ps', '-a'], { env: { ...process.env, DOCKER_HOST: vch.dockerHost, ...env } });
  assert.equal(ps.code, 0, ps.stderr);
  const run = await runCommand(DOCKER, ['run', '--rm', 'busybox', 'echo', 'old client'], { env: { ...process.env, DOCKER_HOST: vch.dockerHost, ...env } });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'old client\n');
});

test('_ping answers GET and HEAD with the API version header', async () => {
  for (const method of ['GET', 'HEAD']) {
    const res = await new Promise<{ status?: number; version?: string | string[] }>((resolve, reject) => {
      const req = request({ socketPath: vch.socket, path: '/_ping', method }, (r) => { r.resume(); resolve({ status: r.statusCode, version: r.headers['api-version'] }); });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(res, { status: 200, version: '1.48' });
  }
});

test('docker events reports a container\'s life: create, start, die (with its exit code), destroy', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const run = await vch.docker(['run', '--rm', '--name', 'eventful', 'busybox', 'sh', '-c', 'exit 2']);
  assert.equal(run.code, 2);
  const until = Math.floor(Date.now() / 1000) + 1;
  const events = await vch.docker(['events', '--since', String(since), '--until', String(until),
    '--filter', 'container=eventful', '--format', '{{.Action}} {{index .Actor.Attributes "exitCode"}}']);
  assert.equal(events.code, 0, events.stderr);
  assert.deepEqual(events.stdout.trim().split('\n').map((l) => l.trim()), ['create', 'start', 'die 2', 'destroy']);
});

test('docker exec runs more processes in a running container: output, exit code, stdin, user, detach, errors', async () => {
  const run = await vch.docker(['run', '-d', '--name', 'execs', 'busybox', 'sleep', '300']);
  assert.equal(run.code, 0, run.stderr);
  const out = await vch.docker(['exec', 'execs', 'sh', '-c', 'echo out; echo err >&2; exit 5']);
  assert.equal(out.code, 5);
  assert.equal(out.stdout, 'out\n');
  assert.equal(out.stderr, 'err\n');
  const piped = await vch.docker(['exec', '-i', 'execs', 'cat'], { input: 'through stdin\n' });
  assert.equal(piped.stdout, 'through stdin\n');
  const as = await vch.docker(['exec', '-u', 'app', '-w', '/tmp', '-e', 'X=1', 'execs', 'sh', '-c', 'id -u; pwd; echo $X']);
  assert.equal(as.stdout, '1000\n/tmp\n1\n');
  const detached = await vch.docker(['exec', '-d', 'execs', 'sh', '-c', 'echo made > /tmp/detached']);
  assert.equal(detached.code, 0, detached.stderr);
  let seen = '';
  for (let i = 0; i < 50 && seen !== 'made\n'; i++) seen = (await vch.docker(['exec', 'execs', 'cat', '/tmp/detached'])).stdout;
  assert.equal(seen, 'made\n');
  const missing = await vch.docker(['exec', 'execs', 'nosuchcmd']);
  assert.equal(missing.code, 127);
  assert.match(missing.stdout + missing.stderr, /nosuchcmd.*executable file not found/);
  await vch.docker(['rm', '-f', 'execs']);
  const stopped = await vch.docker(['exec', 'execs', 'true']);
  assert.notEqual(stopped.code, 0);
});

test('docker logs: --tail, --timestamps, stderr kept apart, and -f ends when the container exits', async () => {
  const run = await vch.docker(['run', '-d', '--name', 'chatty', 'busybox', 'sh', '-c', 'for i in 1 2 3 4; do echo line $i; done; echo oops >&2; sleep 2; echo last']);
  assert.equal(run.code, 0, run.stderr);
  const followed = await vch.docker(['logs', '-f', 'chatty']);
  assert.equal(followed.code, 0, followed.stderr);
  assert.equal(followed.stdout, 'line 1\nline 2\nline 3\nline 4\nlast\n');
  assert.equal(followed.stderr, 'oops\n');
  const tail = await vch.docker(['logs', '--tail', '2', 'chatty']);
  assert.equal(tail.stdout, 'last\n');
  assert.equal(tail.stderr, 'oops\n');
  const stamped = await vch.docker(['logs', '-t', '--tail', '1', 'chatty']);
  assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z last\n$/);
  await vch.docker(['rm', 'chatty']);
});

test('docker rename changes the name, refusing one in use', async () => {
  await vch.docker(['create', '--name', 'before', 'busybox', 'true']);
  await vch.docker(['create', '--name', 'taken', 'busybox', 'true']);
  const clash = await vch.docker(['rename', 'before', 'taken']);
  assert.notEqual(clash.code, 0);
  assert.match(clash.stderr, /already in use/);
  const renamed = await vch.docker(['rename', 'before', 'after']);
  assert.equal(renamed.code, 0, renamed.stderr);
  assert.equal(JSON.parse((await vch.docker(['inspect', 'after'])).stdout)[0].Name, '/after');
  await vch.docker(['rm', 'after', 'taken']);
});

test('docker stats shows what the container VM costs: CPU share and memory against the VM size', async () => {
  const run = await vch.docker(['run', '-d', '-m', '192m', '--name', 'busy', 'busybox', 'sh', '-c', 'while :; do :; done']);
  assert.equal(run.code, 0, run.stderr);
  const stats = await vch.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}}', 'busy']);
  assert.equal(stats.code, 0, stats.stderr);
  const [name, cpu, usage, , limit] = stats.stdout.trim().split(/\s+/);
  assert.equal(name, 'busy');
  assert.ok(Number.parseFloat(cpu) > 0, `a busy loop uses CPU: ${stats.stdout}`);
  assert.match(usage, /MiB$/);
  assert.equal(limit, '192MiB');
  await vch.docker(['rm', '-f', 'busy']);
});

test('docker commit turns a container\'s changes (new files, deletions, replaced dirs) into an image', async () => {
  const run = await vch.docker(['run', '--name', 'tocommit', 'busybox', 'sh', '-c',
    'echo new > /new.txt; rm /etc/motd; rm -rf /var/www; mkdir /var/www; echo fresh > /var/www/only.html']);
  assert.equal(run.code, 0, run.stderr);
  const commit = await vch.docker(['commit', '-c', 'CMD ["cat", "/new.txt"]', '-m', 'committed here', 'tocommit', 'committed:v1']);
  assert.equal(commit.code, 0, commit.stderr);
  assert.match(commit.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  assert.equal((await vch.docker(['run', '--rm', 'committed:v1'])).stdout, 'new\n');
  const check = await vch.docker(['run', '--rm', 'committed:v1', 'sh', '-c', 'ls /var/www; test -e /etc/motd && echo motd || echo no-motd']);
  assert.equal(check.stdout, 'only.html\nno-motd\n');
  const history = await vch.docker(['history', '--format', '{{.Comment}}', 'committed:v1']);
  assert.equal(history.stdout.split('\n')[0], 'committed here');
  const layers = JSON.parse((await vch.docker(['image', 'inspect', 'committed:v1'])).stdout)[0].RootFS.Layers;
  const base = JSON.parse((await vch.docker(['image', 'inspect', 'busybox'])).stdout)[0].RootFS.Layers;
  assert.deepEqual(layers.slice(0, -1), base);
  await vch.docker(['rm', 'tocommit']);
});
