// Compose templates: a docker-compose file parsed (npm yaml) into a plan of networks, volumes and
// services (image, command, environment, published ports, healthchecks, start order and conditions
// from depends_on, restart policy, scale). Keys a template cannot honour are refused by name rather than silently dropped.
import { parse } from 'yaml';
import { badRequest } from './http.ts';
import { DEFAULT_MEMORY_MIB } from './portal.ts';

export interface PortPlan { containerPort: number; protocol: 'tcp' | 'udp'; hostIp: string; hostPort: number }
export interface ServicePlan {
  service: string; image: string; command?: string[]; entrypoint?: string[]; environment: string[]; replicas: number; memoryMiB: number;
  networks: string[]; volumes: { source: string; target: string; readOnly: boolean }[];
  ports: PortPlan[]; dependsOn: string[]; restart: { Name: string; MaximumRetryCount: number } | null;
  labels: Record<string, string>; workingDir?: string; user?: string; tty: boolean; stdinOpen: boolean;
  /** Ports the container listens on without publishing them ("8080/tcp"). */
  expose: string[];
  /** CPUs (cpus or deploy.resources.limits.cpus); null for the VCH's default. */
  cpus: number | null;
  /** Docker's HealthConfig (durations in nanoseconds); absent: the image's own. */
  healthcheck?: HealthConfig;
  /** Dependencies whose condition is more than "started": what each must reach before this service starts. */
  waitFor: { service: string; condition: WaitCondition }[];
}
export type WaitCondition = 'service_healthy' | 'service_completed_successfully';
export interface HealthConfig { Test: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number; StartInterval?: number }
/** Services in start order: every service after the ones it depends on. */
export interface ComposePlan { services: ServicePlan[]; networks: string[]; volumes: string[] }

const nameRe = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Service keys a template provisions. */
const SUPPORTED = new Set(['image', 'command', 'entrypoint', 'environment', 'ports', 'expose', 'depends_on', 'restart', 'networks', 'volumes',
  'mem_limit', 'cpus', 'deploy', 'scale', 'labels', 'working_dir', 'user', 'tty', 'stdin_open', 'healthcheck']);
/** Why some keys cannot be provisioned from a template (anything else unknown is refused as unsupported). */
const REFUSED: Record<string, string> = {
  build: 'build needs a build context, which a template (one YAML file) does not have; the service needs an image (push it to the registry and name it in image:)',
  env_file: 'env_file names files on the machine running compose; a template has none (put the variables in environment:)',
  container_name: 'container_name gives one fixed name, which an application (named app-service-N) and scaling cannot keep',
  network_mode: 'network_mode is not supported: every container is its own VM on the application\'s networks',
  privileged: 'privileged is not supported on a VCH', devices: 'devices are not passed to container VMs', pid: 'pid namespaces are not shared between container VMs',
  ipc: 'ipc namespaces are not shared between container VMs', extends: 'extends needs other compose files, which a template does not have',
  secrets: 'secrets are not supported by templates', configs: 'configs are not supported by templates',
};
const TOP_LEVEL = new Set(['version', 'name', 'services', 'networks', 'volumes']);

const asList = (v: unknown, service: string, key: string): string[] | undefined => {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return ['sh', '-c', v];
  throw badRequest(`service ${service}: ${key} must be a string or a list`);
};

export function parseCompose(text: string): ComposePlan {
  let doc: any;
  try { doc = parse(text); } catch (err) { throw badRequest(`compose file is not valid YAML: ${(err as Error).message}`); }
  if (!doc || typeof doc !== 'object' || !doc.services || typeof doc.services !== 'object') throw badRequest('compose file has no services');
  doc = interpolate(doc, '');
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL.has(key) && !key.startsWith('x-')) throw badRequest(REFUSED[key] ?? `top-level key ${key} is not supported by templates`);
  }
  const networks = Object.keys(doc.networks ?? {});
  const volumes = Object.keys(doc.volumes ?? {});
  for (const n of [...networks, ...volumes]) if (!nameRe.test(n)) throw badRequest(`bad network or volume name: ${n}`);
  const services: ServicePlan[] = [];
  for (const [service, raw] of Object.entries<any>(doc.services)) {
    if (!nameRe.test(service)) throw badRequest(`bad service name: ${service}`);
    if (!raw || typeof raw !== 'object') throw badRequest(`service ${service} needs an image`);
    for (const key of Object.keys(raw)) {
      if (SUPPORTED.has(key) || key.startsWith('x-')) continue;
      throw badRequest(`service ${service}: ${REFUSED[key] ?? `${key} is not supported by templates`}`);
    }
    if (typeof raw.image !== 'string' || !raw.image) throw badRequest(`service ${service} needs an image`);
    const environment = Array.isArray(raw.environment) ? raw.environment.map(String)
      : Object.entries(raw.environment ?? {}).map(([k, v]) => `${k}=${v ?? ''}`);
    checkDeploy(raw.deploy, service);
    const replicas = Number(raw.deploy?.replicas ?? raw.scale ?? 1);
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > 20) throw badRequest(`service ${service}: scale must be 0…20`);
    const limit = raw.mem_limit ?? raw.deploy?.resources?.limits?.memory;
    const memoryMiB = limit !== undefined ? mebibytes(limit, service) : DEFAULT_MEMORY_MIB;
    const svcNetworks = Array.isArray(raw.networks) ? raw.networks.map(String) : Object.keys(raw.networks ?? {});
    for (const n of svcNetworks) if (!networks.includes(n)) throw badRequest(`service ${service} uses undeclared network ${n}`);
    const svcVolumes = (raw.volumes ?? []).map((v: unknown) => {
      const [source, target, mode] = String(v).split(':');
      if (!target || !volumes.includes(source)) throw badRequest(`service ${service}: volume ${String(v)} must name a declared volume (host paths are not supported)`);
      return { source, target, readOnly: mode === 'ro' };
    });
    const ports = (raw.ports ?? []).flatMap((p: unknown) => parsePort(p, service));
    if (replicas > 1) fixedPortsAllowOne(service, ports);
    const labels = Array.isArray(raw.labels) ? Object.fromEntries(raw.labels.map((l: string) => { const [k, ...v] = String(l).split('='); return [k, v.join('=')]; }))
      : Object.fromEntries(Object.entries(raw.labels ?? {}).map(([k, v]) => [k, String(v ?? '')]));
    for (const k of Object.keys(labels)) if (k.startsWith('com.docker.compose.') || k.startsWith('bonneville.')) throw badRequest(`service ${service}: label ${k} is the portal's own`);
    const deps = dependencies(raw.depends_on, service);
    services.push({
      service, image: raw.image, command: asList(raw.command, service, 'command'), entrypoint: typeof raw.entrypoint === 'string' ? raw.entrypoint.split(/\s+/).filter(Boolean) : asList(raw.entrypoint, service, 'entrypoint'),
      environment, replicas, memoryMiB, networks: svcNetworks.length ? svcNetworks : ['default'], volumes: svcVolumes, ports,
      dependsOn: deps.map((d) => d.service), waitFor: deps.filter((d): d is { service: string; condition: WaitCondition } => d.condition !== 'service_started'),
      healthcheck: healthcheck(raw.healthcheck, service), restart: restartPolicy(raw.restart, service), labels,
      workingDir: raw.working_dir === undefined ? undefined : String(raw.working_dir), user: raw.user === undefined ? undefined : String(raw.user),
      tty: raw.tty === true, stdinOpen: raw.stdin_open === true,
      expose: (raw.expose ?? []).map((e: unknown) => {
        const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(String(e));
        if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw badRequest(`service ${service}: expose ${String(e)} is not a port[/tcp|udp]`);
        return `${m[1]}/${m[2] ?? 'tcp'}`;
      }),
      cpus: cpusOf(raw.cpus ?? raw.deploy?.resources?.limits?.cpus, service),
    });
  }
  const usesDefault = services.some((s) => s.networks.includes('default'));
  return { services: startOrder(services), networks: usesDefault && !networks.includes('default') ? ['default', ...networks] : networks, volumes };
}

/**
 * Compose's variable substitution without a shell to take values from: `$$` is a literal `$`,
 * `${VAR:-default}` / `${VAR-default}` the default; a bare `$VAR` or `${VAR}` is refused.
 */
function interpolate(v: unknown, where: string): any {
  if (typeof v === 'string') {
    return v.replace(/\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*)|\{[^}]*\}?)/g, (all, braced, dflt, bare) => {
      if (all === '$$') return '$';
      if (braced !== undefined && dflt !== undefined) return dflt;
      const name = braced ?? bare ?? all;
      throw badRequest(`${where || 'compose file'}: ${all} would be substituted from the environment of the shell running compose, which a template does not have (write $$${name === all ? '' : name} for a literal $, or \${${name === all ? 'VAR' : name}:-default})`);
    });
  }
  if (Array.isArray(v)) return v.map((x) => interpolate(x, where));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x, where ? `${where}.${k}` : k)]));
  return v;
}

/** A service that publishes a fixed host port can have one container: a second could not bind it. */
export function fixedPortsAllowOne(service: string, ports: PortPlan[]): void {
  const fixed = ports.find((p) => p.hostPort !== 0);
  if (fixed) throw badRequest(`service ${service} publishes host port ${fixed.hostPort}; only one of its containers can, so it cannot be scaled beyond 1 (publish the container port alone, "${fixed.containerPort}", for a port chosen per container)`);
}

/** Compose's short ("[ip:][host:]container[/proto]") and long ({target, published, protocol, host_ip}) port forms. */
function parsePort(p: unknown, service: string): PortPlan[] {
  const bad = () => badRequest(`service ${service}: port ${JSON.stringify(p)} is not [host_ip:][host_port:]container_port[/tcp|udp]`);
  const num = (v: unknown, allowZero: boolean) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) throw bad();
    return n;
  };
  const proto = (v: unknown): 'tcp' | 'udp' => {
    if (v === undefined || v === 'tcp' || v === 'udp') return (v ?? 'tcp') as 'tcp' | 'udp';
    throw badRequest(`service ${service}: protocol ${String(v)} is not tcp or udp`);
  };
  if (typeof p === 'object' && p !== null) {
    const o = p as Record<string, unknown>;
    return [{ containerPort: num(o.target, false), protocol: proto(o.protocol), hostIp: String(o.host_ip ?? ''), hostPort: o.published === undefined ? 0 : num(o.published, true) }];
  }
  if (typeof p !== 'string' && typeof p !== 'number') throw bad();
  const text = String(p);
  if (text.includes('-')) throw badRequest(`service ${service}: port ranges (${text}) are not supported by templates`);
  const [spec, protocol] = text.split('/');
  const parts = spec.split(':');
  if (parts.length > 3) throw bad();
  const containerPort = num(parts[parts.length - 1], false);
  const hostPort = parts.length >= 2 && parts[parts.length - 2] !== '' ? num(parts[parts.length - 2], true) : 0;
  const hostIp = parts.length === 3 ? parts[0] : '';
  return [{ containerPort, protocol: proto(protocol), hostIp, hostPort }];
}

const CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;

/** depends_on as a list (started first), or a map with compose's conditions. */
function dependencies(v: unknown, service: string): { service: string; condition: (typeof CONDITIONS)[number] }[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((dep) => ({ service: String(dep), condition: 'service_started' as const }));
  if (typeof v !== 'object') throw badRequest(`service ${service}: depends_on must be a list or a map`);
  return Object.entries(v as Record<string, any>).map(([dep, spec]) => {
    const condition = spec?.condition ?? 'service_started';
    if (!CONDITIONS.includes(condition)) throw badRequest(`service ${service}: depends_on ${dep} condition ${condition} is not one of ${CONDITIONS.join(', ')}`);
    return { service: dep, condition };
  });
}

/** Compose's healthcheck as Docker's HealthConfig: test as CMD/CMD-SHELL/NONE, durations like "1m30s". */
function healthcheck(v: any, service: string): HealthConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`service ${service}: healthcheck must be a map`);
  for (const key of Object.keys(v)) {
    if (!['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'].includes(key)) throw badRequest(`service ${service}: healthcheck.${key} is not a healthcheck setting`);
  }
  if (v.disable === true) return { Test: ['NONE'] };
  let test: string[];
  if (typeof v.test === 'string') test = ['CMD-SHELL', v.test];
  else if (Array.isArray(v.test) && ['CMD', 'CMD-SHELL', 'NONE'].includes(String(v.test[0]))) test = v.test.map(String);
  else throw badRequest(`service ${service}: healthcheck.test must be a string or a list starting with CMD, CMD-SHELL or NONE`);
  if (test[0] !== 'NONE' && test.length < 2) throw badRequest(`service ${service}: healthcheck.test ${test[0]} needs a command`);
  const config: HealthConfig = { Test: test };
  const durations: [string, keyof HealthConfig][] = [['interval', 'Interval'], ['timeout', 'Timeout'], ['start_period', 'StartPeriod'], ['start_interval', 'StartInterval']];
  for (const [key, field] of durations) if (v[key] !== undefined) (config as any)[field] = nanoseconds(v[key], `service ${service}: healthcheck.${key}`);
  if (v.retries !== undefined) {
    if (!Number.isInteger(v.retries) || v.retries < 0) throw badRequest(`service ${service}: healthcheck.retries must be a whole number`);
    config.Retries = v.retries;
  }
  return config;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go-style duration ("1m30s", "500ms", "10s") in nanoseconds. */
function nanoseconds(v: unknown, what: string): number {
  const text = String(v);
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw badRequest(`${what} ${text} is not a duration such as 30s or 1m30s`);
  let total = 0;
  for (const [, n, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * UNIT_NS[unit];
  return Math.round(total);
}

/** deploy: the parts a single host honours (replicas, resource limits); swarm's placement, update and rollback settings are refused. */
function checkDeploy(deploy: any, service: string): void {
  if (deploy === undefined || deploy === null) return;
  if (typeof deploy !== 'object') throw badRequest(`service ${service}: deploy must be a map`);
  for (const key of Object.keys(deploy)) {
    if (key === 'replicas' || (key === 'mode' && deploy.mode === 'replicated')) continue;
    if (key === 'resources') {
      for (const [k, v] of Object.entries<any>(deploy.resources ?? {})) {
        if (k === 'reservations') continue; // a reservation asks for no more than the limit gives
        if (k !== 'limits') throw badRequest(`service ${service}: deploy.resources.${k} is not supported by templates`);
        for (const limit of Object.keys(v ?? {})) if (limit !== 'memory' && limit !== 'cpus') throw badRequest(`service ${service}: deploy.resources.limits.${limit} is not supported by templates`);
      }
      continue;
    }
    throw badRequest(`service ${service}: deploy.${key} is swarm's; a template provisions on one host (deploy.replicas and deploy.resources.limits are supported)`);
  }
}

function cpusOf(v: unknown, service: string): number | null {
  if (v === undefined || v === null) return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 64) throw badRequest(`service ${service}: cpus ${String(v)} is not a number of CPUs`);
  return n;
}

function restartPolicy(v: unknown, service: string): ServicePlan['restart'] {
  if (v === undefined || v === null || v === 'no' || v === false) return null;
  const m = /^(always|unless-stopped|on-failure)(?::(\d+))?$/.exec(String(v));
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) throw badRequest(`service ${service}: restart ${String(v)} is not no, always, unless-stopped or on-failure[:N]`);
  return { Name: m[1], MaximumRetryCount: Number(m[2] ?? 0) };
}

/** Orders services so each comes after its dependencies; refuses unknown ones and cycles. */
function startOrder(services: ServicePlan[]): ServicePlan[] {
  const byName = new Map(services.map((s) => [s.service, s]));
  const done = new Set<string>();
  const visiting: string[] = [];
  const out: ServicePlan[] = [];
  const visit = (s: ServicePlan) => {
    if (done.has(s.service)) return;
    if (visiting.includes(s.service)) throw badRequest(`depends_on makes a cycle: ${[...visiting.slice(visiting.indexOf(s.service)), s.service].join(' → ')}`);
    visiting.push(s.service);
    for (const dep of s.dependsOn) {
      const d = byName.get(dep);
      if (!d) throw badRequest(`service ${s.service} depends on ${dep}, which is not a service of this file`);
      visit(d);
    }
    visiting.pop();
    done.add(s.service);
    out.push(s);
  };
  for (const s of services) visit(s);
  return out;
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
