// GET /v2/<name>/tags/list?n=&last=
import type { Metadata } from '../db/metadata.ts';
import { nameUnknown } from '../http/errors.ts';
import { sendJson } from '../http/respond.ts';
import type { RepoGate } from './gate.ts';
import { nextLink, pageParams } from './pagination.ts';
import type { DistRoutes } from './request.ts';

export function tagRoutes(deps: { db: Metadata; gate: RepoGate }): DistRoutes['tags'] {
  return {
    GET: async (r) => {
      const { repo } = await deps.gate.open(r, r.name, ['pull']);
      if (!repo) throw nameUnknown(r.name);
      const { n, last } = pageParams(r.query);
      // Fetch one extra to know whether a next page exists.
      const tags = n === 0 ? [] : await deps.db.listTags(repo.id, last, n + 1);
      const page = tags.slice(0, n);
      const headers: Record<string, string> = {};
      if (tags.length > n && n > 0) headers.Link = nextLink(`/v2/${r.name}/tags/list`, n, page[page.length - 1]);
      sendJson(r.res, 200, { name: r.name, tags: page }, headers);
    },
  };
}
