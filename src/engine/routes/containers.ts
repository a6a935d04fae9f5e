// /containers/…: the route table and the handlers for the container lifecycle.
import type { Route, RequestContext } from '../http/router.ts';
import { readJsonBody, sendJson, sendNoContent, queryBool, queryInt, queryFilters, queryConsoleSize } from '../http/io.ts';
import { invalid } from '../../portlayer/errors.ts';
import type { ContainerService, WaitCondition } from '../../portlayer/containers/service.ts';
import type { ContainerOutput } from '../../portlayer/containers/output.ts';
import type { ContainerView } from '../../portlayer/containers/model.ts';
import type { ImageStore } from '../../portlayer/images/types.ts';
import { toContainerSpec } from '../docker/create-request.ts';
import { toContainerUpdate } from '../docker/update-request.ts';
import type { DockerUpdateRequest } from '../docker/update-request.ts';
import type { DockerCreateRequest } from '../docker/create-request.ts';
import { inspectContainer, isUp, listEntry } from '../docker/container-json.ts';
import type { VmIdentity } from '../docker/container-json.ts';
import type { ContainerNetworkView } from '../docker/network-settings.ts';
import { filterContainers } from '../docker/container-filters.ts';
import { attachHandler, attachWebsocketHandler, logsHandler } from './container-streams.ts';
import { statsHandler } from './container-stats.ts';
import { notFound } from '../../portlayer/errors.ts';

/** What the container routes need from below. */
export interface ContainerRoutesBackend {
  containers: ContainerService;
  output: ContainerOutput;
  images: ImageStore;
  /** The one runtime this VCH has (its backend's name, as `docker info` lists it). */
  runtime: string;
  vmIdentity(c: ContainerView): VmIdentity;
  /** The container's networks and published ports; absent: none. */
  networkView?(c: ContainerView): ContainerNetworkView;
}

const WAIT_CONDITIONS = new Set(['not-running', 'next-exit', 'removed']);

export function containerRoutes(b: ContainerRoutesBackend): Route[] {
  return [
    { method: 'GET', path: '/containers/json', handler: (ctx) => list(b, ctx) },
    { method: 'POST', path: '/containers/create', handler: (ctx) => create(b, ctx) },
    { method: 'GET', path: '/containers/:id/json', handler: (ctx) => { const c = b.containers.get(ctx.params.id); sendJson(ctx.res, 200, inspectContainer(c, b.vmIdentity(c), b.networkView?.(c))); } },
    { method: 'POST', path: '/containers/:id/start', handler: async (ctx) => { await b.containers.start(ctx.params.id); sendNoContent(ctx.res); } },
    { method: 'POST', path: '/containers/:id/stop', handler: (ctx) => stop(b, ctx) },
    { method: 'POST', path: '/containers/:id/restart', handler: (ctx) => restart(b, ctx) },
    { method: 'POST', path: '/containers/:id/kill', handler: async (ctx) => { await b.containers.kill(ctx.params.id, ctx.query.get('signal') || 'SIGKILL'); sendNoContent(ctx.res); } },
    { method: 'POST', path: '/containers/:id/pause', handler: async (ctx) => { await b.containers.pause(ctx.params.id); sendNoContent(ctx.res); } },
    { method: 'POST', path: '/containers/:id/unpause', handler: async (ctx) => { await b.containers.unpause(ctx.params.id); sendNoContent(ctx.res); } },
    { method: 'POST', path: '/containers/:id/wait', handler: (ctx) => wait(b, ctx) },
    { method: 'POST', path: '/containers/:id/resize', handler: (ctx) => resize(b, ctx) },
    { method: 'POST', path: '/containers/:id/update', handler: (ctx) => update(b, ctx) },
    { method: 'POST', path: '/containers/:id/rename', handler: async (ctx) => { await b.containers.rename(ctx.params.id, ctx.query.get('name') ?? ''); sendNoContent(ctx.res); } },
    { method: 'POST', path: '/containers/:id/attach', handler: (ctx) => attachHandler(b, ctx) },
    { method: 'GET', path: '/containers/:id/attach/ws', handler: (ctx) => attachWebsocketHandler(b, ctx) },
    { method: 'GET', path: '/containers/:id/logs', handler: (ctx) => logsHandler(b, ctx) },
    { method: 'GET', path: '/containers/:id/stats', handler: (ctx) => statsHandler(b, ctx) },
    { method: 'DELETE', path: '/containers/:id', handler: async (ctx) => { await b.containers.remove(ctx.params.id, { force: queryBool(ctx.query, 'force'), volumes: queryBool(ctx.query, 'v') }); sendNoContent(ctx.res); } },
  ];
}

function list(b: ContainerRoutesBackend, ctx: RequestContext): void {
  const all = queryBool(ctx.query, 'all');
  const limit = queryInt(ctx.query, 'limit') ?? -1;
  let found = filterContainers(b.containers.list(), queryFilters(ctx.query));
  if (!all && !ctx.query.get('filters')?.includes('status')) found = found.filter(isUp);
  // Newest first; each date parsed once, not once per comparison (it shows with hundreds of containers).
  const createdMs = new Map(found.map((c) => [c, Date.parse(c.record.created)]));
  found.sort((x, y) => createdMs.get(y)! - createdMs.get(x)!);
  if (limit > 0) found = found.slice(0, limit);
  sendJson(ctx.res, 200, found.map((c) => listEntry(c, b.networkView?.(c))));
}

async function create(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  const request = await readJsonBody<DockerCreateRequest>(ctx.req);
  if (!request.Image) throw invalid('Config cannot be empty in order to create a container');
  const runtime = request.HostConfig?.Runtime;
  if (runtime && runtime !== b.runtime) throw invalid(`unknown or invalid runtime name: ${String(runtime)}`);
  const image = b.images.resolve(request.Image);
  if (!image) throw notFound(`No such image: ${displayReference(request.Image)}`);
  const spec = toContainerSpec(ctx.query.get('name') ?? '', request, image);
  const created = await b.containers.create(spec);
  sendJson(ctx.res, 201, { Id: created.record.id, Warnings: [] });
}

/** "busybox" reads as "busybox:latest" in Docker's messages. */
function displayReference(reference: string): string {
  const lastPart = reference.slice(reference.lastIndexOf('/') + 1);
  return reference.includes('@') || lastPart.includes(':') ? reference : `${reference}:latest`;
}

function stopOptions(ctx: RequestContext): { timeout?: number; signal?: string } {
  return { timeout: queryInt(ctx.query, 't'), signal: ctx.query.get('signal') ?? undefined };
}

async function stop(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  await b.containers.stop(ctx.params.id, stopOptions(ctx));
  sendNoContent(ctx.res);
}

async function restart(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  if (b.containers.isActive(ctx.params.id)) await b.containers.stop(ctx.params.id, stopOptions(ctx));
  await b.containers.start(ctx.params.id);
  sendNoContent(ctx.res);
}

async function wait(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  const condition = ctx.query.get('condition') || 'not-running';
  if (!WAIT_CONDITIONS.has(condition)) throw invalid(`invalid condition: "${condition}"`);
  const waiting = b.containers.wait(ctx.params.id, condition as WaitCondition);
  // Headers go out at once: the CLI waits for them before it starts the container.
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  ctx.res.flushHeaders();
  const exit = await waiting;
  // Why a process failed to start is the start call's answer and State.Error's; the CLI would print a
  // wait error on top of it, so only the status travels here.
  ctx.res.end(JSON.stringify({ StatusCode: exit.code }) + '\n');
}

async function update(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  const request = await readJsonBody<DockerUpdateRequest>(ctx.req);
  const c = b.containers.get(ctx.params.id);
  b.containers.update(c.record.id, toContainerUpdate(request, c));
  sendJson(ctx.res, 200, { Warnings: [] });
}

function resize(b: ContainerRoutesBackend, ctx: RequestContext): void {
  const { rows, cols } = queryConsoleSize(ctx.query);
  b.containers.resize(ctx.params.id, rows, cols);
  ctx.res.writeHead(200).end();
}
