// Hosts: the VCHs (local and added), their state, capacity and use; added hosts' removal; the dashboard's history.
import type { Route } from '../http.ts';
import { badRequest, forbidden, readJson, requireString, sendJson, HttpError } from '../http.ts';
import type { Portal } from '../portal.ts';
import type { Principal } from '../sessions.ts';
import { DockerHost } from '../docker-host.ts';
import type { HostRecord } from '../hosts.ts';
import type { UsageSampler } from '../usage-sampler.ts';

async function hostView(h: HostRecord) {
  try {
    const info = await h.docker.json('GET', '/info');
    return { id: h.id, name: h.name, endpoint: h.endpoint, source: h.source, state: 'ready',
      containers: info.Containers, running: info.ContainersRunning, images: info.Images, cpus: info.NCPU, memoryBytes: info.MemTotal,
      serverVersion: info.ServerVersion, operatingSystem: info.OperatingSystem };
  } catch (err) {
    return { id: h.id, name: h.name, endpoint: h.endpoint, source: h.source, state: 'unreachable', error: (err as Error).message };
  }
}

export function hostRoutes(portal: Portal, sampler: UsageSampler): Route<Principal>[] {
  return [
    { method: 'GET', path: '/hosts', handler: async (c) => {
      sendJson(c.res, 200, await Promise.all((await portal.visibleHosts(c.principal)).map(hostView)));
    } },
    { method: 'GET', path: '/hosts/{host}', handler: async (c) => {
      sendJson(c.res, 200, await hostView(await portal.visibleHost(c.principal, c.params.host)));
    } },
    { method: 'POST', path: '/hosts', handler: async (c) => {
      if (!c.principal.sysadmin) throw forbidden('only administrators add hosts');
      const body = await readJson(c.req);
      const name = requireString(body, 'name');
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(name)) throw badRequest('name may hold letters, digits, _ . - (up to 63)');
      const endpoint = requireString(body, 'endpoint');
      if (!/^tcp:\/\/[^/]+:\d+$/.test(endpoint)) throw badRequest('endpoint must be tcp://host:port (mutual TLS)');
      const tls = { ca: requireString(body, 'ca'), cert: requireString(body, 'cert'), key: requireString(body, 'key') };
      for (const [k, v] of Object.entries(tls)) if (!v.includes('-----BEGIN')) throw badRequest(`${k} must be PEM`);
      if (portal.hosts.list().some((h) => h.name === name)) throw new HttpError(409, `a host named ${name} exists`);
      // Proven before it is kept: the endpoint answers with this certificate.
      const probe = new DockerHost({ endpoint, ...tls });
      const ping = await probe.call('GET', '/_ping', undefined, 10_000).catch((err: Error) => { throw badRequest(`cannot reach ${endpoint}: ${err.message}`); });
      if (ping.status !== 200) throw badRequest(`${endpoint} answered ${ping.status} to /_ping`);
      const stored = portal.store.addHost({ name, endpoint, ...tls });
      sendJson(c.res, 201, { id: stored.id });
    } },
    { method: 'DELETE', path: '/hosts/{host}', handler: async (c) => {
      if (!c.principal.sysadmin) throw forbidden('only administrators remove hosts');
      if (!portal.store.removeHost(c.params.host)) throw new HttpError(c.params.host.startsWith('local-') ? 409 : 404,
        c.params.host.startsWith('local-') ? 'local VCHs are found, not added: stop the VCH instead' : `no such added host: ${c.params.host}`);
      sendJson(c.res, 200, { removed: true });
    } },
    { method: 'GET', path: '/dashboard', handler: async (c) => {
      const hosts = await portal.visibleHosts(c.principal);
      const containers = await portal.containers(c.principal, hosts);
      sampler.touch();
      sendJson(c.res, 200, hosts.map((h) => ({
        id: h.id, name: h.name,
        containers: containers.filter((x) => x.hostId === h.id).length,
        running: containers.filter((x) => x.hostId === h.id && x.state === 'running').length,
        // Host-wide use: only administrators see containers of every project summed.
        usage: c.principal.sysadmin ? sampler.history(h.id) : [],
      })));
    } },
  ];
}
