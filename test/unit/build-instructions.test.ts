// The builder's evaluation without VMs: words and substitution, metadata instructions, the parse
// checks dockerd makes, and COPY's planning and layer checksum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandWord, nameValuePairs, splitWords } from '../../src/engine/build/words.ts';
import { applyMetadata, exposedPorts, goDurationNanos, type BuildArgs, type StageState } from '../../src/engine/build/instructions.ts';
import { parseDockerfile } from '../../src/engine/build/dockerfile.ts';
import { FileTree } from '../../src/engine/build/file-tree.ts';
import { parseChown, plannedEntries, resolveChown, writeCopyLayer } from '../../src/engine/build/copy-layer.ts';

const vars = new Map([['A', 'one'], ['EMPTY', '']]);
const lookup = (name: string) => vars.get(name);

test('words: expansion as dockerd does it (quotes, escapes, defaults)', () => {
  assert.equal(expandWord('$A-${A}', lookup), 'one-one');
  assert.equal(expandWord("'$A'", lookup), '$A');
  assert.equal(expandWord('"$A b"', lookup), 'one b');
  assert.equal(expandWord('\\$A', lookup), '$A');
  assert.equal(expandWord('${MISSING:-dflt}', lookup), 'dflt');
  assert.equal(expandWord('${EMPTY:-dflt}', lookup), 'dflt');
  assert.equal(expandWord('${EMPTY-dflt}', lookup), '');
  assert.equal(expandWord('${A:+set}', lookup), 'set');
  assert.equal(expandWord('${MISSING:+set}', lookup), '');
  assert.equal(expandWord('$MISSING', lookup), '');
  assert.throws(() => expandWord('"open', lookup), /double-quote/);
  assert.deepEqual(splitWords('a "b c" d\\ e'), ['a', '"b c"', 'd\\ e']);
  assert.deepEqual(nameValuePairs('K=1 L="x y"', 'ENV'), [['K', '1'], ['L', '"x y"']]);
  assert.deepEqual(nameValuePairs('K  spaced value', 'ENV'), [['K', 'spaced value']]);
  assert.throws(() => nameValuePairs('K=1 L', 'ENV'), /can't find =/);
});

function freshState(): StageState {
  return { config: { Env: ['PATH=/bin'] }, args: new Map(), cmdSet: false };
}
const noArgs = (): BuildArgs => ({ given: {}, global: new Map(), used: new Set() });
const parseOne = (line: string) => parseDockerfile(`FROM scratch\n${line}\n`).stages[0].instructions[0];

test('metadata instructions change the config as dockerd does', () => {
  const state = freshState();
  const args: BuildArgs = { given: { VERSION: '2.0' }, global: new Map(), used: new Set() };
  applyMetadata(state, parseOne('ARG VERSION=1.0'), args, '\\');
  assert.equal(state.args.get('VERSION'), '2.0');
  assert.ok(args.used.has('VERSION'));
  assert.equal(applyMetadata(state, parseOne('ENV APP_VERSION=$VERSION HOME_DIR="/srv/my app"'), args, '\\'), 'ENV APP_VERSION=2.0 HOME_DIR=/srv/my app');
  assert.deepEqual(state.config.Env, ['PATH=/bin', 'APP_VERSION=2.0', 'HOME_DIR=/srv/my app']);
  applyMetadata(state, parseOne('ENV PATH=/usr/bin:$PATH'), args, '\\');
  assert.equal(state.config.Env![0], 'PATH=/usr/bin:/bin');
  applyMetadata(state, parseOne('WORKDIR /srv'), args, '\\');
  applyMetadata(state, parseOne('WORKDIR app/$VERSION'), args, '\\');
  assert.equal(state.config.WorkingDir, '/srv/app/2.0');
  applyMetadata(state, parseOne('LABEL "com.example.x y"=z v=$VERSION'), args, '\\');
  assert.deepEqual(state.config.Labels, { 'com.example.x y': 'z', v: '2.0' });
  applyMetadata(state, parseOne('EXPOSE 80 53/udp 8000-8001'), args, '\\');
  assert.deepEqual(Object.keys(state.config.ExposedPorts!), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp']);
  applyMetadata(state, parseOne('VOLUME ["/data", "/logs"]'), args, '\\');
  assert.deepEqual(Object.keys(state.config.Volumes!), ['/data', '/logs']);
  applyMetadata(state, parseOne('CMD echo $HOME'), args, '\\');
  assert.deepEqual(state.config.Cmd, ['/bin/sh', '-c', 'echo $HOME']);
  applyMetadata(state, parseOne('SHELL ["/bin/bash", "-ec"]'), args, '\\');
  applyMetadata(state, parseOne('ENTRYPOINT run.sh'), args, '\\');
  assert.deepEqual(state.config.Entrypoint, ['/bin/bash', '-ec', 'run.sh']);
  assert.deepEqual(state.config.Cmd, ['/bin/sh', '-c', 'echo $HOME'], 'CMD set in this stage survives ENTRYPOINT');
  applyMetadata(state, parseOne('USER 1000:1000'), args, '\\');
  applyMetadata(state, parseOne('STOPSIGNAL SIGINT'), args, '\\');
  applyMetadata(state, parseOne('HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost'), args, '\\');
  assert.deepEqual(state.config.Healthcheck, { Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 5e9, Retries: 2 });
  applyMetadata(state, parseOne('ONBUILD RUN echo triggered'), args, '\\');
  assert.deepEqual(state.config.OnBuild, ['RUN echo triggered']);
  assert.throws(() => applyMetadata(state, parseOne('ONBUILD ONBUILD RUN x'), args, '\\'), /Chaining ONBUILD/);
  assert.throws(() => applyMetadata(state, parseOne('SHELL /bin/bash'), args, '\\'), /JSON form/);
  assert.equal(state.config.User, '1000:1000');
  assert.equal(state.config.StopSignal, 'SIGINT');
});

test('ENTRYPOINT resets a CMD inherited from the base image; an unset build arg stays out', () => {
  const state: StageState = { config: { Cmd: ['sh'] }, args: new Map(), cmdSet: false };
  applyMetadata(state, parseOne('ENTRYPOINT ["/init"]'), noArgs(), '\\');
  assert.equal(state.config.Cmd, null);
  applyMetadata(state, parseOne('ARG NOTGIVEN'), noArgs(), '\\');
  assert.equal(state.args.get('NOTGIVEN'), undefined);
  assert.deepEqual(exposedPorts('8080/TCP'), ['8080/tcp']);
  assert.throws(() => exposedPorts('http'), /Invalid containerPort/);
  assert.equal(goDurationNanos('1m30s', 'interval'), 90e9);
});

test('parse checks: unknown instruction, no FROM, stages and global ARGs', () => {
  assert.throws(() => parseDockerfile('FROM busybox\nFROOB x\n'), /dockerfile parse error line 2: unknown instruction: FROOB/);
  assert.throws(() => parseDockerfile('RUN echo\n'), /no build stage in current context/);
  assert.throws(() => parseDockerfile('# nothing\n'), /cannot be empty/);
  const parsed = parseDockerfile('ARG BASE=busybox\nFROM ${BASE} AS Builder\nRUN --network=none make\nFROM scratch\nCOPY --from=builder --chown=1:1 /out /\n');
  assert.equal(parsed.globalArgs.length, 1);
  assert.deepEqual(parsed.stages.map((s) => [s.base, s.name]), [['${BASE}', 'builder'], ['scratch', undefined]]);
  const copy = parsed.stages[1].instructions[0];
  assert.deepEqual(copy.flags, [{ name: 'from', value: 'builder' }, { name: 'chown', value: '1:1' }]);
  assert.equal(copy.args, '/out /');
  assert.equal(copy.original, 'COPY --from=builder --chown=1:1 /out /');
  assert.deepEqual(parsed.stages[0].instructions[0].flags, [{ name: 'network', value: 'none' }]);
});

test('COPY planning: globs, directories, .dockerignore, destination rules, checksums', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-copy-'));
  try {
    const tree = new FileTree();
    const file = (path: string, text: string, mode = 0o644) => {
      const content = join(dir, path.replace(/\//g, '_'));
      writeFileSync(content, text);
      tree.add(path, { type: 'file', mode, size: Buffer.byteLength(text), mtime: new Date(0), content });
    };
    file('a.txt', 'A');
    file('b.txt', 'B');
    file('src/main.sh', 'echo', 0o755);
    file('src/secret.key', 'k');
    const source = { tree, ignored: (p: string) => p.endsWith('.key') };
    const plan = (sources: string[], dest: string, workingDir = '') => plannedEntries({ keyword: 'COPY', sources, dest, workingDir, owner: { uid: 0, gid: 0 }, scratchDir: dir }, source);
    assert.deepEqual((await plan(['*.txt'], '/dst/')).map((e) => e.path), ['dst/a.txt', 'dst/b.txt']);
    assert.deepEqual((await plan(['a.txt'], 'renamed', '/app')).map((e) => e.path), ['app/renamed']);
    assert.deepEqual((await plan(['a.txt'], '.', '/app')).map((e) => e.path), ['app/a.txt']);
    assert.deepEqual((await plan(['src'], '/opt/')).map((e) => e.path), ['opt', 'opt/main.sh'], 'contents of the directory, ignored file left out');
    await assert.rejects(plan(['*.txt'], '/single'), /must be a directory and end with a \//);
    await assert.rejects(plan(['src/secret.key'], '/x'), /excluded by .dockerignore/);
    await assert.rejects(plan(['missing'], '/x'), /file not found in build context/);
    await assert.rejects(plannedEntries({ keyword: 'ADD', sources: ['http://example.com/x.tgz'], dest: '/', workingDir: '', owner: { uid: 0, gid: 0 }, scratchDir: dir }, source), /URL is not possible on this VCH/);
    const one = await writeCopyLayer(await plan(['a.txt'], '/x/'), parseChown('1000'), join(dir, 'l1.tar'));
    const same = await writeCopyLayer(await plan(['a.txt'], '/x/'), parseChown('1000:1000'), join(dir, 'l2.tar'));
    const otherOwner = await writeCopyLayer(await plan(['a.txt'], '/x/'), parseChown('0'), join(dir, 'l3.tar'));
    assert.equal(one, same);
    assert.notEqual(one, otherOwner);
    assert.throws(() => parseChown('app:app'), /use numeric ids/);
    const etc: Record<string, string> = { '/etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n', '/etc/group': 'root:x:0:\nstaff:x:50:app\n' };
    const files = async (path: string) => etc[path];
    assert.deepEqual(await resolveChown('app:staff', files), { uid: 1000, gid: 50 });
    assert.deepEqual(await resolveChown('app:7', files), { uid: 1000, gid: 7 });
    await assert.rejects(resolveChown('app', files), /can't find gid for group app/);
    await assert.rejects(resolveChown('nobody:0', files), /can't find uid for user nobody/);
    const entries: Array<{ path: string; uid: number; mode: number }> = [];
    const { Parser } = await import('tar');
    const { createReadStream } = await import('node:fs');
    await new Promise<void>((resolve, reject) => {
      const parser = new Parser({ onReadEntry: (e) => { entries.push({ path: e.path, uid: e.uid ?? -1, mode: e.mode ?? 0 }); e.resume(); } });
      parser.on('end', resolve).on('error', reject);
      createReadStream(join(dir, 'l1.tar')).pipe(parser);
    });
    assert.deepEqual(entries, [{ path: 'x/', uid: 0, mode: 0o755 }, { path: 'x/a.txt', uid: 1000, mode: 0o644 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('syntax checks at parse time carry the line, as dockerd words them', async () => {
  const { checkSyntax } = await import('../../src/engine/build/instructions.ts');
  const check = (text: string) => {
    for (const i of parseDockerfile(`FROM scratch\n${text}\n`).stages[0].instructions) checkSyntax(i, '\\');
  };
  assert.throws(() => check('ENV'), /dockerfile parse error line 2: ENV requires at least one argument/);
  assert.throws(() => check('LABEL =x'), /line 2: LABEL names can not be blank/);
  assert.throws(() => check('ENV A=1\nCOPY onlyone'), /line 3: COPY requires at least two arguments/);
  assert.throws(() => check('HEALTHCHECK --retries=x CMD true'), /line 2: --retries must be a non-negative integer/);
  assert.throws(() => check('SHELL sh -c'), /JSON form/);
  check('WORKDIR /my dir\nUSER 1000:1000\nENV A=1 B="x y"\nARG C\nCOPY ["a b", "/c/"]\nHEALTHCHECK NONE');
});
