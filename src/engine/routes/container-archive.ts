// HEAD/GET/PUT /containers/{id}/archive: `docker cp`. The CLI does the path logic (it stats the
// destination, then sends a tar rooted right); here are Docker's three primitives: stat (in the
// X-Docker-Container-Path-Stat header, base64 JSON), a tar of a path, and extracting a tar into a
// directory.
import { pipeline } from 'node:stream/promises';
import type { Route, RequestContext } from '../http/router.ts';
import { queryBool } from '../http/io.ts';
import { invalid } from '../../portlayer/errors.ts';
import type { PathStat } from '../../portlayer/backend.ts';
import type { ContainerFiles } from '../../portlayer/containers/files.ts';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

export function containerArchiveRoutes(files: ContainerFiles): Route[] {
  return [
    { method: 'HEAD', path: '/containers/:id/archive', handler: (ctx) => head(files, ctx) },
    { method: 'GET', path: '/containers/:id/archive', handler: (ctx) => get(files, ctx) },
    { method: 'PUT', path: '/containers/:id/archive', handler: (ctx) => put(files, ctx) },
  ];
}

function pathOf(ctx: RequestContext): string {
  const path = ctx.query.get('path');
  if (!path) throw invalid('path is required');
  return path;
}

function statHeader(stat: PathStat): string {
  const { name, size, mode, mtime, linkTarget } = stat;
  return Buffer.from(JSON.stringify({ name, size, mode, mtime, linkTarget })).toString('base64');
}

async function head(files: ContainerFiles, ctx: RequestContext): Promise<void> {
  const stat = await files.stat(ctx.params.id, pathOf(ctx));
  ctx.res.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Type': 'application/json' }).end();
}

async function get(files: ContainerFiles, ctx: RequestContext): Promise<void> {
  await files.read(ctx.params.id, pathOf(ctx), async (stat, tar) => {
    ctx.res.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Type': 'application/x-tar' });
    // A failure after this point tears the response down: a cut tarball must not look complete.
    await pipeline(tar, ctx.res);
  });
}

async function put(files: ContainerFiles, ctx: RequestContext): Promise<void> {
  await files.write(ctx.params.id, pathOf(ctx), ctx.req, {
    noOverwriteDirNonDir: queryBool(ctx.query, 'noOverwriteDirNonDir'),
    copyUIDGID: queryBool(ctx.query, 'copyUIDGID'),
  });
  ctx.res.writeHead(200).end();
}
