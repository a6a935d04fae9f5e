// Containers across hosts: list, inspect, run, lifecycle, logs, stats; networks, volumes and images of a host.
import type { Route, RouteContext } from '../http.ts';
import { badRequest, forbidden, readJson, requireString, sendJson, HttpError } from '../http.ts';
import type { Portal } from '../portal.ts';
import { DEFAULT_MEMORY_MIB } from '../portal.ts';
import type { Principal } from '../sessions.ts';
import { PROJECT_LABEL } from '../access.ts';
import { demultiplex, type DockerHost } from '../docker-host.ts';

type C = RouteContext<Principal>;

export async function inspectVisible(portal: Portal, c: C, needed: 'viewer' | 'member'): Promise<{ docker: DockerHost; info: any }> {
  const host = await portal.visibleHost(c.principal, c.params.host);
  const info = await host.docker.json('GET', `/containers/${encodeURIComponent(c.params.id)}/json`);
  await portal.access.requireOnContainer(c.principal, info.Config?.Labels, needed);
  return { docker: host.docker, info };
}

/** Pulls `image` unless the host has it; the user's registry credentials go along for the portal's registry. */
export async function ensureImage(portal: Portal, docker: DockerHost, image: string, p: Principal): Promise<void> {
  const have = await docker.call('GET', `/images/${encodeURIComponent(image)}/json`);
  if (have.status === 200) return;
  const headers: Record<string, string> = {};
  if (image.startsWith(`${portal.registry.host}/`)) {
    headers['X-Registry-Auth'] = Buffer.from(JSON.stringify({ username: p.username, password: p.password, serveraddress: portal.registry.host })).toString('base64url');
  }
  const ref = /:[^/]+$|@/.test(image) ? image : `${image}:latest`;
  const res = await docker.call('POST', `/images/create?fromImage=${encodeURIComponent(ref)}`, undefined, 600_000, headers);
  const text = res.body.toString('utf8');
  if (res.status >= 400) throw new HttpError(res.status, safeMessage(text, `pulling ${image} failed`));
  // Pull errors arrive in the progress stream with a 200.
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const msg = JSON.parse(line) as { error?: string };
      if (msg.error) throw new HttpError(502, `pulling ${image}: ${msg.error}`);
    } catch (err) { if (err instanceof HttpError) throw err; }
  }
}

function safeMessage(text: string, fallback: string): string {
  try { return (JSON.parse(text) as { message?: string }).message ?? fallback; } catch { return fallback; }
}

export interface RunRequest {
  hostId: string; project: string | null; image: string; name?: string; cmd?: string[]; env?: string[];
  memoryMiB: number; tty: boolean; labels?: Record<string, string>;
}

export function parseRun(body: Record<string, any>): RunRequest {
  const image = requireString(body, 'image');
  const hostId = requireString(body, 'hostId');
  if (body.cmd !== undefined && !(Array.isArray(body.cmd) && body.cmd.every((x: unknown) => typeof x === 'string'))) throw badRequest('cmd must be an array of strings');
  if (body.env !== undefined && !(Array.isArray(body.env) && body.env.every((x: unknown) => typeof x === 'string' && x.includes('=')))) throw badRequest('env must be an array of NAME=value strings');
  const memoryMiB = body.memoryMiB === undefined ? DEFAULT_MEMORY_MIB : Number(body.memoryMiB);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 64 || memoryMiB > 65536) throw badRequest('memoryMiB must be a whole number between 64 and 65536');
  if (body.name !== undefined && (typeof body.name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(body.name))) throw badRequest('name may hold letters, digits, _ . - only');
  if (body.project !== undefined && body.project !== null && typeof body.project !== 'string') throw badRequest('project must be a string');
  return { image, hostId, project: body.project || null, name: body.name || undefined, cmd: body.cmd, env: body.env, memoryMiB, tty: body.tty === true };
}

export function createBody(r: RunRequest): Record<string, unknown> {
  const labels: Record<string, string> = { ...(r.labels ?? {}), 'bonneville.portal.memory-mib': String(r.memoryMiB) };
  if (r.project) labels[PROJECT_LABEL] = r.project;
  return {
    Image: r.image, Cmd: r.cmd, Env: r.env, Tty: r.tty, OpenStdin: r.tty, Labels: labels,
    HostConfig: { Memory: r.memoryMiB * 1024 * 1024 },
  };
}

export function containerRoutes(portal: Portal): Route<Principal>[] {
  const lifecycle = (action: 'start' | 'stop' | 'restart'): Route<Principal> => ({
    method: 'POST', path: `/hosts/{host}/containers/{id}/${action}`, handler: async (c) => {
      const { docker, info } = await inspectVisible(portal, c, 'member');
      await docker.json('POST', `/containers/${info.Id}/${action}${action === 'start' ? '' : '?t=5'}`);
      sendJson(c.res, 200, { id: info.Id, action });
    },
  });
  return [
    { method: 'GET', path: '/containers', handler: async (c) => {
      const q = c.url.searchParams;
      let list = await portal.containers(c.principal, await portal.visibleHosts(c.principal));
      if (q.get('host')) list = list.filter((x) => x.hostId === q.get('host'));
      if (q.get('project')) list = list.filter((x) => x.project === q.get('project'));
      if (q.get('state')) list = list.filter((x) => x.state === q.get('state'));
      if (q.get('name')) list = list.filter((x) => x.name.includes(q.get('name')!));
      sendJson(c.res, 200, list.sort((a, b) => b.created - a.created));
    } },
    { method: 'POST', path: '/containers', handler: async (c) => {
      const run = parseRun(await readJson(c.req));
      const host = await portal.visibleHost(c.principal, run.hostId).catch(async () => {
        // A project member may run on a placed host; administrators on any host.
        if (c.principal.sysadmin) return portal.hosts.get(run.hostId);
        throw forbidden(`host ${run.hostId} is not placed for any of your projects`);
      });
      // Checked before the pull (no pulls for refused callers) and again, serialized, right before creation.
      await portal.admit(c.principal, run.project, host.id, 1, run.memoryMiB);
      await ensureImage(portal, host.docker, run.image, c.principal);
      const created = await portal.serialize(run.project, async () => {
        await portal.admit(c.principal, run.project, host.id, 1, run.memoryMiB);
        return host.docker.json('POST', `/containers/create${run.name ? `?name=${encodeURIComponent(run.name)}` : ''}`, createBody(run));
      });
      try {
        await host.docker.json('POST', `/containers/${created.Id}/start`);
      } catch (err) {
        await host.docker.call('DELETE', `/containers/${created.Id}?force=1`);
        throw err;
      }
      sendJson(c.res, 201, { id: created.Id, hostId: host.id });
    } },
    { method: 'GET', path: '/hosts/{host}/containers/{id}', handler: async (c) => {
      const { info } = await inspectVisible(portal, c, 'viewer');
      sendJson(c.res, 200, info);
    } },
    lifecycle('start'), lifecycle('stop'), lifecycle('restart'),
    { method: 'DELETE', path: '/hosts/{host}/containers/{id}', handler: async (c) => {
      const { docker, info } = await inspectVisible(portal, c, 'member');
      await docker.json('DELETE', `/containers/${info.Id}?force=1&v=1`);
      sendJson(c.res, 200, { id: info.Id, removed: true });
    } },
    { method: 'GET', path: '/hosts/{host}/containers/{id}/stats', handler: async (c) => {
      const { docker, info } = await inspectVisible(portal, c, 'viewer');
      if (!info.State?.Running) { sendJson(c.res, 200, { running: false }); return; }
      sendJson(c.res, 200, statsSample(await docker.json('GET', `/containers/${info.Id}/stats?stream=false`)));
    } },
    { method: 'GET', path: '/hosts/{host}/containers/{id}/logs', handler: async (c) => {
      // Server-sent events, one `data:` per line of output; `follow=1` keeps the stream open.
      const { docker, info } = await inspectVisible(portal, c, 'viewer');
      const follow = c.url.searchParams.get('follow') === '1';
      const tail = /^\d+$/.test(c.url.searchParams.get('tail') ?? '') ? c.url.searchParams.get('tail') : '500';
      const stream = await docker.stream(`/containers/${info.Id}/logs?stdout=1&stderr=1&tail=${tail}${follow ? '&follow=1' : ''}`);
      c.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      let pending = '';
      const emit = (text: string) => {
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) c.res.write(`data: ${JSON.stringify(line.replace(/\r$/, ''))}\n\n`);
      };
      const onChunk = info.Config?.Tty ? (b: Buffer) => emit(b.toString('utf8')) : demultiplex((_s, d) => emit(d.toString('utf8')));
      stream.on('data', onChunk);
      stream.on('end', () => { if (pending) c.res.write(`data: ${JSON.stringify(pending)}\n\n`); c.res.end('event: end\ndata: ""\n\n'); });
      stream.on('error', () => c.res.end());
      c.res.on('close', () => stream.destroy());
    } },
    { method: 'GET', path: '/hosts/{host}/images', handler: async (c) => {
      const host = await portal.visibleHost(c.principal, c.params.host);
      const images = await host.docker.json<any[]>('GET', '/images/json');
      sendJson(c.res, 200, images.map((i) => ({ id: i.Id, tags: i.RepoTags ?? [], size: i.Size, created: i.Created })));
    } },
    { method: 'GET', path: '/hosts/{host}/networks', handler: async (c) => {
      const host = await portal.visibleHost(c.principal, c.params.host);
      const nets = await host.docker.json<any[]>('GET', '/networks');
      sendJson(c.res, 200, nets.map((n) => ({ id: n.Id, name: n.Name, driver: n.Driver, internal: n.Internal, subnets: (n.IPAM?.Config ?? []).map((x: any) => x.Subnet), labels: n.Labels ?? {} })));
    } },
    { method: 'POST', path: '/hosts/{host}/networks', handler: async (c) => {
      if (!c.principal.sysadmin) throw forbidden('only administrators create networks outside applications');
      const host = await portal.visibleHost(c.principal, c.params.host);
      const body = await readJson(c.req);
      const created = await host.docker.json('POST', '/networks/create', { Name: requireString(body, 'name'), Internal: body.internal === true });
      sendJson(c.res, 201, { id: created.Id });
    } },
    { method: 'DELETE', path: '/hosts/{host}/networks/{id}', handler: async (c) => {
      if (!c.principal.sysadmin) throw forbidden('only administrators remove networks outside applications');
      const host = await portal.visibleHost(c.principal, c.params.host);
      await host.docker.json('DELETE', `/networks/${encodeURIComponent(c.params.id)}`);
      sendJson(c.res, 200, { removed: true });
    } },
    { method: 'GET', path: '/hosts/{host}/volumes', handler: async (c) => {
      const host = await portal.visibleHost(c.principal, c.params.host);
      const vols = await host.docker.json('GET', '/volumes');
      sendJson(c.res, 200, (vols.Volumes ?? []).map((v: any) => ({ name: v.Name, driver: v.Driver, createdAt: v.CreatedAt, labels: v.Labels ?? {} })));
    } },
    { method: 'POST', path: '/hosts/{host}/volumes', handler: async (c) => {
      if (!c.principal.sysadmin) throw forbidden('only administrators create volumes outside applications');
      const host = await portal.visibleHost(c.principal, c.params.host);
      const body = await readJson(c.req);
      const created = await host.docker.json('POST', '/volumes/create', { Name: requireString(body, 'name') });
      sendJson(c.res, 201, { name: created.Name });
    } },
    { method: 'DELETE', path: '/hosts/{host}/volumes/{name}', handler: async (c) => {
      if (!c.principal.sysadmin) throw forbidden('only administrators remove volumes outside applications');
      const host = await portal.visibleHost(c.principal, c.params.host);
      await host.docker.json('DELETE', `/volumes/${encodeURIComponent(c.params.name)}`);
      sendJson(c.res, 200, { removed: true });
    } },
  ];
}

/** CPU percent and memory from one `docker stats` sample, as the CLI computes them. */
export function statsSample(s: any): { running: true; cpuPercent: number; memoryBytes: number; memoryLimit: number; at: string } {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus ?? 1;
  const cpuPercent = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  return { running: true, cpuPercent, memoryBytes: s.memory_stats?.usage ?? 0, memoryLimit: s.memory_stats?.limit ?? 0, at: s.read ?? new Date().toISOString() };
}
