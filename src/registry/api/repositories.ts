// /api/v2.0/projects/{p}/repositories[/{r}/artifacts]: browse and delete what was pushed.
// Repository names inside a project may contain '/', which clients encode (Harbor double-encodes).
import type { Metadata } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import type { EventBus } from '../events.ts';
import { principalName } from '../auth/principal.ts';
import { forbidden, notFound } from '../http/errors.ts';
import { sendEmpty, sendJson } from '../http/respond.ts';
import { projectWith, requireLogin, projectRef } from './guards.ts';
import type { ApiRequest, ApiRoute } from './router.ts';

export function repositoryRoutes(deps: { db: Metadata; access: AccessControl; events: EventBus }): ApiRoute[] {
  const { db, access } = deps;
  const repoOf = async (r: ApiRequest, action: 'pull' | 'delete') => {
    const project = await projectWith(db, access, r.principal, projectRef(r), 'read');
    const name = `${project.name}/${decodeURIComponent(r.params.repo)}`;
    if (!(await access.projectRepoActions(r.principal, project)).has(action)) {
      requireLogin(r.principal);
      throw forbidden(`no ${action} access to ${name}`);
    }
    const repo = await db.repositoryByName(name);
    if (!repo) throw notFound(`repository ${name}`);
    return { project, repo };
  };
  return [
    { method: 'GET', path: '/projects/{project}/repositories', handler: async (r) => {
      const project = await projectWith(db, access, r.principal, projectRef(r), 'read');
      const out = [];
      for (const repo of await db.listProjectRepositories(project.id)) {
        out.push({ id: repo.id, name: repo.name, project_id: project.id, artifact_count: (await db.listManifests(repo.id)).length,
          creation_time: new Date(repo.createdAt).toISOString() });
      }
      sendJson(r.res, 200, out);
    } },
    { method: 'GET', path: '/projects/{project}/repositories/{repo}/artifacts', handler: async (r) => {
      const { repo } = await repoOf(r, 'pull');
      const out = [];
      for (const m of await db.listManifests(repo.id)) {
        out.push({ digest: m.digest, media_type: m.mediaType, manifest_media_type: m.mediaType, size: m.size,
          push_time: new Date(m.createdAt).toISOString(), tags: (await db.tagsOf(repo.id, m.digest)).map((name) => ({ name })) });
      }
      sendJson(r.res, 200, out);
    } },
    { method: 'DELETE', path: '/projects/{project}/repositories/{repo}', handler: async (r) => {
      const { project, repo } = await repoOf(r, 'delete');
      const manifests = await db.listManifests(repo.id);
      await db.deleteRepository(repo.id);
      for (const m of manifests) {
        deps.events.emit({ type: 'DELETE_ARTIFACT', operator: principalName(r.principal), projectId: project.id, projectName: project.name,
          repository: repo.name, digest: m.digest, tag: null, mediaType: m.mediaType });
      }
      sendEmpty(r.res, 200);
    } },
  ];
}
