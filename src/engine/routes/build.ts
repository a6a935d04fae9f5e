// POST /build: dockerd's classic builder (src/engine/build/). This route only reads the query,
// receives the context and turns the builder's outcome into the JSON message stream.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Route, RequestContext } from '../http/router.ts';
import { queryBool, queryInt } from '../http/io.ts';
import { messageOf } from '../http/errors.ts';
import { invalid, PortLayerError } from '../../portlayer/errors.ts';
import { normaliseTag } from '../../portlayer/images/references.ts';
import { readBuildContext } from '../build/context.ts';
import { Builder, BuildFailed, buildWorkDir, type BuildOptions } from '../build/builder.ts';
import { BuildStream } from '../build/stream.ts';
import type { RunServices } from '../build/run-step.ts';
import type { DockerHostConfig } from '../docker/create-request.ts';
import { decodeAuthHeader, type RegistryCredentials } from '../../portlayer/images/registry/auth.ts';
import type { RegistryAccess } from '../../portlayer/images/registry/access.ts';
import { parseReference } from '../../portlayer/images/references.ts';

export interface BuildBackend extends RunServices {
  /** Where builds keep their files while they run (under the datastore). */
  workRoot: string;
  /** The VCH's registry settings, for pulling a base image it lacks. */
  registryAccess: () => RegistryAccess;
}

/** X-Registry-Config: base64 JSON of registry → credentials (the CLI sends every login it has). */
function registryCredentials(header: string | string[] | undefined): Record<string, RegistryCredentials> {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return {};
  try {
    const parsed = JSON.parse(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).map(([registry, auth]) => [registry, decodeAuthHeader(Buffer.from(JSON.stringify(auth ?? {})).toString('base64'))]));
  } catch {
    return {}; // unreadable credentials: pulls go anonymous, as with no header
  }
}

/** The credentials the header holds for the reference's registry (Docker Hub under its legacy key too). */
function credentialsFor(all: Record<string, RegistryCredentials>, domain: string): RegistryCredentials {
  const hub = domain === 'docker.io' || domain === 'index.docker.io' || domain === 'registry-1.docker.io';
  return all[domain] ?? (hub ? all['https://index.docker.io/v1/'] ?? all['docker.io'] : undefined) ?? all[`https://${domain}`] ?? {};
}

export function buildRoutes(b: BuildBackend): Route[] {
  return [{ method: 'POST', path: '/build', handler: (ctx) => build(b, ctx) }];
}

function jsonMap(ctx: RequestContext, name: string): Record<string, string | null> {
  const text = ctx.query.get(name);
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(`invalid ${name}: not JSON: ${text}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.values(parsed).every((v) => v === null || typeof v === 'string')) {
    throw invalid(`invalid ${name}: want a JSON object of strings`);
  }
  return parsed as Record<string, string | null>;
}

/** "0-2,4" → 4 CPUs: the VM gets as many as the set names. */
function cpusOfSet(set: string): number {
  let count = 0;
  for (const part of set.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw invalid(`invalid cpusetcpus: ${set}`);
    count += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return count;
}

function buildOptions(ctx: RequestContext): BuildOptions {
  const q = ctx.query;
  if (q.get('remote')) throw new PortLayerError('NotImplemented', 'building from a remote context (git or URL) is not possible on this VCH: it has no access to remote sources; send the context');
  if (q.get('version') === '2') throw new PortLayerError('NotImplemented', 'BuildKit is not supported by this VCH: build with the classic builder (DOCKER_BUILDKIT=0)');
  if (queryBool(q, 'squash')) throw invalid('squash is only supported with experimental mode');
  const platform = q.get('platform');
  if (platform && !/^linux(\/amd64)?$/.test(platform)) throw invalid(`platform ${platform} is not supported: this VCH runs linux/amd64`);
  if (q.get('outputs')) throw invalid('outputs is only supported with BuildKit');
  const tags = q.getAll('t').filter(Boolean).map((t) => {
    try {
      return normaliseTag(t);
    } catch (err) {
      throw invalid(`invalid reference format: ${t}: ${(err as Error).message}`);
    }
  });
  const host: DockerHostConfig = {};
  const memory = queryInt(q, 'memory');
  if (memory) host.Memory = memory;
  const cpuset = q.get('cpusetcpus');
  if (cpuset) host.CpuCount = cpusOfSet(cpuset);
  const quota = queryInt(q, 'cpuquota');
  const period = queryInt(q, 'cpuperiod') || 100000;
  if (quota && quota > 0) host.NanoCpus = Math.ceil(quota / period) * 1e9;
  const network = q.get('networkmode');
  if (network && network !== 'default') host.NetworkMode = network;
  const extraHosts = q.getAll('extrahosts').flatMap((h) => h.split(',')).filter(Boolean);
  if (extraHosts.length) host.ExtraHosts = extraHosts;
  return {
    tags,
    buildArgs: jsonMap(ctx, 'buildargs'),
    labels: jsonMap(ctx, 'labels') as Record<string, string>,
    target: q.get('target') || undefined,
    noCache: queryBool(q, 'nocache'),
    remove: queryBool(q, 'rm', true),
    forceRemove: queryBool(q, 'forcerm'),
    host,
    // A boolean to the CLI ("1") and to docker-py ("True"/"False").
    alwaysPull: queryBool(q, 'pull'),
  };
}

async function build(b: BuildBackend, ctx: RequestContext): Promise<void> {
  const gone = new AbortController();
  ctx.res.on('close', () => {
    if (!ctx.res.writableFinished) gone.abort();
  });
  const stream = new BuildStream(ctx.res, queryBool(ctx.query, 'q'));
  const credentials = registryCredentials(ctx.req.headers['x-registry-config']);
  const pull = async (text: string) => {
    const reference = parseReference(text);
    await b.images.pull({ reference, credentials: credentialsFor(credentials, reference.domain), access: b.registryAccess(), progress: (m) => stream.progress(m) });
  };
  const options = { ...buildOptions(ctx), signal: gone.signal, pull };
  const workDir = await buildWorkDir(b.workRoot);
  try {
    const context = await readBuildContext(ctx.req, join(workDir, 'context'), ctx.query.get('dockerfile') ?? '');
    const builder = new Builder(b, context, options, stream, workDir);
    // Errors up to here (context, Dockerfile, target) are the request's: an HTTP error as dockerd answers.
    const { dockerfile, stages } = builder.prepare();
    try {
      const id = await builder.build(dockerfile, stages);
      if (queryBool(ctx.query, 'q')) stream.always(`${id}\n`);
    } catch (err) {
      stream.error(messageOf(err), err instanceof BuildFailed ? err.code : undefined);
    }
    stream.end();
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
