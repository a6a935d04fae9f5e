// /api/v2.0/retentions: a project's tag retention policy (Harbor's shape: `or` of rules, scope
// {level: project, ref: <project id>}), runs and dry runs, and their history. Runs are started
// by hand or by the cron of `trigger: {kind: Schedule, settings: {cron}}` (jobs/scheduler.ts).
import type { Metadata } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import type { ProjectCapability } from '../auth/roles.ts';
import { parseRule, ruleView, type RetentionRule } from '../retention/rules.ts';
import type { RetentionExecution, RetentionStore } from '../retention/store.ts';
import type { RetentionRunner } from '../retention/runner.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { checkCron } from '../jobs/cron.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { projectWith, projectRef, projectIdRef, requireLogin } from './guards.ts';
import type { ApiRoute } from './router.ts';

const time = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function rulesOf(body: any): RetentionRule[] {
  if ((body.algorithm ?? 'or') !== 'or') throw badRequest('algorithm must be "or"');
  if (!Array.isArray(body.rules) || body.rules.length > 15) throw badRequest('rules must be a list of at most 15 rules');
  return body.rules.map(parseRule);
}

/** The cron of Harbor's `trigger` ('' for none); a policy without a trigger keeps `current`. */
function cronOf(body: any, current = ''): string {
  if (body.trigger === undefined || body.trigger === null) return current;
  if ((body.trigger.kind ?? 'Schedule') !== 'Schedule') throw badRequest('trigger.kind must be "Schedule"');
  return checkCron(body.trigger.settings?.cron);
}

const executionView = (e: RetentionExecution) => ({
  id: e.id, policy_id: e.policyId, dry_run: e.dryRun, status: e.status, trigger: e.trigger, start_time: time(e.startedAt), end_time: time(e.finishedAt),
});

export function retentionRoutes(deps: { db: Metadata; access: AccessControl; store: RetentionStore; runner: RetentionRunner }): ApiRoute[] {
  const { db, access, store, runner } = deps;
  /** The policy and its project, checking the caller's capability on that project. */
  const policyWith = async (principal: Principal, id: string, cap: ProjectCapability) => {
    const policy = await store.policy(Number(id));
    if (!policy) { requireLogin(principal); throw notFound(`retention policy ${id}`); }
    const project = await projectWith(db, access, principal, projectIdRef(policy.projectId), cap);
    return { policy, project };
  };
  const view = (p: { id: number; projectId: number; rules: RetentionRule[]; cron: string }) => ({
    id: p.id, algorithm: 'or', rules: p.rules.map((r, i) => ruleView(r, i + 1)), trigger: { kind: 'Schedule', settings: { cron: p.cron } },
    scope: { level: 'project', ref: p.projectId },
  });
  return [
    { method: 'POST', path: '/retentions', handler: async (r) => {
      const body = await readJson(r.req, badRequest);
      if (body.scope?.level !== 'project') throw badRequest('scope must be {level: "project", ref: <project id>}');
      const project = await projectWith(db, access, r.principal, projectIdRef(body.scope.ref), 'update');
      const rules = rulesOf(body);
      const cron = cronOf(body);
      if (await store.policyOfProject(project.id)) throw conflict(`project ${project.name} already has a retention policy`);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/retentions/${await store.create(project.id, rules, cron)}` });
    } },
    // Harbor finds a project's policy through the project's metadata.retention_id; this is that lookup on its own.
    { method: 'GET', path: '/projects/{project}/retention', handler: async (r) => {
      const project = await projectWith(db, access, r.principal, projectRef(r), 'read');
      const policy = await store.policyOfProject(project.id);
      if (!policy) throw notFound(`project ${project.name} has no retention policy`);
      sendJson(r.res, 200, view(policy));
    } },
    { method: 'GET', path: '/retentions/{id}', handler: async (r) => {
      sendJson(r.res, 200, view((await policyWith(r.principal, r.params.id, 'read')).policy));
    } },
    { method: 'PUT', path: '/retentions/{id}', handler: async (r) => {
      const { policy } = await policyWith(r.principal, r.params.id, 'update');
      const body = await readJson(r.req, badRequest);
      await store.update(policy.id, rulesOf(body), cronOf(body, policy.cron));
      sendEmpty(r.res, 200);
    } },
    { method: 'DELETE', path: '/retentions/{id}', handler: async (r) => {
      const { policy } = await policyWith(r.principal, r.params.id, 'update');
      await store.delete(policy.id);
      sendEmpty(r.res, 200);
    } },
    { method: 'POST', path: '/retentions/{id}/executions', handler: async (r) => {
      const { policy, project } = await policyWith(r.principal, r.params.id, 'update');
      const body = await readJson(r.req, badRequest);
      const exec = await runner.start(policy, project, body.dry_run === true);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/retentions/${policy.id}/executions/${exec.id}` });
    } },
    { method: 'GET', path: '/retentions/{id}/executions', handler: async (r) => {
      const { policy } = await policyWith(r.principal, r.params.id, 'read');
      sendJson(r.res, 200, (await store.executions(policy.id)).map(executionView));
    } },
    { method: 'GET', path: '/retentions/{id}/executions/{eid}', handler: async (r) => {
      const { policy } = await policyWith(r.principal, r.params.id, 'read');
      const e = await store.execution(policy.id, Number(r.params.eid));
      if (!e) throw notFound(`retention execution ${r.params.eid}`);
      sendJson(r.res, 200, executionView(e));
    } },
    { method: 'GET', path: '/retentions/{id}/executions/{eid}/tasks', handler: async (r) => {
      const { policy } = await policyWith(r.principal, r.params.id, 'read');
      const e = await store.execution(policy.id, Number(r.params.eid));
      if (!e) throw notFound(`retention execution ${r.params.eid}`);
      sendJson(r.res, 200, (e.result?.repositories ?? []).map((o, i) => ({
        id: i + 1, execution_id: e.id, repository: o.repository, status: e.status, retained: o.retained.length, total: o.retained.length + o.deleted.length + o.kept.length,
        deleted_tags: o.deleted, retained_tags: o.retained, immutable_tags_kept: o.kept, manifests_deleted: o.manifestsDeleted,
        start_time: time(e.startedAt), end_time: time(e.finishedAt),
      })));
    } },
  ];
}
