// Issue 3, the user's path against a plain-HTTP Debian docker-registry the VCH's admin lists as
// insecure: pull (tag, digest, OCI, multi-platform index), progress, re-pull, push (byte-identical,
// cross-repository mount), docker run of a missing image, export, save/load, import, rmi, filters,
// prune, history and system df — all through the real docker CLI. One container VM boots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestVch, runCommand } from '../helpers/vch.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { TestRegistry, skopeoCopy, skopeoRawManifest, rawPushBlob, rawPushManifest, sha256 } from './peers.ts';

const vch = new TestVch('remote');
const registry = new TestRegistry();
const work = mkdtempSync(join(tmpdir(), 'bonneville-remote-'));
let images: Awaited<ReturnType<typeof buildTestImages>>;
let host = '';

before(async () => {
  images = await buildTestImages();
  await registry.start();
  host = registry.host;
  await skopeoCopy(`docker-archive:${images.busybox}`, `docker://${host}/busybox:latest`);
  await skopeoCopy(`docker-archive:${images.layered}`, `docker://${host}/layered:latest`);
  await skopeoCopy(`oci-archive:${images.busyboxOci}:busybox-oci:latest`, `docker://${host}/busybox-oci:latest`);
  await pushMultiPlatformIndex();
  mkdirSync(vch.datastore, { recursive: true });
  writeFileSync(join(vch.datastore, 'registries.json'), JSON.stringify({ insecureRegistries: [host] }));
  await vch.start();
});

after(async () => {
  await vch.destroy();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
});

/** multi:latest, an OCI index with an arm64 image and the busybox amd64 image. */
async function pushMultiPlatformIndex(): Promise<void> {
  const amd64 = await skopeoRawManifest(`docker://${host}/busybox:latest`);
  const amd64Doc = JSON.parse(amd64.toString());
  const layer = amd64Doc.layers[0];
  const busyboxConfigBytes = readFileSync(registry.blobFile(amd64Doc.config.digest));
  const armConfig = Buffer.from(JSON.stringify({ ...JSON.parse(busyboxConfigBytes.toString()), architecture: 'arm64' }));
  await rawPushBlob(registry.url, 'multi', busyboxConfigBytes);
  await rawPushBlob(registry.url, 'multi', armConfig);
  await rawPushBlob(registry.url, 'multi', readFileSync(registry.blobFile(layer.digest)));
  await rawPushManifest(registry.url, 'multi', sha256(amd64), amd64, amd64Doc.mediaType);
  const arm = Buffer.from(JSON.stringify({ ...amd64Doc, config: { ...amd64Doc.config, digest: sha256(armConfig), size: armConfig.length } }));
  await rawPushManifest(registry.url, 'multi', sha256(arm), arm, amd64Doc.mediaType);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: amd64Doc.mediaType, digest: sha256(arm), size: arm.length, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: amd64Doc.mediaType, digest: sha256(amd64), size: amd64.length, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  }));
  await rawPushManifest(registry.url, 'multi', 'latest', index, 'application/vnd.oci.image.index.v1+json');
}

async function ok(args: string[], input?: string) {
  const result = await vch.docker(args, input === undefined ? {} : { input });
  assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}\n${vch.engineLog.slice(-2000)}`);
  return result;
}

async function inspect(reference: string): Promise<Record<string, any>> {
  return JSON.parse((await ok(['image', 'inspect', reference])).stdout)[0];
}

test('docker pull by tag shows per-layer progress and records the registry digest', async () => {
  const pull = await ok(['pull', `${host}/busybox:latest`]);
  for (const line of [/Pulling from busybox/, /: Pulling fs layer/, /: Verifying Checksum/, /: Download complete/, /: Pull complete/, /Digest: sha256:[0-9a-f]{64}/, new RegExp(`Status: Downloaded newer image for ${host}/busybox:latest`)]) {
    assert.match(pull.stdout, line);
  }
  const manifestDigest = sha256(await skopeoRawManifest(`docker://${host}/busybox:latest`));
  const image = await inspect(`${host}/busybox:latest`);
  assert.deepEqual(image.RepoTags, [`${host}/busybox:latest`]);
  assert.deepEqual(image.RepoDigests, [`${host}/busybox@${manifestDigest}`]);
  assert.equal(image.RootFS.Layers.length, 1);
  assert.ok(image.Size > 0);
});

test('pulling again is up to date; a second image reuses the shared layer', async () => {
  const again = await ok(['pull', `${host}/busybox:latest`]);
  assert.match(again.stdout, /Image is up to date/);
  assert.doesNotMatch(again.stdout, /Pull complete/);
  const layered = await ok(['pull', `${host}/layered`]);
  assert.match(layered.stdout, /Already exists/);
  assert.equal((layered.stdout.match(/Pull complete/g) ?? []).length, 1, layered.stdout);
});

test('pull by digest, an OCI manifest, and a multi-platform index (linux/amd64 chosen)', async () => {
  const digest = sha256(await skopeoRawManifest(`docker://${host}/busybox-oci:latest`));
  const byDigest = await ok(['pull', `${host}/busybox-oci@${digest}`]);
  assert.match(byDigest.stdout, new RegExp(`Digest: ${digest}`));
  const oci = await inspect(`${host}/busybox-oci@${digest}`);
  assert.equal(oci.Config.Labels['org.bonneville.test.format'], 'oci');
  assert.ok(oci.RepoDigests.includes(`${host}/busybox-oci@${digest}`));

  const indexDigest = sha256(await skopeoRawManifest(`docker://${host}/multi:latest`));
  await ok(['pull', `${host}/multi:latest`]);
  const multi = await inspect(`${host}/multi:latest`);
  assert.equal(multi.Architecture, 'amd64');
  assert.equal(multi.Id, (await inspect(`${host}/busybox:latest`)).Id);
  assert.deepEqual(multi.RepoDigests.filter((d: string) => d.startsWith(`${host}/multi@`)), [`${host}/multi@${indexDigest}`]);
});

test('push of a pulled image is byte-identical and mounts blobs across repositories', async () => {
  const source = sha256(await skopeoRawManifest(`docker://${host}/layered:latest`));
  await ok(['tag', `${host}/layered:latest`, `${host}/copies/layered:v2`]);
  const push = await ok(['push', `${host}/copies/layered:v2`]);
  assert.match(push.stdout, /Preparing/);
  assert.match(push.stdout, /Mounted from layered|Layer already exists/);
  assert.match(push.stdout, new RegExp(`v2: digest: ${source} size: \\d+`));
  assert.equal(sha256(await skopeoRawManifest(`docker://${host}/copies/layered:v2`)), source);
  const again = await ok(['push', `${host}/copies/layered:v2`]);
  assert.match(again.stdout, /Layer already exists/);
});

test('push of a loaded image uploads its layers; it pulls back as the same image', async () => {
  await ok(['load', '-i', images.busyboxOci]);
  const id = (await inspect('busybox-oci:latest')).Id;
  await ok(['tag', 'busybox-oci:latest', `${host}/loaded/busybox-oci:1`]);
  const push = await ok(['push', `${host}/loaded/busybox-oci:1`]);
  // Its one layer was pulled before from another repository here: the registry links it.
  assert.match(push.stdout, /Pushed|Layer already exists|Mounted from busybox/);
  await ok(['rmi', `${host}/loaded/busybox-oci:1`]);
  await ok(['pull', `${host}/loaded/busybox-oci:1`]);
  assert.equal((await inspect(`${host}/loaded/busybox-oci:1`)).Id, id);
});

test('docker run of a missing image pulls it; docker export shows the merged filesystem', async () => {
  await skopeoCopy(`docker-archive:${images.layered}`, `docker://${host}/run/layered:latest`);
  const run = await vch.docker(['run', '--name', 'exp', `${host}/run/layered`, 'sh', '-c', 'echo hello > /new-file; rm /etc/layered-release'], { timeoutMs: 240_000 });
  assert.equal(run.code, 0, run.stderr + vch.engineLog.slice(-2000));
  assert.match(run.stderr, /Unable to find image/);
  assert.match(run.stderr, /Pulling from run\/layered/);
  assert.match(run.stderr, /Status: (Downloaded newer image|Image is up to date) for /);
  const tarball = join(work, 'export.tar');
  await ok(['export', '-o', tarball, 'exp']);
  const listing = await runCommand('tar', ['-tf', tarball]);
  const names = new Set(listing.stdout.split('\n').map((n) => n.replace(/^\.\//, '').replace(/\/$/, '')));
  assert.ok(names.has('new-file'), 'the container wrote /new-file');
  assert.ok(names.has('bin/busybox'), 'the bottom layer is there');
  assert.ok(names.has('etc/layered-release.link'), 'the top layer is there');
  assert.ok(!names.has('etc/layered-release'), 'the container deleted it');
  assert.ok(!names.has('etc/motd'), 'the image layer whited it out');
  const content = await runCommand('tar', ['-xOf', tarball, 'new-file']);
  assert.equal(content.stdout, 'hello\n');
});

test('a committed image pushes and pulls back as the same image', async () => {
  await ok(['commit', '-c', 'CMD ["cat", "/new-file"]', 'exp', `${host}/committed/app:1`]);
  const id = (await inspect(`${host}/committed/app:1`)).Id;
  const push = await ok(['push', `${host}/committed/app:1`]);
  assert.match(push.stdout, /1: digest: sha256:[0-9a-f]{64} size: \d+/);
  await ok(['rmi', `${host}/committed/app:1`]);
  await ok(['pull', `${host}/committed/app:1`]);
  assert.equal((await inspect(`${host}/committed/app:1`)).Id, id);
  const run = await ok(['run', '--rm', `${host}/committed/app:1`]);
  assert.equal(run.stdout, 'hello\n');
});

test('rmi: untag vs delete, conflicts while a container uses the image, -f', async () => {
  await ok(['tag', `${host}/busybox:latest`, 'extra:one']);
  const untag = await ok(['rmi', 'extra:one']);
  assert.match(untag.stdout, /Untagged: extra:one/);
  assert.doesNotMatch(untag.stdout, /Deleted/);
  await ok(['tag', `${host}/busybox:latest`, 'extra:two']);
  const byId = await vch.docker(['rmi', (await inspect('extra:two')).Id]);
  assert.notEqual(byId.code, 0);
  assert.match(byId.stderr, /must be forced\) - image is referenced in multiple repositories/);
  await ok(['rmi', 'extra:two']);

  // The container "exp" (stopped) uses run/layered: untagging leaves the image; deleting needs -f.
  const untagUsed = await ok(['rmi', `${host}/run/layered`]);
  assert.match(untagUsed.stdout, /Untagged:/);
  const imageId = (await inspect(`${host}/layered:latest`)).Id;
  const refused = await vch.docker(['rmi', imageId]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /conflict: unable to delete [0-9a-f]{12} \(must be forced\)/);
  const forced = await ok(['rmi', '-f', imageId]);
  assert.match(forced.stdout, /Untagged:/);
  assert.match(forced.stdout, new RegExp(`Deleted: ${imageId}`));
  // The container keeps its layers: its filesystem still exports whole.
  const tarball = join(work, 'export-after-rmi.tar');
  await ok(['export', '-o', tarball, 'exp']);
  assert.match((await runCommand('tar', ['-tf', tarball])).stdout, /bin\/busybox/);
  const missing = await vch.docker(['rmi', 'no-such-image']);
  assert.match(missing.stderr, /No such image/);
});

test('docker images filters (dangling, reference, label, before/since) and --digests', async () => {
  const names = async (filter: string[]) => (await ok(['images', ...filter, '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').filter(Boolean).sort();
  assert.deepEqual(await names(['--filter', `reference=${host}/busybox`]), [`${host}/busybox:latest`]);
  assert.deepEqual(await names(['--filter', `reference=${host}/mul*:latest`]), [`${host}/multi:latest`]);
  assert.deepEqual(await names(['--filter', 'label=org.bonneville.test.format=oci']).then((n) => n.every((x) => x.includes('busybox-oci'))), true);
  const digests = await ok(['images', '--digests', '--format', '{{.Repository}} {{.Digest}}', `${host}/busybox`]);
  assert.match(digests.stdout, new RegExp(`${host}/busybox sha256:[0-9a-f]{64}`));

  // Two imported images, one after the other: before/since order them; the untagged one is dangling.
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/imported'), 'imported\n');
  const tar = join(work, 'rootfs.tar');
  await runCommand('tar', ['-C', rootfs, '-cf', tar, '.']);
  const first = await ok(['import', '--change', 'CMD ["/bin/true"]', '--message', 'first import', tar, 'imported:first']);
  assert.match(first.stdout, /^sha256:[0-9a-f]{64}/);
  writeFileSync(join(rootfs, 'etc/imported'), 'second\n');
  await runCommand('tar', ['-C', rootfs, '-cf', tar, '.']);
  await new Promise((r) => setTimeout(r, 1100)); // created times are compared in seconds by users' eyes, ms here
  const second = await ok(['import', tar]);
  const secondId = second.stdout.trim();
  assert.deepEqual(await names(['--filter', 'since=imported:first']), ['<none>:<none>']);
  assert.ok((await names(['--filter', `before=${secondId}`])).includes('imported:first'));
  const dangling = await ok(['images', '--filter', 'dangling=true', '-q', '--no-trunc']);
  assert.deepEqual(dangling.stdout.trim().split('\n'), [secondId]);

  const imported = await inspect('imported:first');
  assert.deepEqual(imported.Config.Cmd, ['/bin/true']);
  const history = await ok(['history', '--format', '{{.Comment}}', 'imported:first']);
  assert.match(history.stdout, /first import/);
});

test('docker image prune removes dangling images; -a keeps images containers use; system df adds up', async () => {
  const prune = await ok(['image', 'prune', '-f']);
  assert.match(prune.stdout, /deleted: sha256:/i);
  assert.match(prune.stdout, /Total reclaimed space/);
  assert.equal((await ok(['images', '--filter', 'dangling=true', '-q'])).stdout.trim(), '');

  const df = await ok(['system', 'df', '--format', '{{json .}}']);
  const rows = df.stdout.trim().split('\n').map((line) => JSON.parse(line));
  const imagesRow = rows.find((r) => r.Type === 'Images');
  const containersRow = rows.find((r) => r.Type === 'Containers');
  assert.ok(Number(imagesRow.TotalCount) >= 3, df.stdout);
  assert.equal(Number(containersRow.TotalCount), 1);
  const verbose = await ok(['system', 'df', '-v']);
  assert.match(verbose.stdout, /exp/);

  const all = await ok(['image', 'prune', '-a', '-f']);
  assert.match(all.stdout, /deleted: sha256:/i);
  assert.equal((await ok(['images', '-a', '-q'])).stdout.trim(), '');
  // exp's image was force-deleted earlier; its layers stay while it exists.
  const tarball = join(work, 'export-after-prune.tar');
  await ok(['export', '-o', tarball, 'exp']);
  assert.match((await runCommand('tar', ['-tf', tarball])).stdout, /etc\/layered-release\.link/);
  await ok(['rm', 'exp']);
});

test('save and load round-trip two images in one tarball', async () => {
  await ok(['pull', `${host}/busybox:latest`]);
  await ok(['pull', `${host}/layered:latest`]);
  const ids = [(await inspect(`${host}/busybox:latest`)).Id, (await inspect(`${host}/layered:latest`)).Id];
  const tarball = join(work, 'two.tar');
  await ok(['save', '-o', tarball, `${host}/busybox:latest`, `${host}/layered:latest`]);
  await ok(['rmi', '-f', ...ids]);
  for (const id of ids) assert.notEqual((await vch.docker(['image', 'inspect', id])).code, 0);
  const load = await ok(['load', '-i', tarball]);
  assert.match(load.stdout, new RegExp(`Loaded image: ${host}/busybox:latest`));
  assert.match(load.stdout, new RegExp(`Loaded image: ${host}/layered:latest`));
  assert.deepEqual([(await inspect(`${host}/busybox:latest`)).Id, (await inspect(`${host}/layered:latest`)).Id], ids);
  const skopeo = await runCommand('skopeo', ['inspect', `docker-archive:${tarball}:${host}/layered:latest`]);
  assert.equal(skopeo.code, 0, skopeo.stderr);
});


test('GET /distribution/{name}/json describes what the registry holds without pulling it', async () => {
  const ask = async (name: string) => {
    const r = await runCommand('curl', ['-s', '-w', '\\n%{http_code}', '--unix-socket', vch.socket, `http://engine/v1.48/distribution/${name}/json`]);
    const lines = r.stdout.trimEnd().split('\n');
    return { status: Number(lines.pop()), body: JSON.parse(lines.join('\n')) };
  };
  const index = await ask(`${host}/multi:latest`);
  assert.equal(index.status, 200, JSON.stringify(index.body));
  assert.equal(index.body.Descriptor.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.match(index.body.Descriptor.digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(index.body.Platforms.map((p: { architecture: string }) => p.architecture).sort(), ['amd64', 'arm64']);
  const single = await ask(`${host}/busybox:latest`);
  assert.equal(single.status, 200, JSON.stringify(single.body));
  assert.deepEqual(single.body.Platforms, [{ architecture: 'amd64', os: 'linux' }]);
  const missing = await ask(`${host}/busybox:no-such-tag`);
  assert.equal(missing.status, 404);
  assert.match(missing.body.message, /manifest for .*busybox:no-such-tag not found/);
});
