// /api/v2.0/system/gc: run garbage collection now (optionally a dry run, optionally deleting
// untagged manifests), set a periodic schedule (a preset or a cron), and read the history of runs.
import type { GcRun } from '../db/metadata.ts';
import type { GcRunner } from '../gc/runner.ts';
import { readSchedule, saveSchedule, scheduleFromBody } from '../gc/schedule.ts';
import { parseCron } from '../jobs/cron.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { requireSysadmin } from './guards.ts';
import type { ApiRequest, ApiRoute } from './router.ts';

const status = { running: 'Running', succeeded: 'Success', failed: 'Error' } as const;
const view = (g: GcRun) => ({
  id: g.id, job_name: 'GARBAGE_COLLECTION', job_kind: g.trigger, job_status: status[g.status], job_parameters: JSON.stringify({ dry_run: g.dryRun }),
  creation_time: new Date(g.startedAt).toISOString(), update_time: new Date(g.finishedAt ?? g.startedAt).toISOString(), result: g.result,
});

export function gcRoutes(deps: { runner: GcRunner; clock: () => number }): ApiRoute[] {
  const { runner, clock } = deps;
  const schedule = async (r: ApiRequest) => {
    requireSysadmin(r.principal);
    const body = await readJson(r.req, badRequest);
    const type = body.schedule?.type ?? 'Manual';
    const deleteUntagged = body.parameters?.delete_untagged === true;
    if (type === 'Manual') {
      const { run } = await runner.start({ dryRun: body.parameters?.dry_run === true, deleteUntagged });
      sendEmpty(r.res, 201, { Location: `/api/v2.0/system/gc/${run.id}` });
      return;
    }
    await saveSchedule(runner.db, scheduleFromBody(body.schedule, deleteUntagged, clock()));
    sendEmpty(r.res, r.req.method === 'POST' ? 201 : 200);
  };
  return [
    { method: 'POST', path: '/system/gc/schedule', handler: schedule },
    { method: 'PUT', path: '/system/gc/schedule', handler: schedule },
    { method: 'GET', path: '/system/gc/schedule', handler: async (r) => {
      requireSysadmin(r.principal);
      const s = await readSchedule(runner.db);
      const next = s.cron ? parseCron(s.cron).nextAfter(clock()) : null;
      sendJson(r.res, 200, { schedule: { type: s.type, cron: s.cron, next_scheduled_time: next === null ? null : new Date(next).toISOString() },
        parameters: { delete_untagged: s.deleteUntagged } });
    } },
    { method: 'GET', path: '/system/gc', handler: async (r) => {
      requireSysadmin(r.principal);
      sendJson(r.res, 200, (await runner.db.listGcRuns()).map(view));
    } },
    { method: 'GET', path: '/system/gc/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      const run = await runner.db.gcRun(Number(r.params.id));
      if (!run) throw notFound(`gc run ${r.params.id}`);
      sendJson(r.res, 200, view(run));
    } },
  ];
}
