// Scheduled jobs — retention policies, replication policies and GC — run by the one scheduler,
// driven here by an injected clock that starts at a fixed time (no waiting for real slots, no
// dependence on the wall clock: the registry records when a cron was set on that same clock), and
// jobs are awaited rather than polled. Two registry processes on one database fire each slot once.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../../src/registry/index.ts';
import { ADMIN_PASSWORD, adminAuth as auth, BACKENDS, call, createProject, pushImage, startTestRegistry, type TestRegistry } from './helpers.ts';
import { stopSharedCluster } from './postgres.ts';

after(stopSharedCluster);

const hour = 3600_000;

async function post(base: string, path: string, body: unknown): Promise<number> {
  const res = await call(base, `/api/v2.0${path}`, { method: 'POST', auth, body });
  assert.equal(res.status, 201, await res.text());
  return Number(res.headers.get('location')!.split('/').pop());
}

/** The executions listed once every job this process (and `others`) started has finished: no polling. */
async function settled(t: TestRegistry, path: string, others: (RunningRegistry | null)[] = []): Promise<any[]> {
  await Promise.all([t.registry, ...others].map((r) => r?.jobsIdle()));
  return await (await call(t.url, `/api/v2.0${path}`, { auth })).json() as any[];
}

const tagsOf = async (base: string, repo: string) => ((await (await call(base, `/v2/${repo}/tags/list`, { auth })).json()) as { tags: string[] }).tags;

for (const backend of BACKENDS) describe(`schedules (${backend})`, () => {
  test('a retention policy with a cron trigger runs at its slots, once per slot across two processes', async () => {
    let now = Date.parse('2030-01-01T00:10:00Z');
    const clock = () => now;
    const t = await startTestRegistry({ clock, scheduleCheckSeconds: 0 }, backend);
    let second: RunningRegistry | null = null;
    try {
      const projectId = await createProject(t.url, 'sched');
      for (const tag of ['v1', 'v2', 'v3']) await pushImage(t.url, 'sched/app', tag, { layer: Buffer.from(`layer ${tag}`) });
      const rule = { action: 'retain', template: 'latestPushedK', params: { latestPushedK: 2 },
        tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**' }],
        scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] } };
      const bad = await call(t.url, '/api/v2.0/retentions', { method: 'POST', auth,
        body: { algorithm: 'or', rules: [rule], trigger: { kind: 'Schedule', settings: { cron: '0 0 25 * * *' } }, scope: { level: 'project', ref: projectId } } });
      assert.equal(bad.status, 400, 'an impossible hour is refused');
      const id = await post(t.url, '/retentions', { algorithm: 'or', rules: [rule],
        trigger: { kind: 'Schedule', settings: { cron: '0 0 * * * *' } }, scope: { level: 'project', ref: projectId } });
      const shown = await (await call(t.url, `/api/v2.0/retentions/${id}`, { auth })).json() as any;
      assert.deepEqual(shown.trigger, { kind: 'Schedule', settings: { cron: '0 0 * * * *' } });

      assert.deepEqual(await t.registry.runSchedules(), [], 'no slot since the policy was set');
      now += 2 * hour;
      assert.deepEqual(await t.registry.runSchedules(), [`retention/${id}`]);
      assert.deepEqual(await t.registry.runSchedules(), [], 'a slot runs once');
      let runs = await settled(t, `/retentions/${id}/executions`);
      assert.deepEqual(runs.map((e) => [e.status, e.trigger, e.dry_run]), [['Succeed', 'SCHEDULE', false]]);
      assert.equal((await tagsOf(t.url, 'sched/app')).length, 2);

      // A second process on the same database and root, ticking at the same moment.
      second = await startRegistry({ root: join(t.dir, 'root'), database: t.database, listen: '127.0.0.1:0', insecureHttp: true,
        adminPassword: ADMIN_PASSWORD, clock, scheduleCheckSeconds: 0, log: () => {} });
      now += hour;
      const fired = await Promise.all([t.registry.runSchedules(), second.runSchedules()]);
      assert.deepEqual(fired.flat(), [`retention/${id}`], `fired: ${JSON.stringify(fired)}`);
      runs = await settled(t, `/retentions/${id}/executions`, [second]);
      assert.equal(runs.length, 2);

      // Without a cron the policy no longer runs by itself.
      assert.equal((await call(t.url, `/api/v2.0/retentions/${id}`, { method: 'PUT', auth,
        body: { algorithm: 'or', rules: [rule], trigger: { kind: 'Schedule', settings: { cron: '' } } } })).status, 200);
      now += hour;
      assert.deepEqual(await t.registry.runSchedules(), []);
    } finally {
      await second?.close();
      await t.stop();
    }
  });

  test('a replication policy with a scheduled trigger copies at its slots', async () => {
    let now = Date.parse('2030-01-01T00:10:00Z');
    const t = await startTestRegistry({ clock: () => now, scheduleCheckSeconds: 0 }, backend);
    const dest: TestRegistry = await startTestRegistry({}, 'sqlite');
    try {
      await createProject(t.url, 'src');
      await createProject(dest.url, 'dst');
      const pushed = await pushImage(t.url, 'src/app', 'v1');
      const regId = await post(t.url, '/registries', { name: 'dest', type: 'harbor', url: dest.url,
        credential: { type: 'basic', access_key: 'admin', access_secret: ADMIN_PASSWORD } });
      const policy = { name: 'nightly', dest_registry: { id: regId }, dest_namespace: 'dst', filters: [{ type: 'name', value: 'src/**' }] };
      const missingCron = await call(t.url, '/api/v2.0/replication/policies', { method: 'POST', auth, body: { ...policy, trigger: { type: 'scheduled' } } });
      assert.equal(missingCron.status, 400);
      const id = await post(t.url, '/replication/policies', { ...policy, trigger: { type: 'scheduled', trigger_settings: { cron: '0 0,30 * * * *' } } });
      const shown = await (await call(t.url, `/api/v2.0/replication/policies/${id}`, { auth })).json() as any;
      assert.deepEqual(shown.trigger, { type: 'scheduled', trigger_settings: { cron: '0 0,30 * * * *' } });

      assert.deepEqual(await t.registry.runSchedules(), []);
      now += hour;
      assert.deepEqual(await t.registry.runSchedules(), [`replication/${id}`]);
      const runs = await settled(t, `/replication/executions?policy_id=${id}`);
      assert.deepEqual(runs.map((e) => [e.status, e.trigger, e.succeed]), [['Succeed', 'scheduled', 1]]);
      const copied = await call(dest.url, '/v2/dst/app/manifests/v1', { method: 'HEAD', auth });
      assert.equal(copied.headers.get('docker-content-digest'), pushed.digest);

      // A disabled policy is not run by its schedule.
      assert.equal((await call(t.url, `/api/v2.0/replication/policies/${id}`, { method: 'PUT', auth, body: { enabled: false } })).status, 200);
      now += hour;
      assert.deepEqual(await t.registry.runSchedules(), []);
    } finally {
      await t.stop();
      await dest.stop();
    }
  });

  test('GC runs on a preset or custom cron, recorded as scheduled', async () => {
    let now = Date.parse('2030-01-01T00:10:00Z'); // well after any real time, so only the clock decides
    const t = await startTestRegistry({ clock: () => now, scheduleCheckSeconds: 0 }, backend);
    try {
      const put = (schedule: object) => call(t.url, '/api/v2.0/system/gc/schedule', { method: 'PUT', auth, body: { schedule } });
      assert.equal((await put({ type: 'Custom', cron: '0 30 2 * * *' })).status, 200);
      const shown = await (await call(t.url, '/api/v2.0/system/gc/schedule', { auth })).json() as any;
      assert.deepEqual(shown.schedule, { type: 'Custom', cron: '0 30 2 * * *', next_scheduled_time: '2030-01-01T02:30:00.000Z' });
      assert.deepEqual(await t.registry.runSchedules(), []);
      now = Date.parse('2030-01-01T02:30:00Z');
      assert.deepEqual(await t.registry.runSchedules(), ['gc']);
      const runs = await settled(t, '/system/gc');
      assert.deepEqual(runs.map((r) => [r.job_kind, r.job_status]), [['SCHEDULE', 'Success']]);
      now += hour;
      assert.deepEqual(await t.registry.runSchedules(), [], 'daily: nothing an hour later');

      assert.equal((await put({ type: 'Hourly' })).status, 200);
      now += hour;
      assert.deepEqual(await t.registry.runSchedules(), ['gc']);
      assert.equal((await put({ type: 'None' })).status, 200);
      now += hour;
      assert.deepEqual(await t.registry.runSchedules(), []);
      assert.equal((await settled(t, '/system/gc')).length, 2);
    } finally {
      await t.stop();
    }
  });
});
