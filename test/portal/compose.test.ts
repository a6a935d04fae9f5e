// Compose templates parsed into plans: what is accepted, and what is refused with a clear 400.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCompose, containerCount, memoryOf } from '../../src/portal/compose.ts';
import { HttpError } from '../../src/portal/http.ts';

const refused = (text: string, message: RegExp) => assert.throws(() => parseCompose(text), (err: unknown) =>
  err instanceof HttpError && err.status === 400 && message.test(err.message));

test('services, scale, memory, networks and named volumes become a plan', () => {
  const plan = parseCompose(`
services:
  web:
    image: busybox
    command: httpd -f
    environment: { A: "1", B: }
    deploy: { replicas: 2 }
    mem_limit: 512m
    networks: [front]
  db:
    image: busybox
    command: ["sleep", "60"]
    environment: ["X=y"]
    volumes: ["data:/var/lib/db:ro"]
networks: { front: {} }
volumes: { data: {} }
`);
  assert.deepEqual(plan.networks, ['default', 'front']);
  assert.deepEqual(plan.volumes, ['data']);
  const [web, db] = plan.services;
  assert.deepEqual(web.command, ['sh', '-c', 'httpd -f']);
  assert.deepEqual(web.environment, ['A=1', 'B=']);
  assert.equal(web.replicas, 2);
  assert.equal(web.memoryMiB, 512);
  assert.deepEqual(web.networks, ['front']);
  assert.deepEqual(db.command, ['sleep', '60']);
  assert.deepEqual(db.networks, ['default']);
  assert.deepEqual(db.volumes, [{ source: 'data', target: '/var/lib/db', readOnly: true }]);
  assert.equal(containerCount(plan), 3);
  assert.equal(memoryOf(plan), 2 * 512 + 256);
});

test('bad compose files are refused with the reason', () => {
  refused('services: [', /not valid YAML/);
  refused('version: "3"', /no services/);
  refused('services:\n  a:\n    build: .', /needs an image/);
  refused('services:\n  a:\n    image: busybox\n    volumes: ["/etc:/etc"]', /host paths are not supported/);
  refused('services:\n  a:\n    image: busybox\n    networks: [nope]', /undeclared network nope/);
  refused('services:\n  a:\n    image: busybox\n    scale: 99', /scale must be 0…20/);
  refused('services:\n  a:\n    image: busybox\n    mem_limit: lots', /not a size/);
  refused('services:\n  "a b":\n    image: busybox', /bad service name/);
});
