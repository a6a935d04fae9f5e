// Client SDKs other people wrote, unmodified, against a VCH: testcontainers-node (the JavaScript
// flavour of a library many CI suites use) and Debian's python3-docker (docker-py, docker-compose's
// own client). If their ordinary calls work, so do the projects built on them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestVch, runCommand } from '../helpers/vch.ts';

const vch = new TestVch('sdk');

before(async () => {
  await vch.startWithBusybox();
  // testcontainers reads its settings from the environment when it first loads.
  process.env.DOCKER_HOST = vch.dockerHost;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
});

after(async () => {
  await vch.destroy();
});

test('testcontainers-node: start with a log wait strategy, exec, copy a file in, read logs, stop', async () => {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('busybox:latest')
    .withCommand(['sh', '-c', 'echo ready; while true; do sleep 1; done'])
    .withEnvironment({ GREETING: 'hello-from-env' })
    .withLabels({ suite: 'sdk' })
    .withWaitStrategy(Wait.forLogMessage('ready'))
    .withStartupTimeout(180_000)
    .start();
  try {
    const exec = await container.exec(['sh', '-c', 'echo $GREETING; echo oops >&2; exit 3']);
    assert.equal(exec.exitCode, 3);
    assert.equal(exec.stdout.trim(), 'hello-from-env');
    assert.equal(exec.stderr.trim(), 'oops');
    await container.copyContentToContainer([{ content: 'copied-in\n', target: '/tmp/note.txt' }]);
    const cat = await container.exec(['cat', '/tmp/note.txt']);
    assert.equal(cat.output, 'copied-in\n');
    const archive = await container.copyArchiveFromContainer('/tmp/note.txt');
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(Buffer.from(chunk as Buffer));
    assert.ok(Buffer.concat(chunks).includes('copied-in'));
    const logs = await container.logs();
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      logs.on('data', (line: Buffer | string) => { seen.push(String(line)); if (seen.join('').includes('ready')) resolve(); });
      logs.on('error', reject);
    });
    logs.destroy();
    assert.equal(container.getLabels().suite, 'sdk');
  } finally {
    await container.stop({ timeout: 2 });
  }
  const left = await vch.ok(['ps', '-aq', '--filter', 'label=suite=sdk']);
  assert.equal(left.trim(), '', 'testcontainers removes what it stops');
});

test('python3-docker: run, logs, exec_run, archives, networks, volumes, images', async () => {
  const script = String.raw`
import docker, io, tarfile, sys
c = docker.from_env()
assert c.ping()
assert c.version()['ApiVersion']
out = c.containers.run('busybox', ['sh', '-c', 'echo hi; echo err >&2'], remove=True, stderr=True)
# Each stream keeps its order; between the two pipes there is none to keep (dockerd's neither).
assert sorted(out.splitlines()) == [b'err', b'hi'], out
assert any('busybox:latest' in i.tags for i in c.images.list())
net = c.networks.create('sdk-net', labels={'suite': 'sdk'})
vol = c.volumes.create('sdk-vol', labels={'suite': 'sdk'})
ctr = c.containers.run('busybox', ['sleep', '1000'], detach=True, name='sdk-sleeper',
                       network='sdk-net', volumes={'sdk-vol': {'bind': '/data', 'mode': 'rw'}})
ctr.reload()
assert ctr.status == 'running', ctr.status
assert 'sdk-net' in ctr.attrs['NetworkSettings']['Networks']
code, output = ctr.exec_run(['sh', '-c', 'echo stored > /data/f; cat /data/f'])
assert (code, output) == (0, b'stored\n'), (code, output)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w') as t:
    data = b'put-archive\n'
    info = tarfile.TarInfo('put.txt'); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
assert ctr.put_archive('/tmp', buf.getvalue())
stream, stat = ctr.get_archive('/tmp/put.txt')
got = b''.join(stream)
assert b'put-archive' in got and stat['name'] == 'put.txt', stat
ctr.stop(timeout=1)
ctr.wait()
ctr.remove()
net.remove()
vol.remove()
assert not c.networks.list(names=['sdk-net'])
print('ok')
`;
  const r = await runCommand('python3', ['-c', script], { env: { ...process.env, DOCKER_HOST: vch.dockerHost } });
  assert.equal(r.code, 0, `${r.stderr}\n${vch.engineLog.slice(-2000)}`);
  assert.equal(r.stdout.trim(), 'ok');
});
