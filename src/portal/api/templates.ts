// Templates (compose files) and applications (a template provisioned on a host).
import type { Route } from '../http.ts';
import { badRequest, conflict, forbidden, notFound, readJson, requireString, sendJson } from '../http.ts';
import type { Portal } from '../portal.ts';
import type { Principal } from '../sessions.ts';
import type { Template } from '../store.ts';
import { parseCompose, containerCount, memoryOf, fixedPortsAllowOne } from '../compose.ts';
import { provision, removeApplication, scaleService, serviceContainers, TEMPLATE_LABEL, SERVICE_LABEL, NUMBER_LABEL } from '../application.ts';
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
        if (!apps.has(key)) apps.set(key, { name: x.application, hostId: x.hostId, hostName: x.hostName, project: x.project, template: x.labels[TEMPLATE_LABEL] ?? null, containers: [] });
        apps.get(key)!.containers.push({ id: x.id, name: x.name, service: x.labels[SERVICE_LABEL], number: Number(x.labels[NUMBER_LABEL] ?? 0), state: x.state, image: x.image, ports: x.ports });
      }
      sendJson(c.res, 200, [...apps.values()]);
    } },
    { method: 'PUT', path: '/hosts/{host}/applications/{name}/services/{service}/scale', handler: async (c) => {
      const host = c.principal.sysadmin ? portal.hosts.get(c.params.host) : await portal.visibleHost(c.principal, c.params.host);
      const members = (await portal.containers(c.principal, [host])).filter((x) => x.application === c.params.name);
      if (members.length === 0) throw notFound(`no application ${c.params.name} on ${host.name}`);
      const body = await readJson(c.req);
      const replicas = body.replicas;
      if (!Number.isInteger(replicas) || replicas < 0 || replicas > 20) throw badRequest('replicas must be a whole number from 0 to 20');
      const { project, labels } = members[0];
      await portal.access.requireOnContainer(c.principal, labels, 'member');
      // New containers come from the application's template as it is now (as compose scales from the file as it is).
      const templateId = labels[TEMPLATE_LABEL] ?? null;
      const t = templateId ? portal.store.template(templateId) : undefined;
      if (!t) throw conflict(`the template application ${c.params.name} was deployed from is gone; scaling needs it`);
      const service = parseCompose(t.compose).services.find((s) => s.service === c.params.service);
      if (!service) throw notFound(`template ${t.name} has no service ${c.params.service}`);
      const others = members.filter((x) => x.labels[SERVICE_LABEL] !== service.service);
      if (replicas === 0 && others.length === 0) throw conflict(`scaling ${service.service} to 0 would leave application ${c.params.name} with no containers; remove the application instead`);
      if (replicas > 1) fixedPortsAllowOne(service.service, service.ports);
      const result = await portal.serialize(project, async () => {
        const have = (await serviceContainers(host.docker, c.params.name, service.service)).length;
        if (replicas > have) await portal.admit(c.principal, project, host.id, replicas - have, service.memoryMiB);
        return scaleService(host.docker, c.params.name, service, replicas, project, t.id, (image) => ensureImage(portal, host.docker, image, c.principal));
      });
      const now = await serviceContainers(host.docker, c.params.name, service.service);
      sendJson(c.res, 200, { application: c.params.name, service: service.service, replicas: now.length, containers: now.map((x) => x.name), ...result });
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
