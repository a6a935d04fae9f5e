// GET /containers/{id}/export: the container's merged filesystem as a tarball.
import type { Route, RequestContext } from '../http/router.ts';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import type { ManagedImageStore } from '../../portlayer/images/types.ts';

export interface ContainerExportBackend {
  containers: ContainerService;
  images: ManagedImageStore;
}

export function containerExportRoutes(b: ContainerExportBackend): Route[] {
  return [{ method: 'GET', path: '/containers/:id/export', handler: (ctx) => exportContainer(b, ctx) }];
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
