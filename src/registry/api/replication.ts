// /api/v2.0/replication/policies and /replication/executions (system administrators only).
// A policy copies between this registry and one remote: src_registry set → pull-based,
// dest_registry set → push-based; filters by repository name and tag (doublestar globs); started
// by hand, on each push (event_based) or by a cron (`scheduled`, trigger_settings.cron).
import type { Execution, Policy, ReplicationStore } from '../replication/store.ts';
import type { Replicator } from '../replication/replicator.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { checkCron } from '../jobs/cron.ts';
import { MAX_PATTERN_LENGTH } from '../distribution/glob.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { requireSysadmin } from './guards.ts';
import type { ApiRoute } from './router.ts';

const time = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function policyView(store: ReplicationStore, p: Policy) {
  const reg = async (id: number | null) => {
    const r = id === null ? null : await store.registry(id);
    return r ? { id: r.id, name: r.name, type: r.type, url: r.url } : { id: 0, name: 'Local', type: 'harbor', url: '' };
  };
  return {
    id: p.id, name: p.name, description: p.description, src_registry: await reg(p.srcRegistryId), dest_registry: await reg(p.destRegistryId),
    dest_namespace: p.destNamespace, filters: [{ type: 'name', value: p.filters.name }, { type: 'tag', value: p.filters.tag, decoration: 'matches' }],
    trigger: { type: p.triggerType, trigger_settings: { cron: p.cron } }, enabled: p.enabled, override: p.override, creation_time: time(p.createdAt),
  };
}

const executionView = (e: Execution) => ({
  id: e.id, policy_id: e.policyId, status: e.status, trigger: e.triggerType, start_time: time(e.startedAt), end_time: time(e.finishedAt),
  total: e.total, succeed: e.succeeded, failed: e.failed, in_progress: e.status === 'InProgress' ? 1 : 0, stopped: 0,
});

/** A registry reference from a body: `{id}` (or a bare id); null/absent/0 means this registry. */
function registryRef(v: any): number | null {
  const id = typeof v === 'object' && v !== null ? v.id : v;
  return id === undefined || id === null || id === 0 ? null : Number(id);
}

async function policyFields(store: ReplicationStore, body: any, current?: Policy): Promise<Omit<Policy, 'id' | 'createdAt' | 'scheduleSince'>> {
  const name = body.name ?? current?.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw badRequest('name is required');
  const src = 'src_registry' in body ? registryRef(body.src_registry) : current?.srcRegistryId ?? null;
  const dest = 'dest_registry' in body ? registryRef(body.dest_registry) : current?.destRegistryId ?? null;
  if ((src === null) === (dest === null)) throw badRequest('exactly one of src_registry and dest_registry names a remote registry');
  if (!(await store.registry((src ?? dest)!))) throw badRequest(`registry ${src ?? dest} does not exist`);
  const filters = { ...(current?.filters ?? { name: '**', tag: '**' }) };
  if (Array.isArray(body.filters)) {
    filters.name = '**'; filters.tag = '**';
    for (const f of body.filters) {
      if ((f?.type !== 'name' && f?.type !== 'tag') || typeof f.value !== 'string' || f.value.length > MAX_PATTERN_LENGTH) throw badRequest('filters are {type: name|tag, value: pattern}');
      if ((f.decoration ?? 'matches') !== 'matches') throw badRequest('only "matches" filters are supported');
      filters[f.type as 'name' | 'tag'] = f.value || '**';
    }
  }
  const triggerType = body.trigger?.type ?? current?.triggerType ?? 'manual';
  if (!['manual', 'event_based', 'scheduled'].includes(triggerType)) throw badRequest('trigger.type must be manual, event_based or scheduled');
  if (triggerType === 'event_based' && src !== null) throw badRequest('event_based triggers apply to push-based policies');
  const cron = triggerType !== 'scheduled' ? ''
    : body.trigger ? checkCron(body.trigger.trigger_settings?.cron) : current?.cron ?? '';
  if (triggerType === 'scheduled' && !cron) throw badRequest('a scheduled trigger needs trigger_settings.cron');
  const destNamespace = String(body.dest_namespace ?? current?.destNamespace ?? '');
  if (destNamespace && !/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(destNamespace)) throw badRequest('invalid dest_namespace');
  return {
    name, description: String(body.description ?? current?.description ?? ''), srcRegistryId: src, destRegistryId: dest, destNamespace, filters, triggerType, cron,
    enabled: typeof body.enabled === 'boolean' ? body.enabled : current?.enabled ?? true,
    override: typeof body.override === 'boolean' ? body.override : current?.override ?? true,
  };
}

export function replicationRoutes(deps: { store: ReplicationStore; replicator: Replicator }): ApiRoute[] {
  const { store, replicator } = deps;
  const findPolicy = async (id: unknown) => {
    const p = await store.policy(Number(id));
    if (!p) throw notFound(`replication policy ${id}`);
    return p;
  };
  const findExecution = async (id: string) => {
    const e = await store.execution(Number(id));
    if (!e) throw notFound(`replication execution ${id}`);
    return e;
  };
  return [
    { method: 'GET', path: '/replication/policies', handler: async (r) => {
      requireSysadmin(r.principal);
      const out = [];
      for (const p of await store.policies()) out.push(await policyView(store, p));
      sendJson(r.res, 200, out);
    } },
    { method: 'POST', path: '/replication/policies', handler: async (r) => {
      requireSysadmin(r.principal);
      const f = await policyFields(store, await readJson(r.req, badRequest));
      if (await store.policyByName(f.name)) throw conflict(`policy ${f.name} exists`);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/replication/policies/${await store.addPolicy(f)}` });
    } },
    { method: 'GET', path: '/replication/policies/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      sendJson(r.res, 200, await policyView(store, await findPolicy(r.params.id)));
    } },
    { method: 'PUT', path: '/replication/policies/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      const current = await findPolicy(r.params.id);
      await store.updatePolicy({ ...current, ...(await policyFields(store, await readJson(r.req, badRequest), current)) });
      sendEmpty(r.res, 200);
    } },
    { method: 'DELETE', path: '/replication/policies/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      await store.deletePolicy((await findPolicy(r.params.id)).id);
      sendEmpty(r.res, 200);
    } },
    { method: 'POST', path: '/replication/executions', handler: async (r) => {
      requireSysadmin(r.principal);
      const body = await readJson(r.req, badRequest);
      const policy = await findPolicy(body.policy_id);
      if (!policy.enabled) throw badRequest(`policy ${policy.name} is disabled`);
      const exec = await replicator.start(policy, 'manual');
      sendEmpty(r.res, 201, { Location: `/api/v2.0/replication/executions/${exec.id}` });
    } },
    { method: 'GET', path: '/replication/executions', handler: async (r) => {
      requireSysadmin(r.principal);
      const policyId = r.query.get('policy_id');
      sendJson(r.res, 200, (await store.executions(policyId ? Number(policyId) : null)).map(executionView));
    } },
    { method: 'GET', path: '/replication/executions/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      sendJson(r.res, 200, executionView(await findExecution(r.params.id)));
    } },
    { method: 'GET', path: '/replication/executions/{id}/tasks', handler: async (r) => {
      requireSysadmin(r.principal);
      const e = await findExecution(r.params.id);
      sendJson(r.res, 200, e.tasks.map((t, i) => ({
        id: i + 1, execution_id: e.id, resource_type: 'artifact', operation: 'copy', src_resource: t.src, dst_resource: t.dst,
        status: t.status, message: t.message, start_time: time(t.startedAt), end_time: time(t.finishedAt),
      })));
    } },
  ];
}
