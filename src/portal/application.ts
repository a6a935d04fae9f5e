// Applications: a compose plan provisioned on one host through the Docker API with compose's labels
// and names (app-service-N), started in depends_on order (waiting for healthy or completed dependencies
// where asked); one service scaled up or down; removed as one.
import { badRequest, conflict } from './http.ts';
import type { DockerHost } from './docker-host.ts';
import { createBody, type RunRequest } from './api/containers.ts';
import { fixedPortsAllowOne, type ComposePlan, type ServicePlan, type WaitCondition } from './compose.ts';

export const APP_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
export const NUMBER_LABEL = 'com.docker.compose.container-number';
export const TEMPLATE_LABEL = 'bonneville.portal.template';

const filterOf = (labels: string[]) => encodeURIComponent(JSON.stringify({ label: labels }));

function baseLabels(app: string, project: string | null, templateId: string | null): Record<string, string> {
  const base: Record<string, string> = { [APP_LABEL]: app };
  if (templateId) base[TEMPLATE_LABEL] = templateId;
  if (project) base['bonneville.portal.project'] = project;
  return base;
}

/** Creates container `n` of a service (not started); returns its id. */
async function createReplica(docker: DockerHost, app: string, s: ServicePlan, n: number, base: Record<string, string>, project: string | null): Promise<string> {
  const run: RunRequest = { hostId: '', project, image: s.image, cmd: s.command, env: s.environment, memoryMiB: s.memoryMiB, tty: s.tty,
    labels: { ...s.labels, ...base, [SERVICE_LABEL]: s.service, [NUMBER_LABEL]: String(n), 'com.docker.compose.oneoff': 'False' } };
  const body = createBody(run) as any;
  if (s.entrypoint) body.Entrypoint = s.entrypoint;
  if (s.workingDir) body.WorkingDir = s.workingDir;
  if (s.user) body.User = s.user;
  if (s.restart) body.HostConfig.RestartPolicy = s.restart;
  if (s.cpus !== null) body.HostConfig.NanoCpus = Math.round(s.cpus * 1e9);
  if (s.stdinOpen) body.OpenStdin = true;
  if (s.healthcheck) body.Healthcheck = s.healthcheck;
  if (s.expose.length) body.ExposedPorts = Object.fromEntries(s.expose.map((e) => [e, {}]));
  if (s.ports.length) {
    body.ExposedPorts = { ...body.ExposedPorts, ...Object.fromEntries(s.ports.map((p) => [`${p.containerPort}/${p.protocol}`, {}])) };
    body.HostConfig.PortBindings = {};
    for (const p of s.ports) {
      (body.HostConfig.PortBindings[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort ? String(p.hostPort) : '' });
    }
  }
  const [first, ...others] = s.networks;
  body.HostConfig.NetworkMode = `${app}_${first}`;
  body.NetworkingConfig = { EndpointsConfig: { [`${app}_${first}`]: { Aliases: [s.service] } } };
  body.HostConfig.Mounts = s.volumes.map((v) => ({ Type: 'volume', Source: `${app}_${v.source}`, Target: v.target, ReadOnly: v.readOnly }));
  const r = await docker.json('POST', `/containers/create?name=${encodeURIComponent(`${app}-${s.service}-${n}`)}`, body);
  try {
    for (const net of others) await docker.json('POST', `/networks/${app}_${net}/connect`, { Container: r.Id, EndpointConfig: { Aliases: [s.service] } });
  } catch (err) {
    await docker.call('DELETE', `/containers/${r.Id}?force=1`).catch(() => undefined);
    throw err;
  }
  return r.Id;
}

/**
 * Creates the application and starts its containers service by service in depends_on order; on any
 * failure removes what it created and passes the error on.
 */
export async function provision(docker: DockerHost, app: string, plan: ComposePlan, project: string | null, templateId: string | null,
  ensureImage: (image: string) => Promise<void>): Promise<{ containers: string[] }> {
  const base = baseLabels(app, project, templateId);
  const existing = await docker.json<any[]>('GET', `/containers/json?all=1&filters=${filterOf([`${APP_LABEL}=${app}`])}`);
  if (existing.length) throw conflict(`an application named ${app} already exists on this host`);
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
    const byService = new Map<string, string[]>();
    for (const s of plan.services) {
      const ids: string[] = [];
      for (let i = 1; i <= s.replicas; i++) {
        ids.push(await createReplica(docker, app, s, i, base, project));
        made.containers.push(ids[ids.length - 1]);
      }
      byService.set(s.service, ids);
    }
    // Plan order puts every service after its dependencies; a service whose depends_on has a condition
    // waits for those containers to be healthy or to have completed successfully, as compose does.
    for (const s of plan.services) {
      for (const dep of s.waitFor) await reachCondition(docker, dep.service, byService.get(dep.service) ?? [], dep.condition, s.service);
      for (const id of byService.get(s.service) ?? []) await docker.json('POST', `/containers/${id}/start`);
    }
    return { containers: made.containers };
  } catch (err) {
    for (const id of made.containers) await docker.call('DELETE', `/containers/${id}?force=1&v=1`).catch(() => undefined);
    for (const v of made.volumes) await docker.call('DELETE', `/volumes/${encodeURIComponent(v)}`).catch(() => undefined);
    for (const n of made.networks) await docker.call('DELETE', `/networks/${n}`).catch(() => undefined);
    throw err;
  }
}

/** How long a deploy waits for a dependency's condition before it gives up (and removes what it made). */
const CONDITION_TIMEOUT_MS = 10 * 60_000;

/** Waits until every container of `service` is healthy, or has exited 0; refuses as compose does otherwise. */
async function reachCondition(docker: DockerHost, service: string, ids: string[], condition: WaitCondition, dependent: string): Promise<void> {
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  for (const id of ids) {
    for (;;) {
      const c = await docker.json<any>('GET', `/containers/${id}/json`);
      const name = String(c.Name ?? id).replace(/^\//, '');
      if (condition === 'service_healthy') {
        const health = c.State?.Health?.Status;
        if (!health) throw badRequest(`service ${dependent} waits for ${service} to be healthy, but container ${name} has no healthcheck`);
        if (health === 'healthy') break;
        if (health === 'unhealthy') throw conflict(`dependency failed to start: container ${name} is unhealthy`);
        if (!c.State?.Running) throw conflict(`dependency failed to start: container ${name} exited (${c.State?.ExitCode}) before it was healthy`);
      } else if (!c.State?.Running && c.State?.Status !== 'created') {
        if (c.State?.ExitCode === 0) break;
        throw conflict(`service ${service} didn't complete successfully: container ${name} exited with code ${c.State?.ExitCode}`);
      }
      if (Date.now() > deadline) throw conflict(`service ${dependent}: ${service} did not reach ${condition} within ${CONDITION_TIMEOUT_MS / 60_000} minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The containers of one service of an application, by container number. */
export async function serviceContainers(docker: DockerHost, app: string, service: string): Promise<{ id: string; name: string; number: number }[]> {
  const list = await docker.json<any[]>('GET', `/containers/json?all=1&filters=${filterOf([`${APP_LABEL}=${app}`, `${SERVICE_LABEL}=${service}`])}`);
  return list.map((c) => ({ id: c.Id, name: String(c.Names?.[0] ?? '').replace(/^\//, ''), number: Number(c.Labels?.[NUMBER_LABEL] ?? 0) }))
    .sort((a, b) => a.number - b.number);
}

/**
 * Brings a service to `replicas` containers: new ones (the lowest free numbers) created from the
 * plan and started, all or none; surplus ones (the highest numbers) removed.
 */
export async function scaleService(docker: DockerHost, app: string, s: ServicePlan, replicas: number, project: string | null, templateId: string | null,
  ensureImage: (image: string) => Promise<void>): Promise<{ added: string[]; removed: string[] }> {
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > 20) throw badRequest('replicas must be a whole number from 0 to 20');
  const current = await serviceContainers(docker, app, s.service);
  if (replicas > current.length) {
    if (replicas > 1) fixedPortsAllowOne(s.service, s.ports);
    await ensureImage(s.image);
    const taken = new Set(current.map((c) => c.number));
    const made: string[] = [];
    try {
      for (let n = 1; made.length < replicas - current.length; n++) {
        if (taken.has(n)) continue;
        const id = await createReplica(docker, app, s, n, baseLabels(app, project, templateId), project);
        made.push(id);
        await docker.json('POST', `/containers/${id}/start`);
      }
    } catch (err) {
      for (const id of made) await docker.call('DELETE', `/containers/${id}?force=1`).catch(() => undefined);
      throw err;
    }
    return { added: made, removed: [] };
  }
  const surplus = current.slice(replicas).reverse();
  for (const c of surplus) await docker.json('DELETE', `/containers/${c.id}?force=1`);
  return { added: [], removed: surplus.map((c) => c.name) };
}

/** Removes an application's containers, then its networks and volumes. */
export async function removeApplication(docker: DockerHost, app: string): Promise<{ containers: number }> {
  const filter = filterOf([`${APP_LABEL}=${app}`]);
  const containers = await docker.json<any[]>('GET', `/containers/json?all=1&filters=${filter}`);
  for (const c of containers) await docker.json('DELETE', `/containers/${c.Id}?force=1`);
  const networks = await docker.json<any[]>('GET', `/networks?filters=${filter}`);
  for (const n of networks) await docker.json('DELETE', `/networks/${n.Id}`);
  const volumes = await docker.json('GET', `/volumes?filters=${filter}`);
  for (const v of volumes.Volumes ?? []) await docker.json('DELETE', `/volumes/${encodeURIComponent(v.Name)}`);
  return { containers: containers.length };
}
