// Restart-policy decisions, healthcheck verdicts and how a create request asks for both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextDelayMs, shouldRestart, startsWithEngine } from '../../src/portlayer/containers/restart-policy.ts';
import { applyResult, startingHealth } from '../../src/portlayer/containers/health.ts';
import type { HealthcheckSpec, HealthResult } from '../../src/portlayer/containers/health.ts';
import { toContainerSpec } from '../../src/engine/docker/create-request.ts';
import type { ImageRecord } from '../../src/portlayer/images/types.ts';
import { statusOf } from '../../src/engine/http/errors.ts';

const always = { name: 'always', maximumRetryCount: 0 } as const;
const unlessStopped = { name: 'unless-stopped', maximumRetryCount: 0 } as const;
const onFailure2 = { name: 'on-failure', maximumRetryCount: 2 } as const;

test('policies decide after an exit; the user stopping it always wins', () => {
  const exit = (exitCode: number, restartCount = 0, manuallyStopped = false) => ({ exitCode, restartCount, manuallyStopped });
  assert.equal(shouldRestart(undefined, exit(1)), false);
  assert.equal(shouldRestart(always, exit(0)), true);
  assert.equal(shouldRestart(always, exit(0, 0, true)), false);
  assert.equal(shouldRestart(unlessStopped, exit(0)), true);
  assert.equal(shouldRestart(onFailure2, exit(0)), false);
  assert.equal(shouldRestart(onFailure2, exit(3, 1)), true);
  assert.equal(shouldRestart(onFailure2, exit(3, 2)), false);
  assert.equal(shouldRestart({ name: 'on-failure', maximumRetryCount: 0 }, exit(3, 99)), true);
});

test('at engine start: always even if stopped, unless-stopped only if not, never a container never started', () => {
  const facts = (manuallyStopped: boolean, everStarted = true) => ({ everStarted, exitCode: 0, restartCount: 0, manuallyStopped });
  assert.equal(startsWithEngine(always, facts(true)), true);
  assert.equal(startsWithEngine(unlessStopped, facts(true)), false);
  assert.equal(startsWithEngine(unlessStopped, facts(false)), true);
  assert.equal(startsWithEngine(always, facts(false, false)), false);
});

test('backoff doubles from 100 ms up to a minute, and resets after a 10 s run', () => {
  assert.equal(nextDelayMs({ ranMs: 50, previousDelayMs: 0 }), 100);
  assert.equal(nextDelayMs({ ranMs: 50, previousDelayMs: 100 }), 200);
  assert.equal(nextDelayMs({ ranMs: 50, previousDelayMs: 40_000 }), 60_000);
  assert.equal(nextDelayMs({ ranMs: 10_000, previousDelayMs: 3200 }), 100);
});

test('health: a pass makes healthy, failures count up to retries, start-period failures do not count', () => {
  const spec: HealthcheckSpec = { argv: ['true'], intervalMs: 1000, timeoutMs: 1000, retries: 2, startPeriodMs: 5000, startIntervalMs: 1000 };
  const started = Date.parse('2025-01-01T00:00:00Z');
  const at = (s: number, exitCode: number): HealthResult => ({ start: new Date(started + s * 1000).toISOString(), end: '', exitCode, output: '' });
  let h = applyResult(startingHealth(), spec, at(1, 1), started);
  assert.deepEqual([h.status, h.failingStreak], ['starting', 0]);
  h = applyResult(h, spec, at(6, 1), started);
  assert.deepEqual([h.status, h.failingStreak], ['starting', 1]);
  h = applyResult(h, spec, at(7, 0), started);
  assert.deepEqual([h.status, h.failingStreak], ['healthy', 0]);
  h = applyResult(h, spec, at(8, 1), started);
  assert.deepEqual([h.status, h.failingStreak], ['healthy', 1]);
  for (let i = 0; i < 5; i++) h = applyResult(h, spec, at(9 + i, 1), started);
  assert.equal(h.status, 'unhealthy');
  assert.equal(h.log.length, 5, 'only the last five results are kept');
});

function image(config: ImageRecord['config']['config']): ImageRecord {
  return {
    id: 'sha256:' + 'a'.repeat(64), repoTags: ['img:latest'], repoDigests: [], layers: [], size: 0, stored: new Date().toISOString(),
    config: { architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [] } },
  };
}

test('create: restart policies are checked as dockerd does; --rm with one is refused', () => {
  const img = image({ Cmd: ['sh'] });
  const spec = (hostConfig: Record<string, unknown>) => toContainerSpec('', { Image: 'img', HostConfig: hostConfig }, img);
  assert.deepEqual(spec({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } }).restartPolicy, { name: 'on-failure', maximumRetryCount: 3 });
  assert.equal(spec({ RestartPolicy: { Name: '' } }).restartPolicy, undefined);
  const refused = (hostConfig: Record<string, unknown>, message: RegExp) =>
    assert.throws(() => spec(hostConfig), (err) => statusOf(err) === 400 && message.test((err as Error).message));
  refused({ AutoRemove: true, RestartPolicy: { Name: 'always' } }, /can't create 'AutoRemove' container with restart policy/);
  refused({ RestartPolicy: { Name: 'sometimes' } }, /unknown policy 'sometimes'/);
  refused({ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }, /only be used with 'on-failure'/);
});

test('create: the image\'s HEALTHCHECK fills what the request leaves unset; NONE switches it off', () => {
  const s = 1_000_000_000;
  const img = image({ Cmd: ['sh'], Healthcheck: { Test: ['CMD', 'check'], Interval: 7 * s, Retries: 4 } });
  const inherited = toContainerSpec('', { Image: 'img' }, img).healthcheck;
  assert.deepEqual(inherited, { argv: ['check'], intervalMs: 7000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5000, retries: 4 });
  const mixed = toContainerSpec('', { Image: 'img', Healthcheck: { Test: ['CMD-SHELL', 'curl -f x'], Timeout: 2 * s } }, img).healthcheck;
  assert.deepEqual(mixed?.argv, ['/bin/sh', '-c', 'curl -f x']);
  assert.equal(mixed?.intervalMs, 7000);
  assert.equal(mixed?.timeoutMs, 2000);
  assert.equal(toContainerSpec('', { Image: 'img', Healthcheck: { Test: ['NONE'] } }, img).healthcheck, undefined);
  assert.throws(() => toContainerSpec('', { Image: 'img', Healthcheck: { Test: ['CMD', 'x'], Interval: 10 } }, img), /cannot be less than 1ms/);
});
