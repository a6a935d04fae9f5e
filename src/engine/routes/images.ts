// /images/…: list, inspect, history, tag, delete, prune, load, save, pull, import, push.
import { matchesLabelFilter } from '../docker/label-filter.ts';
import { pathMatch } from '../docker/path-match.ts';
import type { Route, RequestContext } from '../http/router.ts';
import { sendJson, queryBool, queryFilters } from '../http/io.ts';
import { invalid, notFound, PortLayerError } from '../../portlayer/errors.ts';
import { messageOf } from '../http/errors.ts';
import type { DeleteRecord, ImageRecord, ManagedImageStore } from '../../portlayer/images/types.ts';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import { decodeAuthHeader } from '../../portlayer/images/registry/auth.ts';
import { normaliseTag, parseReference } from '../../portlayer/images/references.ts';
import type { RegistryConfig } from '../registry-config.ts';
import { imageHistory, imageListEntry, inspectImage } from '../docker/image-json.ts';
import { ProgressStream } from '../docker/image-progress.ts';

export interface ImageRoutesBackend {
  images: ManagedImageStore;
  containers: ContainerService;
  registries: RegistryConfig;
}

export function imageRoutes(b: ImageRoutesBackend): Route[] {
  return [
    { method: 'GET', path: '/images/json', handler: (ctx) => list(b, ctx) },
    { method: 'POST', path: '/images/load', handler: (ctx) => load(b, ctx) },
    { method: 'POST', path: '/images/create', handler: (ctx) => create(b, ctx) },
    { method: 'POST', path: '/images/prune', handler: (ctx) => prune(b, ctx) },
    { method: 'GET', path: '/images/get', handler: (ctx) => save(b, ctx, ctx.query.getAll('names')) },
    { method: 'GET', path: '/images/:name*/json', handler: (ctx) => inspect(b, ctx) },
    { method: 'GET', path: '/images/:name*/history', handler: (ctx) => history(b, ctx) },
    { method: 'GET', path: '/images/:name*/get', handler: (ctx) => save(b, ctx, [ctx.params.name]) },
    { method: 'POST', path: '/images/:name*/tag', handler: (ctx) => tag(b, ctx) },
    { method: 'POST', path: '/images/:name*/push', handler: (ctx) => push(b, ctx) },
    { method: 'DELETE', path: '/images/:name*', handler: (ctx) => remove(b, ctx) },
  ];
}

function containerCounts(b: ImageRoutesBackend): Map<string, number> {
  const usage = new Map<string, number>();
  for (const c of b.containers.list()) usage.set(c.record.imageId, (usage.get(c.record.imageId) ?? 0) + 1);
  return usage;
}

function createdOf(image: ImageRecord): number {
  return Date.parse(image.config.created ?? image.stored);
}

function list(b: ImageRoutesBackend, ctx: RequestContext): void {
  const usage = containerCounts(b);
  const filters = queryFilters(ctx.query);
  let images = b.images.list();
  // As dockerd: untagged images that are another's parent (a build's intermediate steps) only with `all`.
  if (!queryBool(ctx.query, 'all')) {
    const parents = parentIds(images);
    images = images.filter((img) => img.repoTags.length > 0 || img.repoDigests.length > 0 || !parents.has(img.id));
  }
  for (const [key, values] of filters) images = images.filter(imageFilter(b, key, values));
  images.sort((x, y) => createdOf(y) - createdOf(x) || Date.parse(y.stored) - Date.parse(x.stored));
  // With a reference filter, Docker lists only the tags that matched.
  const patterns = filters.get('reference');
  if (patterns) {
    images = images.map((img) => ({
      ...img,
      repoTags: img.repoTags.filter((tag) => tagMatches(tag, patterns)),
      repoDigests: img.repoDigests.filter((digest) => patterns.some((pattern) => pathMatch(pattern, digest.slice(0, digest.indexOf('@'))))),
    }));
  }
  sendJson(ctx.res, 200, images.map((img) => imageListEntry(img, usage.get(img.id) ?? 0)));
}

/** Ids that some image names as its parent: the layers of a build cache, kept while children need them. */
function parentIds(images: ImageRecord[]): Set<string> {
  return new Set(images.flatMap((img) => (img.parent ? [img.parent] : [])));
}

function tagMatches(tag: string, patterns: string[]): boolean {
  const name = tag.slice(0, tag.lastIndexOf(':'));
  return patterns.some((pattern) => pathMatch(pattern, tag) || pathMatch(pattern, name));
}

/** `docker images --filter`: dangling, reference, label, before, since (values of one key are ORed). */
function imageFilter(b: ImageRoutesBackend, key: string, values: string[]): (image: ImageRecord) => boolean {
  const anchor = (reference: string) => {
    const image = b.images.resolve(reference);
    if (!image) throw notFound(`No such image: ${reference}`);
    return createdOf(image);
  };
  switch (key) {
    case 'dangling': {
      const wanted = values.map((v) => ['true', '1'].includes(v.toLowerCase()));
      return (image) => wanted.includes(image.repoTags.length === 0);
    }
    case 'reference':
      return (image) => image.repoTags.some((tag) => tagMatches(tag, values));
    case 'label':
      return (image) => values.some((wanted) => matchesLabelFilter(image.config.config?.Labels ?? {}, wanted));
    case 'before': {
      const times = values.map(anchor);
      return (image) => times.some((t) => createdOf(image) < t);
    }
    case 'since': {
      const times = values.map(anchor);
      return (image) => times.some((t) => createdOf(image) > t);
    }
    default:
      throw invalid(`invalid filter '${key}'`);
  }
}

function inspect(b: ImageRoutesBackend, ctx: RequestContext): void {
  const image = b.images.resolve(ctx.params.name);
  if (!image) throw notFound(`No such image: ${ctx.params.name}`);
  sendJson(ctx.res, 200, inspectImage(image));
}

function history(b: ImageRoutesBackend, ctx: RequestContext): void {
  const image = b.images.resolve(ctx.params.name);
  if (!image) throw notFound(`No such image: ${ctx.params.name}`);
  sendJson(ctx.res, 200, imageHistory(image, (id) => b.images.resolve(id)));
}

function tag(b: ImageRoutesBackend, ctx: RequestContext): void {
  const repo = ctx.query.get('repo') ?? '';
  if (!repo) throw invalid('repository name must have at least one component');
  const tagName = ctx.query.get('tag');
  b.images.tag(ctx.params.name, normaliseTag(tagName ? `${repo}:${tagName}` : repo));
  ctx.res.writeHead(201).end();
}

async function remove(b: ImageRoutesBackend, ctx: RequestContext): Promise<void> {
  const parent = b.images.resolve(ctx.params.name)?.parent;
  const records = await b.images.remove(ctx.params.name, { force: queryBool(ctx.query, 'force') });
  if (records.some((r) => r.Deleted) && !queryBool(ctx.query, 'noprune')) records.push(...(await removeUntaggedParents(b, parent)));
  sendJson(ctx.res, 200, records);
}

/**
 * As dockerd (unless `noprune`): a deleted image takes its untagged parents along — a build's
 * intermediate images — up to the first one that is tagged, has another child or a container.
 */
async function removeUntaggedParents(b: ImageRoutesBackend, parentId: string | undefined): Promise<DeleteRecord[]> {
  const records: DeleteRecord[] = [];
  while (parentId) {
    const parent = b.images.resolve(parentId);
    if (!parent || parent.repoTags.length || parent.repoDigests.length) break;
    const images = b.images.list();
    if (images.some((img) => img.parent === parent.id)) break;
    if (b.containers.list().some((c) => c.record.imageId === parent.id)) break;
    records.push(...(await b.images.remove(parent.id)));
    parentId = parent.parent;
  }
  return records;
}

async function prune(b: ImageRoutesBackend, ctx: RequestContext): Promise<void> {
  const filters = queryFilters(ctx.query);
  const dangling = filters.get('dangling');
  const all = dangling !== undefined && dangling.some((v) => ['false', '0'].includes(v.toLowerCase()));
  const labelFilters = [...filters.entries()].filter(([key]) => key === 'label' || key === 'label!');
  for (const key of filters.keys()) {
    if (!['dangling', 'label', 'label!'].includes(key)) throw invalid(`invalid filter '${key}'`);
  }
  // A parent of another image stays (dockerd prunes heads only; a build's cache chain is such parents).
  const parents = parentIds(b.images.list());
  const keep = (image: ImageRecord) => parents.has(image.id) || labelFilters.some(([key, values]) => {
    const matches = imageFilter(b, 'label', values)(image);
    return key === 'label' ? !matches : matches;
  });
  const { deleted, reclaimed } = await b.images.prune({ all, keep });
  sendJson(ctx.res, 200, { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed });
}

async function save(b: ImageRoutesBackend, ctx: RequestContext, names: string[]): Promise<void> {
  if (names.length === 0) throw invalid('no images to save: give names=…');
  for (const name of names) if (!b.images.resolve(name)) throw notFound(`No such image: ${name}`);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await b.images.save(names, ctx.res);
    ctx.res.end();
  } catch (err) {
    ctx.res.destroy(err instanceof Error ? err : new Error(String(err))); // a torn tarball must not look complete
  }
}

/** POST /images/create: a pull (fromImage) or an import (fromSrc). */
async function create(b: ImageRoutesBackend, ctx: RequestContext): Promise<void> {
  const fromImage = ctx.query.get('fromImage');
  const fromSrc = ctx.query.get('fromSrc');
  if (fromImage) return pull(b, ctx, fromImage);
  if (fromSrc) return importImage(b, ctx, fromSrc);
  throw invalid('give fromImage (to pull) or fromSrc (to import)');
}

async function pull(b: ImageRoutesBackend, ctx: RequestContext, fromImage: string): Promise<void> {
  const tagParam = ctx.query.get('tag') ?? '';
  const platform = ctx.query.get('platform');
  if (platform && !/^linux(\/amd64)?$/.test(platform)) throw invalid(`platform ${platform} is not supported by this VCH (linux/amd64 only)`);
  const text = tagParam === '' ? fromImage : tagParam.startsWith('sha256:') ? `${fromImage}@${tagParam}` : `${fromImage}:${tagParam}`;
  const reference = parseReference(text);
  const stream = new ProgressStream(ctx.res);
  await stream.run(async () => {
    await b.images.pull({
      reference,
      credentials: decodeAuthHeader(header(ctx, 'x-registry-auth')),
      access: b.registries.access(),
      progress: stream.send,
    });
  });
}

async function importImage(b: ImageRoutesBackend, ctx: RequestContext, fromSrc: string): Promise<void> {
  if (fromSrc !== '-') throw new PortLayerError('NotImplemented', 'importing from a URL is not supported by this VCH: send the tarball (docker import FILE or -)');
  const repo = ctx.query.get('repo') ?? '';
  const tagName = ctx.query.get('tag') ?? '';
  const reference = repo ? (tagName ? `${repo}:${tagName}` : repo) : undefined;
  if (reference) normaliseTag(reference); // refuse a bad name before reading the body
  const stream = new ProgressStream(ctx.res);
  await stream.run(async () => {
    const id = await b.images.importRootfs({
      input: ctx.req,
      reference,
      message: ctx.query.get('message') ?? undefined,
      changes: ctx.query.getAll('changes'),
    });
    stream.send({ status: id });
  });
}

async function push(b: ImageRoutesBackend, ctx: RequestContext): Promise<void> {
  const stream = new ProgressStream(ctx.res);
  await stream.run(async () => {
    await b.images.push({
      name: ctx.params.name,
      tag: ctx.query.get('tag') ?? undefined,
      credentials: decodeAuthHeader(header(ctx, 'x-registry-auth')),
      access: b.registries.access(),
      progress: stream.send,
    });
  });
}

function header(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function load(b: ImageRoutesBackend, ctx: RequestContext): Promise<void> {
  const quiet = queryBool(ctx.query, 'quiet');
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  const say = (message: string) => {
    if (!quiet) ctx.res.write(JSON.stringify({ stream: `${message}\n` }) + '\r\n');
  };
  try {
    const loaded = await b.images.load(ctx.req, (line) => say(line));
    if (quiet) for (const ref of loaded) ctx.res.write(JSON.stringify({ stream: `Loaded image: ${ref}\n` }) + '\r\n');
  } catch (err) {
    // Headers are gone: the error travels in the stream, where the CLI prints it and fails.
    ctx.res.write(JSON.stringify({ errorDetail: { message: messageOf(err) }, error: messageOf(err) }) + '\r\n');
  }
  ctx.res.end();
}
