// Interactive use: `docker run -it` in a real terminal (tmux), piped stdin with -i, and dockerode's
// hijacked attach.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { TestVch, DOCKER, runCommand } from '../helpers/vch.ts';

const vch = new TestVch('interactive');
const session = `bonneville-it-${process.pid}`;

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await runCommand('tmux', ['kill-session', '-t', session]);
  await vch.destroy();
});

async function paneText(): Promise<string> {
  return (await runCommand('tmux', ['capture-pane', '-p', '-t', session])).stdout;
}

async function waitForPane(pattern: RegExp, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await paneText();
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`terminal never showed ${pattern}:\n${text}`);
}

test('docker run -it gives a working shell with a tty of the terminal\'s size', async () => {
  const started = await runCommand('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '30',
    `env DOCKER_HOST=${vch.dockerHost} ${DOCKER} run -it --rm busybox sh; echo "exited with $?"; sleep 60`]);
  assert.equal(started.code, 0, started.stderr);
  await waitForPane(/^\/ #\s*$/m);
  await runCommand('tmux', ['send-keys', '-t', session, 'tty; stty size; echo $((6*7))', 'Enter']);
  const text = await waitForPane(/^42\s*$/m);
  assert.match(text, /^\/dev\/pts\/\d+\s*$/m);
  assert.match(text, /^30 100\s*$/m);
  await runCommand('tmux', ['send-keys', '-t', session, 'exit 4', 'Enter']);
  await waitForPane(/exited with 4/);
});

test('piped stdin reaches the process with -i and its end closes stdin', async () => {
  const run = await vch.docker(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'wc -l; cat /etc/hostname'], { input: 'a\nb\nc\n' });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^3\n[0-9a-f]{12}\n$/);
});

test('dockerode: create, hijacked attach with stdin, start, wait', async () => {
  const docker = new Docker({ socketPath: vch.socket });
  const container = await docker.createContainer({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'read line; echo "got $line"; echo oops >&2; exit 2'],
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  docker.modem.demuxStream(stream, stdout, stderr);
  const ended = new Promise((r) => stream.on('end', r));
  await container.start();
  stream.write('hello\n');
  const result = await container.wait();
  await ended;
  assert.equal(result.StatusCode, 2);
  assert.equal(out, 'got hello\n');
  assert.equal(err, 'oops\n');
  const info = await container.inspect();
  assert.equal(info.State.ExitCode, 2);
  await container.remove();
});
