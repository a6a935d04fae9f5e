import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterContainers } from '../../src/engine/docker/container-filters.ts';
import { humanDuration } from '../../src/engine/docker/human-duration.ts';
import type { ContainerView } from '../../src/portlayer/containers/model.ts';
import { initialState } from '../../src/portlayer/containers/model.ts';

function container(id: string, name: string, status: ContainerView['state']['status'], labels: Record<string, string> = {}, exitCode = 0): ContainerView {
  return {
    dir: `/x/${id}`,
    state: { ...initialState(), status, exitCode },
    record: {
      id, created: new Date().toISOString(), imageId: 'sha256:abc', layerDisks: [],
      spec: { name, imageReference: 'busybox', process: { argv: ['sh'], env: [], workingDir: '/', user: '', tty: false, openStdin: false },
        hostname: '', domainname: '', labels, stopSignal: 'SIGTERM', autoRemove: false, memoryBytes: 0, cpus: 0, personality: {} },
    },
  };
}

const all = [container('aaa1', 'web', 'running', { tier: 'front' }), container('bbb2', 'db', 'exited', {}, 3), container('ccc3', 'cache', 'created')];
const names = (f: Map<string, string[]>) => filterContainers(all, f).map((c) => c.record.spec.name);

test('filters: same key ORs, different keys AND, unknown keys refused', () => {
  assert.deepEqual(names(new Map([['status', ['running', 'created']]])), ['web', 'cache']);
  assert.deepEqual(names(new Map([['status', ['exited']], ['exited', ['3']]])), ['db']);
  assert.deepEqual(names(new Map([['label', ['tier=front']]])), ['web']);
  assert.deepEqual(names(new Map([['label', ['tier']]])), ['web']);
  assert.deepEqual(names(new Map([['label', ['constructor']]])), [], 'only a container\'s own labels count');
  assert.deepEqual(names(new Map([['id', ['bb']]])), ['db']);
  assert.deepEqual(names(new Map([['name', ['^/?ca']]])), ['cache']);
  assert.throws(() => names(new Map([['bogus', ['1']]])), /invalid filter/);
  assert.throws(() => names(new Map([['status', ['sleeping']]])), /invalid filter/);
});

test('human durations read like docker ps', () => {
  assert.equal(humanDuration(300), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(45_000), '45 seconds');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(3600_000), 'About an hour');
  assert.equal(humanDuration(5 * 3600_000), '5 hours');
  assert.equal(humanDuration(3 * 86400_000), '3 days');
});
