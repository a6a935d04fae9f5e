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

test('ctrl-p ctrl-q detaches docker run -it, the container keeps running; --detach-keys on attach', async () => {
  const detachSession = `${session}-detach`;
  try {
    const started = await runCommand('tmux', ['new-session', '-d', '-s', detachSession, '-x', '100', '-y', '30',
      `env DOCKER_HOST=${vch.dockerHost} ${DOCKER} run -it --name detachme busybox sh; echo "cli exited with $?"; sleep 60`]);
    assert.equal(started.code, 0, started.stderr);
    const pane = async (pattern: RegExp) => {
      const deadline = Date.now() + 90_000;
      let text = '';
      while (Date.now() < deadline) {
        text = (await runCommand('tmux', ['capture-pane', '-p', '-t', detachSession])).stdout;
        if (pattern.test(text)) return text;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.fail(`terminal never showed ${pattern}:\n${text}`);
    };
    await pane(/^\/ #\s*$/m);
    await runCommand('tmux', ['send-keys', '-t', detachSession, 'C-p', 'C-q']);
    await pane(/cli exited with 0/);
    const state = await vch.docker(['inspect', '-f', '{{.State.Running}}', 'detachme']);
    assert.equal(state.stdout.trim(), 'true');
    // Attach again with other keys (the docker CLI watches for them itself too; it says "read escape sequence").
    const attachSession = `${session}-attach`;
    try {
      await runCommand('tmux', ['new-session', '-d', '-s', attachSession, '-x', '100', '-y', '30',
        `env DOCKER_HOST=${vch.dockerHost} ${DOCKER} attach --detach-keys ctrl-x,x detachme; echo "attach exited"; sleep 60`]);
      await runCommand('tmux', ['send-keys', '-t', attachSession, 'echo $((6*7))', 'Enter']);
      const attachedPane = async (pattern: RegExp) => {
        const deadline = Date.now() + 90_000;
        let text = '';
        while (Date.now() < deadline) {
          text = (await runCommand('tmux', ['capture-pane', '-p', '-t', attachSession])).stdout;
          if (pattern.test(text)) return;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert.fail(`terminal never showed ${pattern}:\n${text}`);
      };
      await attachedPane(/^42\s*$/m);
      await runCommand('tmux', ['send-keys', '-t', attachSession, 'C-x', 'x']);
      await attachedPane(/attach exited/);
    } finally {
      await runCommand('tmux', ['kill-session', '-t', attachSession]);
    }
    assert.equal((await vch.docker(['inspect', '-f', '{{.State.Running}}', 'detachme'])).stdout.trim(), 'true');
  } finally {
    await runCommand('tmux', ['kill-session', '-t', detachSession]);
    await vch.docker(['rm', '-f', 'detachme']);
  }
});

test('dockerode: ctrl-p ctrl-q on a hijacked attach ends the stream; the process keeps running with its stdin', async () => {
  const docker = new Docker({ socketPath: vch.socket });
  const container = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'while read line; do echo "got $line"; done'], OpenStdin: true, AttachStdin: true, AttachStdout: true });
  await container.start();
  try {
    const stream = await container.attach({ stream: true, stdin: true, stdout: true, hijack: true });
    let out = '';
    stream.on('data', (d: Buffer) => { out += d.toString('latin1'); });
    const ended = new Promise((r) => stream.on('end', r));
    stream.write('one\n');
    stream.write(Buffer.from([0x10, 0x11]));
    await ended; // before detach keys, the stream stayed open until the client gave up
    assert.equal((await container.inspect()).State.Running, true);
    const again = await container.attach({ stream: true, stdin: true, stdout: true, hijack: true, detachKeys: 'ctrl-a' });
    let more = '';
    again.on('data', (d: Buffer) => { more += d.toString('latin1'); });
    const endedAgain = new Promise((r) => again.on('end', r));
    again.write('two\n');
    const deadline = Date.now() + 60_000;
    while (!more.includes('got two') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(more, /got two/);
    again.write(Buffer.from([0x01]));
    await endedAgain;
    assert.equal((await container.inspect()).State.Running, true);
    assert.match(out + more, /got one/);
  } finally {
    await container.remove({ force: true });
  }
});

test('dockerode: an exec made with a TTY and started without one is framed (multiplexed)', async () => {
  const docker = new Docker({ socketPath: vch.socket });
  const container = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '300'] });
  await container.start();
  try {
    const exec = await container.exec({ Cmd: ['echo', 'framed'], Tty: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false, Tty: false });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    // Frames of an 8-byte header (stream type 1 = stdout, three zero bytes, the payload's length) + payload.
    let bytes = Buffer.concat(chunks);
    let payload = '';
    while (bytes.length > 0) {
      assert.ok(bytes.length >= 8, 'a whole header');
      assert.equal(bytes[0], 1);
      assert.deepEqual([...bytes.subarray(1, 4)], [0, 0, 0]);
      const length = bytes.readUInt32BE(4);
      payload += bytes.subarray(8, 8 + length).toString();
      bytes = bytes.subarray(8 + length);
    }
    assert.match(payload, /^framed\r?\n$/);
  } finally {
    await container.remove({ force: true });
  }
});

test('attach over a websocket (/containers/{id}/attach/ws): raw bytes both ways', async () => {
  const { WebSocket } = await import('ws');
  const docker = new Docker({ socketPath: vch.socket });
  const container = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'read line; echo "got $line"'], OpenStdin: true });
  await container.start();
  try {
    const ws = new WebSocket(`ws+unix://${vch.socket}:/v1.48/containers/${container.id}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1`);
    let out = '';
    const closed = new Promise<void>((resolve, reject) => { ws.on('close', () => resolve()); ws.on('error', reject); });
    ws.on('message', (data: Buffer) => { out += data.toString(); });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(Buffer.from('hello\n'));
    await closed;
    assert.equal(out, 'got hello\n');
    const plain = await runCommand('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', vch.socket, `http://engine/containers/${container.id}/attach/ws`]);
    assert.equal(plain.stdout, '400');
  } finally {
    await container.remove({ force: true });
  }
});
