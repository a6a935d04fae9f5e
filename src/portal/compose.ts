// Compose templates: a docker-compose file parsed (npm yaml) into a plan of networks, volumes and
// containers, provisioned on one host as an application through the Docker API with compose's labels.
import { parse } from 'yaml';
import { badRequest, HttpError } from './http.ts';
import type { DockerHost } from './docker-host.ts';
import { createBody, type RunRequest } from './api/containers.ts';
import { DEFAULT_MEMORY_MIB } from './portal.ts';

export interface ServicePlan {
  service: string; image: string; command?: string[]; environment: string[]; replicas: number; memoryMiB: number;
  networks: string[]; volumes: { source: string; target: string; readOnly: boolean }[];
}
export interface ComposePlan { services: ServicePlan[]; networks: string[]; volumes: string[] }

const nameRe = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function parseCompose(text: string): ComposePlan {
  let doc: any;
  try { doc = parse(text); } catch (err) { throw badRequest(`compose file is not valid YAML: ${(err as Error).message}`); }
  if (!doc || typeof doc !== 'object' || !doc.services || typeof doc.services !== 'object') throw badRequest('compose file has no services');
  const networks = Object.keys(doc.networks ?? {});
  const volumes = Object.keys(doc.volumes ?? {});
  for (const n of [...networks, ...volumes]) if (!nameRe.test(n)) throw badRequest(`bad network or volume name: ${n}`);
  const services: ServicePlan[] = [];
  for (const [service, raw] of Object.entries<any>(doc.services)) {
    if (!nameRe.test(service)) throw badRequest(`bad service name: ${service}`);
    if (!raw || typeof raw.image !== 'string') throw badRequest(`service ${service} needs an image (build is not supported by templates)`);
    const command = raw.command === undefined ? undefined : Array.isArray(raw.command) ? raw.command.map(String) : ['sh', '-c', String(raw.command)];
    const environment = Array.isArray(raw.environment) ? raw.environment.map(String)
      : Object.entries(raw.environment ?? {}).map(([k, v]) => `${k}=${v ?? ''}`);
    const replicas = Number(raw.deploy?.replicas ?? raw.scale ?? 1);
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > 20) throw badRequest(`service ${service}: scale must be 0…20`);
    const memoryMiB = raw.mem_limit !== undefined ? mebibytes(raw.mem_limit, service) : DEFAULT_MEMORY_MIB;
    const svcNetworks = Array.isArray(raw.networks) ? raw.networks.map(String) : Object.keys(raw.networks ?? {});
    for (const n of svcNetworks) if (!networks.includes(n)) throw badRequest(`service ${service} uses undeclared network ${n}`);
    const svcVolumes = (raw.volumes ?? []).map((v: unknown) => {
      const [source, target, mode] = String(v).split(':');
      if (!target || !volumes.includes(source)) throw badRequest(`service ${service}: volume ${String(v)} must name a declared volume (host paths are not supported)`);
      return { source, target, readOnly: mode === 'ro' };
    });
    services.push({ service, image: raw.image, command, environment, replicas, memoryMiB, networks: svcNetworks.length ? svcNetworks : ['default'], volumes: svcVolumes });
  }
  const usesDefault = services.some((s) => s.networks.includes('default'));
  return { services, networks: usesDefault && !networks.includes('default') ? ['default', ...networks] : networks, volumes };
}

function mebibytes(v: unknown, service: string): number {
  const m = /^(\d+)\s*([kmg]?)b?$/i.exec(String(v));
  if (!m) throw badRequest(`service ${service}: mem_limit ${String(v)} is not a size`);
  const n = Number(m[1]);
  const unit = m[2].toLowerCase();
  const mib = unit === 'g' ? n * 1024 : unit === 'm' ? n : unit === 'k' ? n / 1024 : n / 1048576;
  if (mib < 64) throw badRequest(`service ${service}: mem_limit below 64 MiB`);
  return Math.ceil(mib);
}

export const containerCount = (plan: ComposePlan) => plan.services.reduce((n, s) => n + s.replicas, 0);
export const memoryOf = (plan: ComposePlan) => plan.services.reduce((n, s) => n + s.replicas * s.memoryMiB, 0);

/** Creates the application; on any failure removes what it created and passes the error on. */
export async function provision(docker: DockerHost, app: string, plan: ComposePlan, project: string | null, templateId: string | null,
  ensureImage: (image: string) => Promise<void>): Promise<{ containers: string[] }> {
  const base: Record<string, string> = { 'com.docker.compose.project': app };
  if (templateId) base['bonneville.portal.template'] = templateId;
  if (project) base['bonneville.portal.project'] = project;
  const existing = await docker.json<any[]>('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${app}`] }))}`);
  if (existing.length) throw new HttpError(409, `an application named ${app} already exists on this host`);
  const made = { networks: [] as string[], volumes: [] as string[], containers: [] as string[] };
  try {
    for (const s of plan.services) await ensureImage(s.image);
    for (const n of plan.networks) {
      const r = await docker.json('POST', '/networks/create', { Name: `${app}_${n}`, Labels: { ...base, 'com.docker.compose.network': n } });
      made.networks.push(r.Id);
    }
    for (const v of plan.volumes) {
      const r = await docker.json('POST', '/volumes/create', { Name: `${app}_${v}`, Labels: { ...base, 'com.docker.compose.volume': v } });
      made.volumes.push(r.Name);
    }
    for (const s of plan.services) {
      for (let i = 1; i <= s.replicas; i++) {
        const run: RunRequest = { hostId: '', project, image: s.image, cmd: s.command, env: s.environment, memoryMiB: s.memoryMiB, tty: false,
          labels: { ...base, 'com.docker.compose.service': s.service, 'com.docker.compose.container-number': String(i), 'com.docker.compose.oneoff': 'False' } };
        const body = createBody(run) as any;
        const [first, ...others] = s.networks;
        body.HostConfig.NetworkMode = `${app}_${first}`;
        body.NetworkingConfig = { EndpointsConfig: { [`${app}_${first}`]: { Aliases: [s.service] } } };
        body.HostConfig.Mounts = s.volumes.map((v) => ({ Type: 'volume', Source: `${app}_${v.source}`, Target: v.target, ReadOnly: v.readOnly }));
        const r = await docker.json('POST', `/containers/create?name=${encodeURIComponent(`${app}-${s.service}-${i}`)}`, body);
        made.containers.push(r.Id);
        for (const n of others) await docker.json('POST', `/networks/${app}_${n}/connect`, { Container: r.Id, EndpointConfig: { Aliases: [s.service] } });
      }
    }
    for (const id of made.containers) await docker.json('POST', `/containers/${id}/start`);
    return { containers: made.containers };
  } catch (err) {
    for (const id of made.containers) await docker.call('DELETE', `/containers/${id}?force=1&v=1`).catch(() => undefined);
    for (const v of made.volumes) await docker.call('DELETE', `/volumes/${encodeURIComponent(v)}`).catch(() => undefined);
    for (const n of made.networks) await docker.call('DELETE', `/networks/${n}`).catch(() => undefined);
    throw err;
  }
}

/** Removes an application's containers, then its networks and volumes. */
export async function removeApplication(docker: DockerHost, app: string): Promise<{ containers: number }> {
  const filter = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${app}`] }));
  const containers = await docker.json<any[]>('GET', `/containers/json?all=1&filters=${filter}`);
  for (const c of containers) await docker.json('DELETE', `/containers/${c.Id}?force=1`);
  const networks = await docker.json<any[]>('GET', `/networks?filters=${filter}`);
  for (const n of networks) await docker.json('DELETE', `/networks/${n.Id}`);
  const volumes = await docker.json('GET', `/volumes?filters=${filter}`);
  for (const v of volumes.Volumes ?? []) await docker.json('DELETE', `/volumes/${encodeURIComponent(v.Name)}`);
  return { containers: containers.length };
}
