// /api/v2.0/projects/{p}/immutabletagrules in Harbor's selector shape (doublestar patterns).
import type { ImmutableRule, Metadata } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import { badRequest } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { projectWith } from './guards.ts';
import type { ApiRoute } from './router.ts';

const view = (r: ImmutableRule) => ({
  id: r.id, project_id: r.projectId, disabled: false,
  tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: r.tagPattern }],
  scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: r.repoPattern }] },
});

export function immutabilityRoutes(deps: { db: Metadata; access: AccessControl }): ApiRoute[] {
  const { db, access } = deps;
  return [
    { method: 'GET', path: '/projects/{project}/immutabletagrules', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, r.params.project, 'read');
      sendJson(r.res, 200, (await db.immutableRules(p.id)).map(view));
    } },
    { method: 'POST', path: '/projects/{project}/immutabletagrules', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, r.params.project, 'manageImmutability');
      const body = await readJson(r.req, badRequest);
      const tag = body.tag_selectors?.[0];
      const repo = body.scope_selectors?.repository?.[0];
      if (typeof tag?.pattern !== 'string' || (tag.decoration ?? 'matches') !== 'matches') throw badRequest('tag_selectors[0] needs a "matches" pattern');
      if (repo && (typeof repo.pattern !== 'string' || (repo.decoration ?? 'repoMatches') !== 'repoMatches')) throw badRequest('unsupported scope selector');
      const rule = await db.addImmutableRule(p.id, repo?.pattern ?? '**', tag.pattern);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/projects/${p.id}/immutabletagrules/${rule.id}` });
    } },
    { method: 'DELETE', path: '/projects/{project}/immutabletagrules/{id}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, r.params.project, 'manageImmutability');
      await db.deleteImmutableRule(p.id, Number(r.params.id));
      sendEmpty(r.res, 200);
    } },
  ];
}
