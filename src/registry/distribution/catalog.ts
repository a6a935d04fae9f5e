// GET /v2/_catalog?n=&last= — like Harbor, only for system administrators.
import type { Metadata } from '../db/metadata.ts';
import { isSysadmin } from '../auth/access.ts';
import { denied, unauthorized } from '../http/errors.ts';
import { sendJson } from '../http/respond.ts';
import { nextLink, pageParams } from './pagination.ts';
import type { DistRoutes } from './request.ts';

export function catalogRoutes(deps: { db: Metadata }): DistRoutes['catalog'] {
  return {
    GET: async (r) => {
      if (!isSysadmin(r.principal)) {
        if (r.principal.kind === 'anonymous') throw unauthorized(r.challenge('registry:catalog:*'));
        if (r.principal.kind === 'token') throw unauthorized(r.challenge('registry:catalog:*', 'insufficient_scope'));
        throw denied('listing the catalog needs system administrator rights');
      }
      const { n, last } = pageParams(r.query);
      const repos = n === 0 ? [] : await deps.db.listRepositories(last, n + 1);
      const page = repos.slice(0, n).map((x) => x.name);
      const headers: Record<string, string> = {};
      if (repos.length > n && n > 0) headers.Link = nextLink('/v2/_catalog', n, page[page.length - 1]);
      sendJson(r.res, 200, { repositories: page }, headers);
    },
  };
}
