// GET /containers/{id}/top: the container's processes, read in its VM and laid out like ps.
import type { Route, RequestContext } from '../http/router.ts';
import { sendJson } from '../http/io.ts';
import type { ContainerFiles } from '../../portlayer/containers/files.ts';
import { psFormat, psTable } from '../docker/ps-table.ts';

export function containerTopRoutes(files: ContainerFiles): Route[] {
  return [{ method: 'GET', path: '/containers/:id/top', handler: (ctx) => top(files, ctx) }];
}

async function top(files: ContainerFiles, ctx: RequestContext): Promise<void> {
  const psArgs = ctx.query.get('ps_args') ?? '';
  psFormat(psArgs); // refuse bad arguments before asking the guest anything
  const list = await files.processes(ctx.params.id);
  sendJson(ctx.res, 200, psTable(list, psArgs));
}
