// /images/…: list, inspect, load.
import type { Route, RequestContext } from '../http/router.ts';
import { sendJson, queryBool } from '../http/io.ts';
import { notFound, PortLayerError } from '../../portlayer/errors.ts';
import { messageOf } from '../http/errors.ts';
import type { ImageStore } from '../../portlayer/images/types.ts';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import { imageListEntry, inspectImage } from '../docker/image-json.ts';

export interface ImageRoutesBackend {
  images: ImageStore;
  containers: ContainerService;
}

export function imageRoutes(b: ImageRoutesBackend): Route[] {
  return [
    { method: 'GET', path: '/images/json', handler: (ctx) => list(b, ctx) },
    { method: 'POST', path: '/images/load', handler: (ctx) => load(b, ctx) },
    { method: 'GET', path: '/images/:name*/json', handler: (ctx) => inspect(b, ctx) },
    { method: 'POST', path: '/images/create', handler: (ctx) => pull(ctx) },
  ];
}

function list(b: ImageRoutesBackend, ctx: RequestContext): void {
  const usage = new Map<string, number>();
  for (const c of b.containers.list()) usage.set(c.record.imageId, (usage.get(c.record.imageId) ?? 0) + 1);
  const images = b.images.list()
    .sort((x, y) => Date.parse(y.stored) - Date.parse(x.stored));
  sendJson(ctx.res, 200, images.map((img) => imageListEntry(img, usage.get(img.id) ?? 0)));
}

function inspect(b: ImageRoutesBackend, ctx: RequestContext): void {
  const image = b.images.resolve(ctx.params.name);
  if (!image) throw notFound(`No such image: ${ctx.params.name}`);
  sendJson(ctx.res, 200, inspectImage(image));
}

/** Pulling from registries is not built yet: say so plainly instead of pretending. */
function pull(ctx: RequestContext): void {
  const image = ctx.query.get('fromImage') ?? '';
  const tag = ctx.query.get('tag');
  throw new PortLayerError('NotImplemented', `pulling ${tag ? `${image}:${tag}` : image} is not supported by this VCH yet: load the image with docker load`);
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
