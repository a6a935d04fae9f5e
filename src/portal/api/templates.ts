// Templates (compose files) and applications (a template provisioned on a host).
import type { Route } from '../http.ts';
import { badRequest, forbidden, notFound, readJson, requireString, sendJson } from '../http.ts';
import type { Portal } from '../portal.ts';
import type { Principal } from '../sessions.ts';
import type { Template } from '../store.ts';
import { parseCompose, provision, removeApplication, containerCount, memoryOf } from '../compose.ts';
import { ensureImage } from './containers.ts';

export function templateRoutes(portal: Portal): Route<Principal>[] {
  /** A template is its project's (viewers read, members change); unscoped ones are the administrators'. */
  const template = async (p: Principal, id: string, needed: 'viewer' | 'member'): Promise<Template> => {
    const t = portal.store.template(id);
    if (!t) throw notFound(`no such template: ${id}`);
    if (p.sysadmin) return t;
    if (!t.project) { if (needed === 'viewer') return t; throw forbidden('only administrators change templates outside projects'); }
    await portal.access.require(p, t.project, needed);
    return t;
  };
  const view = (t: Template) => {
    let services: unknown = null;
    let error: string | null = null;
    try { services = parseCompose(t.compose).services; } catch (err) { error = (err as Error).message; }
    return { ...t, services, error };
  };
  return [
    { method: 'GET', path: '/templates', handler: async (c) => {
      const mine = new Set((await portal.access.projects(c.principal)).filter((p) => p.role).map((p) => p.name));
      const list = portal.store.listTemplates().filter((t) => c.principal.sysadmin || !t.project || mine.has(t.project));
      sendJson(c.res, 200, list.map(view));
    } },
    { method: 'POST', path: '/templates', handler: async (c) => {
      const body = await readJson(c.req);
      const name = requireString(body, 'name');
      const compose = requireString(body, 'compose');
      const project = typeof body.project === 'string' && body.project ? body.project : null;
      if (project) await portal.access.require(c.principal, project, 'member');
      else if (!c.principal.sysadmin) throw forbidden('choose a project: only administrators keep templates outside projects');
      parseCompose(compose);
      sendJson(c.res, 201, view(portal.store.addTemplate({ name, project, compose })));
    } },
    { method: 'GET', path: '/templates/{id}', handler: async (c) => sendJson(c.res, 200, view(await template(c.principal, c.params.id, 'viewer'))) },
    { method: 'PUT', path: '/templates/{id}', handler: async (c) => {
      const t = await template(c.principal, c.params.id, 'member');
      const body = await readJson(c.req);
      const compose = typeof body.compose === 'string' ? body.compose : t.compose;
      parseCompose(compose);
      portal.store.updateTemplate(t.id, { name: typeof body.name === 'string' && body.name ? body.name : t.name, compose });
      sendJson(c.res, 200, view(portal.store.template(t.id)!));
    } },
    { method: 'DELETE', path: '/templates/{id}', handler: async (c) => {
      const t = await template(c.principal, c.params.id, 'member');
      portal.store.removeTemplate(t.id);
      sendJson(c.res, 200, { removed: true });
    } },
    { method: 'POST', path: '/templates/{id}/deploy', handler: async (c) => {
      const t = await template(c.principal, c.params.id, 'viewer');
      const body = await readJson(c.req);
      const hostId = requireString(body, 'hostId');
      const app = requireString(body, 'application');
      if (!/^[a-z0-9][a-z0-9_-]*$/.test(app)) throw badRequest('application names are lower-case letters, digits, _ and -');
      const project = t.project ?? (typeof body.project === 'string' && body.project ? body.project : null);
      const plan = parseCompose(t.compose);
      const host = c.principal.sysadmin ? portal.hosts.get(hostId) : await portal.visibleHost(c.principal, hostId);
      const count = containerCount(plan);
      // Quotas are checked on the whole application before anything is created.
      const result = await portal.serialize(project, async () => {
        await portal.admit(c.principal, project, host.id, count, count ? Math.ceil(memoryOf(plan) / count) : 0);
        return provision(host.docker, app, plan, project, t.id, (image) => ensureImage(portal, host.docker, image, c.principal));
      });
      sendJson(c.res, 201, { application: app, hostId: host.id, containers: result.containers });
    } },
    { method: 'GET', path: '/applications', handler: async (c) => {
      const containers = await portal.containers(c.principal, await portal.visibleHosts(c.principal));
      const apps = new Map<string, { name: string; hostId: string; hostName: string; project: string | null; template: string | null; containers: unknown[] }>();
      for (const x of containers) {
        if (!x.application) continue;
        const key = `${x.hostId}/${x.application}`;
        if (!apps.has(key)) apps.set(key, { name: x.application, hostId: x.hostId, hostName: x.hostName, project: x.project, template: x.labels['bonneville.portal.template'] ?? null, containers: [] });
        apps.get(key)!.containers.push({ id: x.id, name: x.name, service: x.labels['com.docker.compose.service'], state: x.state, image: x.image });
      }
      sendJson(c.res, 200, [...apps.values()]);
    } },
    { method: 'DELETE', path: '/hosts/{host}/applications/{name}', handler: async (c) => {
      const host = c.principal.sysadmin ? portal.hosts.get(c.params.host) : await portal.visibleHost(c.principal, c.params.host);
      const members = (await portal.containers(c.principal, [host])).filter((x) => x.application === c.params.name);
      if (members.length === 0) throw notFound(`no application ${c.params.name} on ${host.name}`);
      for (const m of members) await portal.access.requireOnContainer(c.principal, m.labels, 'member');
      sendJson(c.res, 200, { removed: await removeApplication(host.docker, c.params.name) });
    } },
  ];
}
