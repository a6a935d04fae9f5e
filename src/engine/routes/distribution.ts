// GET /distribution/{name}/json (`docker manifest inspect`-like probes of SDKs and buildx): what a
// registry holds under a reference, asked with the caller's X-Registry-Auth, nothing pulled.
import type { Route, RequestContext } from '../http/router.ts';
import { sendJson } from '../http/io.ts';
import { inspectDistribution } from '../../portlayer/images/distribution-inspect.ts';
import { parseReference } from '../../portlayer/images/references.ts';
import { decodeAuthHeader } from '../../portlayer/images/registry/auth.ts';
import type { RegistryConfig } from '../registry-config.ts';

export function distributionRoutes(registries: RegistryConfig): Route[] {
  return [{ method: 'GET', path: '/distribution/:name*/json', handler: (ctx) => inspect(registries, ctx) }];
}

async function inspect(registries: RegistryConfig, ctx: RequestContext): Promise<void> {
  const auth = ctx.req.headers['x-registry-auth'];
  const info = await inspectDistribution(parseReference(ctx.params.name), decodeAuthHeader(Array.isArray(auth) ? auth[0] : auth), registries.access());
  sendJson(ctx.res, 200, {
    Descriptor: info.descriptor,
    Platforms: info.platforms,
  });
}
