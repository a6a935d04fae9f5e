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

test('ports, depends_on (start order), restart, entrypoint and labels become a plan', () => {
  const plan = parseCompose(`
services:
  web:
    image: busybox
    ports: ["8080:80", "127.0.0.1:9090:90/udp", "7000", { target: 443, published: 8443, host_ip: 127.0.0.1 }]
    depends_on: { api: { condition: service_started } }
    restart: on-failure:3
  api:
    image: busybox
    depends_on: [db]
    restart: unless-stopped
    entrypoint: /bin/sh -c
    labels: { tier: backend }
    expose: [9000, "53/udp"]
    deploy: { replicas: 1, resources: { limits: { cpus: "1.5", memory: 128m } } }
  db:
    image: busybox
    restart: "no"
x-notes: ignored
`);
  assert.deepEqual(plan.services.map((s) => s.service), ['db', 'api', 'web']);
  const web = plan.services[2];
  assert.deepEqual(web.ports, [
    { containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 8080 },
    { containerPort: 90, protocol: 'udp', hostIp: '127.0.0.1', hostPort: 9090 },
    { containerPort: 7000, protocol: 'tcp', hostIp: '', hostPort: 0 },
    { containerPort: 443, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8443 },
  ]);
  assert.deepEqual(web.restart, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(plan.services[1].restart, { Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.deepEqual(plan.services[1].entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(plan.services[1].labels, { tier: 'backend' });
  assert.deepEqual(plan.services[1].expose, ['9000/tcp', '53/udp']);
  assert.equal(plan.services[1].cpus, 1.5);
  assert.equal(plan.services[1].memoryMiB, 128);
  assert.equal(plan.services[0].restart, null);
});

test('healthcheck becomes Docker\'s HealthConfig; depends_on conditions become waits', () => {
  const plan = parseCompose(`
services:
  web:
    image: busybox
    depends_on: { db: { condition: service_healthy }, setup: { condition: service_completed_successfully }, cache: { condition: service_started } }
  db:
    image: busybox
    healthcheck: { test: "test -f /ready", interval: 1m30s, timeout: 500ms, retries: 4, start_period: 2s, start_interval: 1.5s }
  setup:
    image: busybox
    healthcheck: { test: ["CMD", "true"] }
  cache:
    image: busybox
    healthcheck: { disable: true }
`);
  const by = Object.fromEntries(plan.services.map((s) => [s.service, s]));
  assert.deepEqual(by.db.healthcheck, { Test: ['CMD-SHELL', 'test -f /ready'], Interval: 90e9, Timeout: 500e6, Retries: 4, StartPeriod: 2e9, StartInterval: 1.5e9 });
  assert.deepEqual(by.setup.healthcheck, { Test: ['CMD', 'true'] });
  assert.deepEqual(by.cache.healthcheck, { Test: ['NONE'] });
  assert.equal(by.web.healthcheck, undefined);
  assert.deepEqual(by.web.dependsOn, ['db', 'setup', 'cache']);
  assert.deepEqual(by.web.waitFor, [{ service: 'db', condition: 'service_healthy' }, { service: 'setup', condition: 'service_completed_successfully' }]);
  assert.equal(plan.services[plan.services.length - 1].service, 'web');
});

test('what a template cannot provision is refused by name', () => {
  refused('services:\n  a:\n    build: .', /build needs a build context/);
  refused('services:\n  a:\n    image: busybox\n    env_file: .env', /env_file/);
  refused('services:\n  a:\n    image: busybox\n    container_name: fixed', /container_name/);
  refused('services:\n  a:\n    image: busybox\n    healthcheck: { test: ["true"] }', /CMD, CMD-SHELL or NONE/);
  refused('services:\n  a:\n    image: busybox\n    healthcheck: { test: "true", interval: soon }', /healthcheck.interval soon is not a duration/);
  refused('services:\n  a:\n    image: busybox\n    healthcheck: { test: "true", every: 1s }', /healthcheck.every is not a healthcheck setting/);
  refused('services:\n  a:\n    image: busybox\nsecrets: {}', /secrets are not supported/);
  refused('services:\n  a:\n    image: busybox\n    depends_on: [b]', /depends on b, which is not a service/);
  refused('services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]', /cycle: a → b → a/);
  refused('services:\n  a:\n    image: busybox\n    depends_on: { b: { condition: service_ready } }\n  b:\n    image: busybox', /condition service_ready is not one of/);
  refused('services:\n  a:\n    image: busybox\n    restart: sometimes', /restart sometimes/);
  refused('services:\n  a:\n    image: busybox\n    ports: ["80-90:80-90"]', /port ranges/);
  refused('services:\n  a:\n    image: busybox\n    ports: ["99999"]', /is not \[host_ip/);
  refused('services:\n  a:\n    image: busybox\n    scale: 2\n    ports: ["8080:80"]', /cannot be scaled beyond 1/);
  refused('services:\n  a:\n    image: busybox\n    labels: { com.docker.compose.project: x }', /the portal's own/);
  refused('services:\n  a:\n    image: busybox\n    deploy: { placement: { constraints: [x] } }', /deploy.placement is swarm's/);
  refused('services:\n  a:\n    image: busybox\n    deploy: { resources: { limits: { pids: 5 } } }', /limits.pids is not supported/);
  refused('services:\n  a:\n    image: busybox\n    expose: ["http"]', /expose http is not a port/);
  refused('services:\n  a:\n    image: busybox\n    cpus: lots', /not a number of CPUs/);
});

test('compose variable substitution without a shell: $$ is a literal $, defaults apply, bare variables are refused', () => {
  const plan = parseCompose('services:\n  a:\n    image: "busybox:${TAG:-1.36}"\n    command: echo $$HOME ${WHO-nobody}\n');
  assert.equal(plan.services[0].image, 'busybox:1.36');
  assert.deepEqual(plan.services[0].command, ['sh', '-c', 'echo $HOME nobody']);
  refused('services:\n  a:\n    image: busybox\n    command: echo $HOME', /services\.a\.command: \$HOME would be substituted .*write \$\$HOME/);
  refused('services:\n  a:\n    image: "busybox:${TAG}"', /\$\{TAG\} would be substituted/);
});
