// GET /containers/{id}/export: the container's merged filesystem as a tarball; GET
// /containers/{id}/changes (`docker diff`): what the container changed against its image.
import type { Route, RequestContext } from '../http/router.ts';
import { sendJson } from '../http/io.ts';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import type { ManagedImageStore } from '../../portlayer/images/types.ts';

export interface ContainerExportBackend {
  containers: ContainerService;
  images: ManagedImageStore;
}

export function containerExportRoutes(b: ContainerExportBackend): Route[] {
  return [
    { method: 'GET', path: '/containers/:id/export', handler: (ctx) => exportContainer(b, ctx) },
    { method: 'GET', path: '/containers/:id/changes', handler: (ctx) => changes(b, ctx) },
  ];
}

/** Docker's change kinds. */
const KIND = { modified: 0, added: 1, deleted: 2 } as const;

async function changes(b: ContainerExportBackend, ctx: RequestContext): Promise<void> {
  const found = await b.images.changes(b.containers.filesystemOf(ctx.params.id));
  sendJson(ctx.res, 200, found.length ? found.map((c) => ({ Path: c.path, Kind: KIND[c.kind] })) : null);
}

async function exportContainer(b: ContainerExportBackend, ctx: RequestContext): Promise<void> {
  const filesystem = b.containers.filesystemOf(ctx.params.id);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await b.images.exportFilesystem(filesystem, ctx.res);
    ctx.res.end();
  } catch (err) {
    ctx.res.destroy(err instanceof Error ? err : new Error(String(err))); // a torn tarball must not look complete
  }
}
