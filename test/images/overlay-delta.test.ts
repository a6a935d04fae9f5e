// Folding a scratch overlay upper (what a host-side `docker cp` changed) into a container's upper/:
// whiteouts and files replace, opaque directories replace whole subtrees, plain directories merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foldDelta } from '../../src/backends/qemu/disks/overlay-delta.ts';

function whiteout(path: string): void {
  execFileSync('mknod', [path, 'c', '0', '0']);
}

test('foldDelta applies whiteouts, opaque directories and merges as overlayfs would have', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-delta-'));
  try {
    const upper = join(dir, 'upper');
    const delta = join(dir, 'delta');
    mkdirSync(join(upper, 'keep'), { recursive: true });
    writeFileSync(join(upper, 'keep/old.txt'), 'old');
    writeFileSync(join(upper, 'gone.txt'), 'bye');
    mkdirSync(join(upper, 'replaced'));
    writeFileSync(join(upper, 'replaced/stale.txt'), 'stale');

    mkdirSync(join(delta, 'keep'), { recursive: true });
    chmodSync(join(delta, 'keep'), 0o750);
    writeFileSync(join(delta, 'keep/new.txt'), 'new');
    chownSync(join(delta, 'keep/new.txt'), 1234, 5678);
    chmodSync(join(delta, 'keep/new.txt'), 0o640);
    whiteout(join(delta, 'gone.txt'));
    mkdirSync(join(delta, 'replaced'));
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(delta, 'replaced')]);
    writeFileSync(join(delta, 'replaced/fresh.txt'), 'fresh');

    await foldDelta(delta, upper);

    assert.deepEqual(readdirSync(join(upper, 'keep')).sort(), ['new.txt', 'old.txt']);
    assert.equal(lstatSync(join(upper, 'keep')).mode & 0o777, 0o750);
    const added = lstatSync(join(upper, 'keep/new.txt'));
    assert.deepEqual([added.uid, added.gid, added.mode & 0o777], [1234, 5678, 0o640]);
    const gone = lstatSync(join(upper, 'gone.txt'));
    assert.ok(gone.isCharacterDevice() && gone.rdev === 0, 'a whiteout now hides the file');
    assert.deepEqual(readdirSync(join(upper, 'replaced')), ['fresh.txt']);
    assert.equal(readFileSync(join(upper, 'replaced/fresh.txt'), 'utf8'), 'fresh');
    assert.match(execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', '--only-values', join(upper, 'replaced')], { encoding: 'utf8' }), /^y/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
