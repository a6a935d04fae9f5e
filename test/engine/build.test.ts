// `docker build` with the classic builder (DOCKER_BUILDKIT=0) against a real VCH: RUN steps in
// container VMs, COPY layers made on the host, the cache (also across an engine restart),
// multi-stage builds, failures and docker-compose `build:`. RUN steps are few: each is a VM boot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { TestVch, runCommand, DOCKER, type CommandResult } from '../helpers/vch.ts';
import { raw } from './raw-request.ts';
import fc from 'fast-check';
import { Header } from 'tar';

// Pulls (FROM an image the VCH lacks) may only go to a loopback port where nothing listens.
const vch = new TestVch('build', ['--allowed-registry', '127.0.0.1:1']);
const dirs: string[] = [];

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-build-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function build(args: string[]): Promise<CommandResult> {
  return runCommand(DOCKER, ['build', ...args], { env: { ...process.env, DOCKER_HOST: vch.dockerHost, DOCKER_BUILDKIT: '0' }, timeoutMs: 600_000 });
}

async function buildOk(args: string[]): Promise<string> {
  const r = await build(args);
  assert.equal(r.code, 0, `docker build ${args.join(' ')}: ${r.stdout}\n${r.stderr}\n${vch.engineLog.slice(-2000)}`);
  return r.stdout;
}

const builtId = (out: string) => /Successfully built ([0-9a-f]{12})/.exec(out)?.[1];

const APP_DOCKERFILE = [
  'FROM busybox',
  'ARG GREETING=hello',
  'ENV MSG="${GREETING} from the build" APP_HOME=/app',
  'WORKDIR $APP_HOME',
  'COPY --chown=app:app . ./',
  'RUN echo "$MSG" > generated.txt && ls > listing.txt',
  'USER 1000',
  'EXPOSE 8080/tcp',
  'LABEL org.example.role="test app"',
  'CMD ["sh", "-c", "id -u; cat generated.txt; cat listing.txt; stat -c %u:%g hello.txt; echo $MSG"]',
].join('\n');

test('a multi-instruction Dockerfile builds, runs, and hits the cache (also after an engine restart) until a copied file changes', async () => {
  const dir = context({
    Dockerfile: APP_DOCKERFILE,
    'hello.txt': 'hello\n',
    'secret.txt': 'do not ship\n',
    'debug.log': 'noise\n',
    '.dockerignore': 'secret.txt\n*.log\n',
  });
  const first = await buildOk(['--build-arg', 'GREETING=hi', '-t', 'app:1', dir]);
  assert.match(first, /Step 1\/10 : FROM busybox\n ---> [0-9a-f]{12}\n/);
  assert.match(first, /Step 6\/10 : RUN echo "\$MSG" > generated.txt && ls > listing.txt\n ---> Running in ([0-9a-f]{12})\n[\s\S]* ---> Removed intermediate container \1\n ---> [0-9a-f]{12}\n/);
  assert.match(first, /Successfully tagged app:1\n/);
  const id = builtId(first);
  assert.ok(id, first);

  const run = await vch.ok(['run', '--rm', 'app:1']);
  const lines = run.trim().split('\n');
  assert.equal(lines[0], '1000', 'USER');
  assert.equal(lines[1], 'hi from the build', 'RUN saw ENV built from the build arg');
  assert.ok(lines.includes('hello.txt') && lines.includes('Dockerfile'), run);
  assert.ok(!run.includes('secret.txt') && !run.includes('debug.log'), `.dockerignore: ${run}`);
  assert.ok(lines.includes('1000:1000'), `--chown: ${run}`);
  const inspect = JSON.parse(await vch.ok(['image', 'inspect', 'app:1']))[0];
  assert.deepEqual(inspect.Config.ExposedPorts, { '8080/tcp': {} });
  assert.equal(inspect.Config.Labels['org.example.role'], 'test app');
  assert.equal(inspect.Config.WorkingDir, '/app');
  assert.ok(inspect.Config.Env.includes('APP_HOME=/app'));
  assert.deepEqual((await vch.ok(['ps', '-aq'])).trim(), '', 'no intermediate container left');

  // Every step from the cache, the same image; the cache is image metadata, so a restarted engine has it too.
  await vch.killEngine();
  await vch.start();
  const again = await buildOk(['--build-arg', 'GREETING=hi', '-t', 'app:1', dir]);
  assert.equal((again.match(/ ---> Using cache\n/g) ?? []).length, 9, again);
  assert.equal(builtId(again), id);
  assert.doesNotMatch(again, /Running in/);

  // A changed copied file: the steps before COPY are cached, COPY and everything after are not.
  writeFileSync(join(dir, 'hello.txt'), 'hello again\n');
  const changed = await buildOk(['--build-arg', 'GREETING=hi', dir]);
  const steps = changed.split(/(?=Step \d+\/10 : )/).filter((s) => s.startsWith('Step'));
  assert.deepEqual(steps.map((s) => s.includes('Using cache')), [false, true, true, true, false, false, false, false, false, false], changed);
  assert.notEqual(builtId(changed), id);
  // A changed build arg changes the RUN step's key as well (dockerd records it in the step).
  const history = await vch.ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'app:1']);
  assert.match(history, /\|1 GREETING=hi \/bin\/sh -c echo "\$MSG" > generated.txt/);
});

test('multi-stage: COPY --from a stage, --target stops at that stage, FROM a previous stage', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox AS builder',
      'COPY hello.txt /out/greeting.txt',
      'ADD files.tar /out/unpacked/',
      'FROM busybox AS final',
      'COPY --from=builder /out/ /srv/',
      'COPY hello.txt /root/',
      'CMD ["sh", "-c", "cat /srv/greeting.txt /srv/unpacked/inner.txt; stat -c %a:%U /root /root/hello.txt"]',
      'FROM final AS extra',
      'LABEL stage=extra',
    ].join('\n'),
    'hello.txt': 'from the builder stage\n',
    'inner/inner.txt': 'from a local tar\n',
  });
  execFileSync('tar', ['-cf', join(dir, 'files.tar'), '-C', join(dir, 'inner'), 'inner.txt']);
  const out = await buildOk(['--target', 'final', '-t', 'multi:final', dir]);
  assert.match(out, /Step 7\/7 : CMD/, 'stops at the target stage');
  assert.doesNotMatch(out, /LABEL stage=extra/);
  // /root keeps the image's 0700: COPY leaves the directories it passes through as they were.
  assert.equal(await vch.ok(['run', '--rm', 'multi:final']), 'from the builder stage\nfrom a local tar\n700:root\n644:root\n');
  const full = await buildOk(['-t', 'multi:extra', dir]);
  assert.match(full, /Step 8\/9 : FROM final AS extra/);
  const labels = JSON.parse(await vch.ok(['image', 'inspect', '--format', '{{json .Config.Labels}}', 'multi:extra']));
  assert.equal(labels.stage, 'extra');
});

test('a failing RUN stops the build with dockerd\'s message; --force-rm leaves no container', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nENV X=1\nRUN echo before-failing; false\nCMD ["true"]\n' });
  const r = await build(['--force-rm', dir]);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /before-failing/);
  assert.match(r.stderr, /The command '\/bin\/sh -c echo before-failing; false' returned a non-zero code: 1/);
  assert.doesNotMatch(r.stdout, /Step 4\/4/);
  assert.equal((await vch.ok(['ps', '-aq'])).trim(), '');
});

test('-q prints only the id, -t twice tags twice, bad requests are clear errors', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nLABEL quiet=yes\n', 'other.Dockerfile': 'FROM busybox\nADD http://example.com/file.txt /\n', 'bad.Dockerfile': 'FROM busybox\nFROOB x\n', 'nobase.Dockerfile': 'FROM nosuch/base:1\nLABEL x=y\n' });
  const quiet = await buildOk(['-q', '-t', 'tag-a', '-t', 'tag-b:v2', dir]);
  assert.match(quiet, /^sha256:[0-9a-f]{64}\n$/);
  const ids = await vch.ok(['image', 'inspect', '--format', '{{.Id}}', 'tag-a', 'tag-b:v2']);
  assert.deepEqual(ids.trim().split('\n'), [quiet.trim(), quiet.trim()]);

  const url = await build(['-f', join(dir, 'other.Dockerfile'), dir]);
  assert.notEqual(url.code, 0);
  assert.match(url.stderr, /ADD failed: http:\/\/example.com\/file.txt: downloading from a URL is not possible on this VCH/);
  const parse = await build(['-f', join(dir, 'bad.Dockerfile'), dir]);
  assert.notEqual(parse.code, 0);
  assert.match(parse.stderr, /dockerfile parse error line 2: unknown instruction: FROOB/);
  // A base image the VCH lacks is pulled, as by dockerd: here the allow-list refuses it, and says so.
  const missingBase = await build(['-f', join(dir, 'nobase.Dockerfile'), dir]);
  assert.notEqual(missingBase.code, 0);
  assert.match(missingBase.stderr, /nosuch/);
  assert.match(missingBase.stderr, /allowed/i);
  const target = await build(['--target', 'nope', dir]);
  assert.match(target.stderr, /failed to reach build target nope in Dockerfile/);
  // The CLI checks -f itself; another client may name a Dockerfile the context lacks.
  const tar = execFileSync('tar', ['-cf', '-', '-C', dir, 'Dockerfile']);
  const missing = await raw(vch.socket, 'POST', '/v1.48/build?dockerfile=nothere', tar, { 'Content-Type': 'application/x-tar' });
  assert.equal(missing.status, 400);
  assert.equal(missing.json?.message, 'Cannot locate specified Dockerfile: nothere');
  const buildkit = await raw(vch.socket, 'POST', '/v1.48/build?version=2', tar, { 'Content-Type': 'application/x-tar' });
  assert.equal(buildkit.status, 501);
  assert.match(buildkit.json?.message ?? '', /DOCKER_BUILDKIT=0/);
});

test('docker-compose build: builds the service image with its args', async () => {
  const dir = context({
    'docker-compose.yml': ['version: "3"', 'services:', '  web:', '    build:', '      context: ./web', '      args:', '        FLAVOUR: compose', '    image: composed:latest', ''].join('\n'),
    'web/Dockerfile': 'FROM busybox\nARG FLAVOUR=plain\nLABEL flavour=$FLAVOUR\nCOPY index.html /www/\n',
    'web/index.html': '<p>hi</p>\n',
  });
  const r = await runCommand('/usr/bin/docker-compose', ['-f', join(dir, 'docker-compose.yml'), '-p', 'bvbuild', 'build'], { env: { ...process.env, DOCKER_HOST: vch.dockerHost }, timeoutMs: 300_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const flavour = await vch.ok(['image', 'inspect', '--format', '{{index .Config.Labels "flavour"}}', 'composed:latest']);
  assert.equal(flavour.trim(), 'compose');
});

test('ONBUILD triggers run in the child build; FROM scratch; --label; a Dockerfile on stdin; intermediates hidden from docker images', async () => {
  const base = context({ Dockerfile: 'FROM busybox\nONBUILD COPY hello.txt /onbuild/\n', 'hello.txt': 'triggered\n' });
  await buildOk(['-t', 'onbase', base]);
  const onbuild = JSON.parse(await vch.ok(['image', 'inspect', '--format', '{{json .Config.OnBuild}}', 'onbase']));
  assert.deepEqual(onbuild, ['COPY hello.txt /onbuild/']);
  const child = context({ Dockerfile: 'FROM onbase\nLABEL child=yes\n', 'hello.txt': 'triggered in the child\n' });
  const out = await buildOk(['--label', 'built.by=test', '-t', 'onchild', child]);
  assert.match(out, /Step 1\/3 : FROM onbase\n ---> [0-9a-f]{12}\n# Executing 1 build trigger\n ---> [0-9a-f]{12}\n/);
  assert.match(out, /Step 3\/3 : LABEL "built.by"="test"/, 'the --label option is one more step, as in dockerd');
  const config = JSON.parse(await vch.ok(['image', 'inspect', '--format', '{{json .Config}}', 'onchild']));
  assert.ok(!config.OnBuild?.length, 'triggers are not inherited further');
  assert.equal(config.Labels['built.by'], 'test');
  const created = (await vch.ok(['create', 'onchild'])).trim();
  const copied = await vch.ok(['cp', `${created}:/onbuild/hello.txt`, '-']);
  assert.match(copied, /triggered in the child/);
  await vch.ok(['rm', created]);

  const scratch = context({ Dockerfile: 'FROM scratch\nCOPY hello.txt /\nCMD ["/nothing"]\n', 'hello.txt': 'alone\n' });
  await buildOk(['-t', 'fromscratch', scratch]);
  const layers = JSON.parse(await vch.ok(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'fromscratch']));
  assert.equal(layers.length, 1);

  const stdin = await runCommand(DOCKER, ['build', '-t', 'fromstdin', '-'], { env: { ...process.env, DOCKER_HOST: vch.dockerHost, DOCKER_BUILDKIT: '0' }, input: 'FROM busybox\nENV FROM_STDIN=1\n' });
  assert.equal(stdin.code, 0, stdin.stderr);
  assert.match(await vch.ok(['image', 'inspect', '--format', '{{json .Config.Env}}', 'fromstdin']), /FROM_STDIN=1/);

  // The step before the last is an intermediate image: listed with -a only, as by dockerd.
  const parent = (await vch.ok(['image', 'inspect', '--format', '{{.Parent}}', 'onchild'])).trim();
  assert.match(parent, /^sha256:/);
  assert.ok(!(await vch.ok(['images', '-q', '--no-trunc'])).includes(parent));
  assert.ok((await vch.ok(['images', '-aq', '--no-trunc'])).includes(parent));
  // Removing the image removes its untagged parents too, down to the tagged base.
  const removed = await vch.ok(['rmi', 'onchild']);
  assert.equal((removed.match(/^Deleted: /gm) ?? []).length, 3, removed);
  assert.ok(!(await vch.ok(['images', '-aq', '--no-trunc'])).includes(parent));
  await vch.ok(['image', 'inspect', 'onbase']);
});

/** A tar of the given files, made in memory. */
function tarOf(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [path, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    const header = Buffer.alloc(512);
    new Header({ path, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: new Date(0), type: 'File' }).encode(header, 0);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

test('property: no Dockerfile, context or query makes /build answer a 5xx or a torn stream (no RUN: no VM)', async () => {
  const keyword = fc.constantFrom('FROM', 'ENV', 'ARG', 'LABEL', 'WORKDIR', 'USER', 'EXPOSE', 'VOLUME', 'CMD', 'ENTRYPOINT', 'SHELL', 'STOPSIGNAL', 'HEALTHCHECK', 'COPY', 'ADD', 'MAINTAINER', 'FROOB', 'from');
  const word = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('busybox', 'scratch', 'a=b', '"x y"=z', '${A:-d}', '$B', '["a","b"]', '[', '--from=0', '--chown=1:1', '--chown=x', '--interval=1s', 'CMD', 'NONE', 'AS', 'stage', '.', '/', '*', 'hello.txt', 'http://x/y', '\\', "'", '"'));
  const line = fc.tuple(keyword, fc.array(word, { maxLength: 4 })).map(([k, ws]) => `${k} ${ws.join(' ')}`);
  const dockerfile = fc.array(line, { maxLength: 6 }).map((lines) => ['FROM busybox AS stage', ...lines].join('\n'));
  const body = fc.oneof(
    dockerfile.map((d) => tarOf({ Dockerfile: d, 'hello.txt': 'hi\n', '.dockerignore': '*.md\n' })),
    dockerfile.map((d) => Buffer.from(d)),
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  );
  const param = fc.constantFrom('t', 'target', 'buildargs', 'labels', 'dockerfile', 'networkmode', 'cpusetcpus', 'memory', 'q', 'nocache', 'platform', 'extrahosts');
  const query = fc.array(fc.tuple(param, fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('{"A":"1"}', '{"A":null}', '[]', 'stage', 'x:y', '0-1', '1', 'linux', 'none'))), { maxLength: 3 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'));
  await fc.assert(fc.asyncProperty(body, query, async (payload, q) => {
    const response = await raw(vch.socket, 'POST', `/v1.48/build?${q}`, payload, { 'Content-Type': 'application/x-tar' });
    assert.ok(response.status < 500, `${q}: ${response.status} ${response.body}`);
    if (response.status >= 400) {
      assert.equal(typeof response.json?.message, 'string', response.body);
      return;
    }
    const messages = response.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = messages.at(-1)!;
    assert.ok('error' in last || /^Successfully|^sha256:/.test(String(last.stream ?? '')), response.body);
  }), { numRuns: 150 });
  assert.equal((await vch.ok(['ps', '-aq'])).trim(), '', 'no container left behind');
  assert.doesNotMatch(vch.engineLog, /unhandled|TypeError|RangeError/i);
});
