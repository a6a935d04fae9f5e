// /volumes…: the route table and handlers for `docker volume`.
import type { Route, RequestContext } from '../http/router.ts';
import { readJsonBody, sendJson, sendNoContent, queryBool, queryFilters } from '../http/io.ts';
import { invalid } from '../../portlayer/errors.ts';
import type { VolumeCreateRequest, VolumeView } from '../../portlayer/volumes/model.ts';
import { filterVolumes, pruneFilters, volumeJson } from '../docker/volume-json.ts';

/** What the volume routes need from below. */
export interface VolumeRoutesBackend {
  list(): VolumeView[];
  get(name: string): VolumeView;
  create(request: VolumeCreateRequest): Promise<VolumeView>;
  remove(name: string, options: { force?: boolean }): Promise<void>;
  prune(options: { all?: boolean; select?: (v: VolumeView) => boolean }): Promise<{ deleted: string[]; reclaimed: number }>;
}

interface DockerVolumeCreate {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export function volumeRoutes(b: VolumeRoutesBackend): Route[] {
  return [
    { method: 'GET', path: '/volumes', handler: (ctx) => sendJson(ctx.res, 200, { Volumes: filterVolumes(b.list(), queryFilters(ctx.query)).map((v) => volumeJson(v)), Warnings: null }) },
    { method: 'POST', path: '/volumes/create', handler: (ctx) => create(b, ctx) },
    { method: 'POST', path: '/volumes/prune', handler: (ctx) => prune(b, ctx) },
    { method: 'GET', path: '/volumes/:name', handler: (ctx) => sendJson(ctx.res, 200, volumeJson(b.get(ctx.params.name))) },
    { method: 'DELETE', path: '/volumes/:name', handler: async (ctx) => { await b.remove(ctx.params.name, { force: queryBool(ctx.query, 'force') }); sendNoContent(ctx.res); } },
  ];
}

async function create(b: VolumeRoutesBackend, ctx: RequestContext): Promise<void> {
  const body = await readJsonBody<DockerVolumeCreate>(ctx.req);
  if (body.Name !== undefined && typeof body.Name !== 'string') throw invalid('Name must be a string');
  const volume = await b.create({ name: body.Name ?? '', driver: body.Driver || undefined, driverOptions: body.DriverOpts ?? {}, labels: body.Labels ?? {} });
  sendJson(ctx.res, 201, volumeJson(volume));
}

async function prune(b: VolumeRoutesBackend, ctx: RequestContext): Promise<void> {
  const { deleted, reclaimed } = await b.prune(pruneFilters(queryFilters(ctx.query)));
  sendJson(ctx.res, 200, { VolumesDeleted: deleted, SpaceReclaimed: reclaimed });
}
