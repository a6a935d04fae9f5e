// Real client: skopeo copies an offline-built busybox image in and out over HTTPS (generated CA),
// through the Bearer token flow, and pulls anonymously from a public project.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_PASSWORD, createProject, createUser, addMember, makeOciLayout, run, startTestRegistry, type TestRegistry } from './helpers.ts';

let t: TestRegistry;
let host: string;
let certDir: string;
let policy: string;
let layout: string;

before(async () => {
  t = await startTestRegistry({ insecureHttp: false });
  host = new URL(t.url).host;
  certDir = join(t.dir, 'certs');
  await mkdir(certDir);
  await copyFile(t.registry.caCertPath!, join(certDir, 'ca.crt'));
  policy = join(t.dir, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  layout = join(t.dir, 'layout');
  await makeOciLayout(layout, 'latest');
  await createProject(t.url, 'sk');
  await createProject(t.url, 'open', { public: true });
}, { timeout: 60_000 });
after(async () => { await t.stop(); });

const skopeo = (...args: string[]) => run('skopeo', ['--policy', policy, ...args], { timeout: 120_000, env: { ...process.env, HOME: t.dir } });

test('skopeo copy pushes an OCI image over HTTPS with credentials, and pulls it back identical', { timeout: 180_000 }, async () => {
  await skopeo('copy', '--dest-cert-dir', certDir, '--dest-creds', `admin:${ADMIN_PASSWORD}`, `oci:${layout}:latest`, `docker://${host}/sk/busybox:1.0`);
  const out = join(t.dir, 'out');
  await skopeo('copy', '--src-cert-dir', certDir, '--src-creds', `admin:${ADMIN_PASSWORD}`, `docker://${host}/sk/busybox:1.0`, `oci:${out}:copy`);
  const src = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')).manifests[0];
  const dst = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')).manifests[0];
  assert.equal(dst.digest, src.digest, 'manifest digest survives the round trip');
  const manifest = JSON.parse(await readFile(join(out, 'blobs', 'sha256', dst.digest.slice(7)), 'utf8'));
  for (const l of manifest.layers) {
    assert.deepEqual(await readFile(join(out, 'blobs', 'sha256', l.digest.slice(7))), await readFile(join(layout, 'blobs', 'sha256', l.digest.slice(7))));
  }
  const { stdout } = await skopeo('list-tags', '--cert-dir', certDir, '--creds', `admin:${ADMIN_PASSWORD}`, `docker://${host}/sk/busybox`);
  assert.deepEqual(JSON.parse(stdout).Tags, ['1.0']);
});

test('skopeo: anonymous pull works on a public project and fails on a private one', { timeout: 180_000 }, async () => {
  await skopeo('copy', '--dest-cert-dir', certDir, '--dest-creds', `admin:${ADMIN_PASSWORD}`, `oci:${layout}:latest`, `docker://${host}/open/busybox:latest`);
  const { stdout } = await skopeo('inspect', '--raw', '--cert-dir', certDir, '--no-creds', `docker://${host}/open/busybox:latest`);
  assert.equal(JSON.parse(stdout).schemaVersion, 2);
  await assert.rejects(skopeo('inspect', '--raw', '--cert-dir', certDir, '--no-creds', `docker://${host}/sk/busybox:1.0`));
});

test('skopeo: a guest can pull but not push; a developer can push', { timeout: 180_000 }, async () => {
  await createUser(t.url, 'skguest');
  await createUser(t.url, 'skdev');
  await addMember(t.url, 'sk', 'skguest', 3);
  await addMember(t.url, 'sk', 'skdev', 2);
  await skopeo('inspect', '--raw', '--cert-dir', certDir, '--creds', 'skguest:Passw0rdX', `docker://${host}/sk/busybox:1.0`);
  await assert.rejects(skopeo('copy', '--dest-cert-dir', certDir, '--dest-creds', 'skguest:Passw0rdX', `oci:${layout}:latest`, `docker://${host}/sk/guestpush:1`));
  await skopeo('copy', '--dest-cert-dir', certDir, '--dest-creds', 'skdev:Passw0rdX', `oci:${layout}:latest`, `docker://${host}/sk/devpush:1`);
  await assert.rejects(skopeo('copy', '--dest-cert-dir', certDir, '--dest-creds', 'skdev:wrong', `oci:${layout}:latest`, `docker://${host}/sk/devpush:2`));
});
