// A VM that never comes up is killed and reported, never left running: a guest whose init hangs
// instead of starting the tether, and one whose init is missing (the kernel panics and QEMU exits).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestVch, repoRoot } from '../helpers/vch.ts';
import { buildTestImages } from '../fixtures/images.ts';

const work = mkdtempSync(join(tmpdir(), 'bonneville-badguest-'));

/** A guest directory with the real kernel and an initramfs whose /init is `script`. */
function brokenGuest(name: string, script: string | undefined): string {
  const dir = join(work, name);
  const stage = join(dir, 'stage');
  mkdirSync(join(stage, 'bin'), { recursive: true });
  copyFileSync(join(repoRoot, 'build/guest/vmlinux'), join(dir, 'vmlinux'));
  if (script !== undefined) {
    copyFileSync('/bin/busybox', join(stage, 'bin/busybox'));
    writeFileSync(join(stage, 'init'), `#!/bin/busybox sh\n${script}\n`);
    chmodSync(join(stage, 'init'), 0o755);
  }
  execFileSync('sh', ['-c', `cd ${stage} && find . | cpio -o -H newc --quiet > ../initramfs.cpio`]);
  rmSync(stage, { recursive: true });
  return dir;
}

const hanging = new TestVch('hang', ['--guest', brokenGuest('hang', '/bin/busybox sleep 1000'), '--boot-timeout', '5', '--accel', 'tcg']);
const panicking = new TestVch('panic', ['--guest', brokenGuest('panic', undefined), '--boot-timeout', '30', '--accel', 'tcg']);

before(async () => {
  const images = await buildTestImages();
  for (const vch of [hanging, panicking]) {
    await vch.start();
    const load = await vch.docker(['load', '-i', images.busybox]);
    assert.equal(load.code, 0, load.stderr);
  }
});

after(async () => {
  await hanging.destroy();
  await panicking.destroy();
  rmSync(work, { recursive: true, force: true });
});

test('a VM that does not come up in time is killed and the start fails with a clear error', async () => {
  const run = await hanging.docker(['run', '--name', 'slow', 'busybox', 'true']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /did not come up/);
  assert.deepEqual(hanging.qemuPids(), []);
  const state = JSON.parse((await hanging.docker(['inspect', 'slow'])).stdout)[0].State;
  assert.equal(state.Status, 'exited');
  assert.notEqual(state.ExitCode, 0);
  assert.match(state.Error, /did not come up/);
});

test('a VM whose guest dies during boot is reported, with nothing left running', async () => {
  const run = await panicking.docker(['run', '--rm', 'busybox', 'true']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /QEMU exited during boot|did not come up/);
  assert.deepEqual(panicking.qemuPids(), []);
});
