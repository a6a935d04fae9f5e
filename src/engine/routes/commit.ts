// POST /commit: a container's changes become a new image (`docker commit`).
import type { Route, RequestContext } from '../http/router.ts';
import { readJsonBody, sendJson } from '../http/io.ts';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import type { ManagedImageStore, ImageRuntimeConfig } from '../../portlayer/images/types.ts';
import type { ContainerView } from '../../portlayer/containers/model.ts';
import type { DockerPersonality } from '../docker/create-request.ts';
import { invalid } from '../../portlayer/errors.ts';

export interface CommitBackend {
  containers: ContainerService;
  images: ManagedImageStore;
}

export function commitRoutes(b: CommitBackend): Route[] {
  return [{ method: 'POST', path: '/commit', handler: (ctx) => commit(b, ctx) }];
}

/** The container's config as an image config: what `docker run` of the new image starts with. */
function runtimeConfigOf(c: ContainerView): ImageRuntimeConfig {
  const spec = c.record.spec;
  const asked = (spec.personality as DockerPersonality).config;
  const list = (value: string[] | string | null | undefined) => (value == null ? null : typeof value === 'string' ? [value] : value);
  return {
    User: spec.process.user,
    Env: spec.process.env,
    Entrypoint: list(asked.Entrypoint),
    Cmd: list(asked.Cmd),
    WorkingDir: asked.WorkingDir ?? '',
    Labels: spec.labels,
    StopSignal: spec.stopSignal === 'SIGTERM' ? undefined : spec.stopSignal,
    ExposedPorts: asked.ExposedPorts ?? undefined,
    Volumes: asked.Volumes ?? undefined,
  };
}

async function commit(b: CommitBackend, ctx: RequestContext): Promise<void> {
  const ref = ctx.query.get('container');
  if (!ref) throw invalid('container is required');
  const overrides = await readJsonBody<ImageRuntimeConfig & Record<string, unknown>>(ctx.req);
  const container = b.containers.get(ref);
  const repo = ctx.query.get('repo');
  const tag = ctx.query.get('tag');
  const id = await b.images.commit({
    parentId: container.record.imageId,
    filesystem: b.containers.filesystemOf(container.record.id),
    containerConfig: runtimeConfigOf(container),
    overrides: pickRuntimeFields(overrides),
    changes: ctx.query.getAll('changes').flatMap((c) => c.split('\n')).filter((c) => c.trim()),
    reference: repo ? `${repo}${tag ? `:${tag}` : ''}` : undefined,
    comment: ctx.query.get('comment') ?? undefined,
    author: ctx.query.get('author') ?? undefined,
    createdBy: container.record.spec.process.argv.join(' '),
  });
  sendJson(ctx.res, 201, { Id: id });
}

/** Only the fields of the body that are set, so that an empty body overrides nothing. */
function pickRuntimeFields(body: Record<string, unknown>): ImageRuntimeConfig {
  const fields = ['User', 'Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'Labels', 'StopSignal', 'ExposedPorts', 'Volumes'];
  return Object.fromEntries(fields.filter((f) => body[f] !== undefined && body[f] !== null && body[f] !== '').map((f) => [f, body[f]])) as ImageRuntimeConfig;
}
