// Real client: Debian's dockerd (private data/exec roots, no networking changes) and the docker
// CLI log in through the token service, pull an image pushed by skopeo, and push it back, over
// HTTPS with the registry's generated CA installed in /etc/docker/certs.d/<host:port>/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, copyFile, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_PASSWORD, adminAuth, call, createProject, createUser, addMember, makeOciLayout, run, startTestRegistry, type TestRegistry } from './helpers.ts';

const haveDocker = existsSync('/usr/sbin/dockerd') && existsSync('/usr/local/bin/docker');
let t: TestRegistry;
let dockerd: ChildProcess | null = null;
let sock: string;
let host: string;
let certsDir: string;
let dockerConfig: string;

const docker = (...args: string[]) => run('docker', ['-H', `unix://${sock}`, ...args], { timeout: 180_000, env: { ...process.env, DOCKER_CONFIG: dockerConfig } });

/** `docker login --password-stdin`; resolves to its exit code. */
async function dockerLogin(user: string, password: string): Promise<number | null> {
  const login = spawn('docker', ['-H', `unix://${sock}`, 'login', '-u', user, '--password-stdin', host],
    { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, stdio: ['pipe', 'ignore', 'ignore'] });
  login.stdin.end(password);
  const timer = setTimeout(() => login.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => login.once('exit', r));
  clearTimeout(timer);
  return code;
}

before(async () => {
  if (!haveDocker) return;
  t = await startTestRegistry({ insecureHttp: false });
  host = new URL(t.url).host;
  certsDir = `/etc/docker/certs.d/${host}`;
  await mkdir(certsDir, { recursive: true });
  await copyFile(t.registry.caCertPath!, join(certsDir, 'ca.crt'));
  dockerConfig = join(t.dir, 'docker-config');
  await mkdir(dockerConfig);
  const d = join(t.dir, 'dockerd');
  sock = join(d, 'docker.sock');
  await mkdir(d);
  dockerd = spawn('dockerd', ['--storage-driver=vfs', '--data-root', join(d, 'data'), '--exec-root', join(d, 'exec'), '--pidfile', join(d, 'pid'),
    '-H', `unix://${sock}`, '--bridge=none', '--iptables=false', '--ip6tables=false'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  dockerd.stderr!.on('data', (c) => { log = (log + c).slice(-4000); });
  for (let i = 0; ; i++) {
    try { await docker('version'); break; } catch {
      if (i > 120 || dockerd.exitCode !== null) throw new Error(`dockerd did not start:\n${log}`);
      await sleep(250);
    }
  }
  // Seed the registry with an image built offline, via skopeo.
  const layout = join(t.dir, 'layout');
  await makeOciLayout(layout);
  await createProject(t.url, 'dk');
  await createProject(t.url, 'dkpub', { public: true });
  const certDir = join(t.dir, 'skopeo-certs');
  await mkdir(certDir);
  await copyFile(t.registry.caCertPath!, join(certDir, 'ca.crt'));
  const policy = join(t.dir, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  for (const dest of ['dk/busybox:1', 'dkpub/busybox:1']) {
    await run('skopeo', ['--policy', policy, 'copy', '--dest-cert-dir', certDir, '--dest-creds', `admin:${ADMIN_PASSWORD}`, `oci:${layout}:latest`, `docker://${host}/${dest}`], { timeout: 120_000 });
  }
}, { timeout: 240_000 });

after(async () => {
  if (!haveDocker) return;
  if (dockerd && dockerd.exitCode === null) {
    const exited = new Promise((r) => dockerd!.once('exit', r));
    dockerd.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000).then(() => dockerd!.kill('SIGKILL'))]);
  }
  await rm(certsDir, { recursive: true, force: true });
  await t.stop();
});

test('docker login, pull, tag and push through dockerd over HTTPS with the registry CA', { skip: haveDocker ? false : 'SKIPPED LOUDLY: dockerd/docker not installed', timeout: 300_000 }, async () => {
  assert.notEqual(await dockerLogin('admin', 'Wrong-password1'), 0, 'login with a wrong password fails');
  assert.equal(await dockerLogin('admin', ADMIN_PASSWORD), 0, 'docker login succeeds');
  await docker('pull', `${host}/dk/busybox:1`);
  await docker('tag', `${host}/dk/busybox:1`, `${host}/dk/pushed:2`);
  await docker('push', `${host}/dk/pushed:2`);
  const tags = await call(t.url, '/v2/dk/pushed/tags/list', { auth: adminAuth });
  assert.deepEqual((await tags.json() as any).tags, ['2']);
  const manifest = await call(t.url, '/v2/dk/pushed/manifests/2', { auth: adminAuth, headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(manifest.status, 200);
  await manifest.body?.cancel();
  await docker('logout', host);
});

test('docker: anonymous pull of a public project works; of a private one fails; a guest cannot push', { skip: haveDocker ? false : 'SKIPPED LOUDLY: dockerd/docker not installed', timeout: 300_000 }, async () => {
  await docker('pull', `${host}/dkpub/busybox:1`);
  await assert.rejects(docker('pull', `${host}/dk/busybox:1`));
  await createUser(t.url, 'dkguest');
  await addMember(t.url, 'dk', 'dkguest', 3);
  assert.equal(await dockerLogin('dkguest', 'Passw0rdX'), 0);
  await docker('tag', `${host}/dkpub/busybox:1`, `${host}/dk/guest:1`);
  await assert.rejects(docker('push', `${host}/dk/guest:1`));
  await docker('logout', host);
});
