// /api/v2.0/projects/{p}/immutabletagrules in Harbor's selector shape (doublestar patterns).
import type { ImmutableRule, Metadata } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import { badRequest } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { projectWith, projectRef } from './guards.ts';
import { checkPattern } from '../distribution/glob.ts';

/** Harbor's own limit of immutability rules per project. */
const MAX_RULES = 15;
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
      const p = await projectWith(db, access, r.principal, projectRef(r), 'read');
      sendJson(r.res, 200, (await db.immutableRules(p.id)).map(view));
    } },
    { method: 'POST', path: '/projects/{project}/immutabletagrules', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'manageImmutability');
      const body = await readJson(r.req, badRequest);
      const tag = Array.isArray(body.tag_selectors) ? body.tag_selectors[0] : undefined;
      const repo = body.scope_selectors?.repository?.[0];
      if (typeof tag?.pattern !== 'string' || (tag.decoration ?? 'matches') !== 'matches') throw badRequest('tag_selectors[0] needs a "matches" pattern');
      if (repo && (typeof repo.pattern !== 'string' || (repo.decoration ?? 'repoMatches') !== 'repoMatches')) throw badRequest('unsupported scope selector');
      const tagPattern = checkPattern(tag.pattern, 'tag_selectors[0].pattern');
      const repoPattern = repo ? checkPattern(repo.pattern, 'scope_selectors.repository[0].pattern') : '**';
      if ((await db.immutableRules(p.id)).length >= MAX_RULES) throw badRequest(`a project has at most ${MAX_RULES} immutability rules`);
      const rule = await db.addImmutableRule(p.id, repoPattern, tagPattern);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/projects/${p.id}/immutabletagrules/${rule.id}` });
    } },
    { method: 'DELETE', path: '/projects/{project}/immutabletagrules/{id}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'manageImmutability');
      await db.deleteImmutableRule(p.id, Number(r.params.id));
      sendEmpty(r.res, 200);
    } },
  ];
}
