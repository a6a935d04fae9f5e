import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toContainerSpec, mergeEnv } from '../../src/engine/docker/create-request.ts';
import type { ImageRecord } from '../../src/portlayer/images/types.ts';
import { statusOf } from '../../src/engine/http/errors.ts';

function image(config: ImageRecord['config']['config']): ImageRecord {
  return {
    id: 'sha256:' + 'a'.repeat(64), repoTags: ['img:latest'], repoDigests: [], layers: [], size: 0, stored: new Date().toISOString(),
    config: { architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [] } },
  };
}

test('image Entrypoint and Cmd combine the way dockerd does', () => {
  const img = image({ Entrypoint: ['/entry'], Cmd: ['default'] });
  assert.deepEqual(toContainerSpec('', { Image: 'img' }, img).process.argv, ['/entry', 'default']);
  assert.deepEqual(toContainerSpec('', { Image: 'img', Cmd: ['x'] }, img).process.argv, ['/entry', 'x']);
  // A new entrypoint drops the image's cmd.
  assert.deepEqual(toContainerSpec('', { Image: 'img', Entrypoint: ['/other'] }, img).process.argv, ['/other']);
  // An empty entrypoint string clears it.
  assert.deepEqual(toContainerSpec('', { Image: 'img', Entrypoint: [''], Cmd: ['sh'] }, img).process.argv, ['sh']);
  assert.throws(() => toContainerSpec('', { Image: 'img' }, image({})), (err) => statusOf(err) === 400);
});

test('env merges image and request by name; tty adds TERM; image defaults apply', () => {
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C']), ['A=1', 'B=3', 'C']);
  const spec = toContainerSpec('web', { Image: 'img', Env: ['FOO=bar'], Tty: true }, image({ Cmd: ['sh'], Env: ['PATH=/bin', 'FOO=old'], WorkingDir: '/srv', User: 'app' }));
  assert.deepEqual(spec.process.env, ['PATH=/bin', 'FOO=bar', 'TERM=xterm']);
  assert.equal(spec.process.workingDir, '/srv');
  assert.equal(spec.process.user, 'app');
  assert.equal(spec.name, 'web');
  assert.equal(spec.stopSignal, 'SIGTERM');
});

test('memory below Docker\'s minimum is refused', () => {
  assert.throws(() => toContainerSpec('', { Image: 'img', HostConfig: { Memory: 1024 } }, image({ Cmd: ['sh'] })), /Minimum memory/);
});
