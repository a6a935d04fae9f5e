// A route table: method + path pattern ("/containers/:id/start") → handler. The API version prefix
// ("/v1.48") is taken off before matching and handed to the handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalid, notFound } from '../../portlayer/errors.ts';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for (or the default). */
  version: string;
  /** Present when the request arrived as an HTTP upgrade (attach, exec start): the raw connection. */
  upgrade?: { socket: Duplex; head: Buffer };
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export interface Route {
  method: string;
  path: string;
  handler: Handler;
}

interface CompiledRoute {
  method: string;
  path: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export const API_VERSION = '1.48';
export const MIN_API_VERSION = '1.24';

export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
}

export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(routes: Route[]): this {
    for (const route of routes) {
      const names: string[] = [];
      // A trailing ":name*" captures the rest of the path (image names contain slashes).
      const source = route.path.replace(/:(\w+)(\*?)/g, (_m, name: string, rest: string) => {
        names.push(name);
        return rest ? '(.+)' : '([^/]+)';
      });
      this.routes.push({ method: route.method, path: route.path, pattern: new RegExp(`^${source}$`), names, handler: route.handler });
    }
    return this;
  }

  /** Finds the handler for a request; throws NotFound (unknown path) or InvalidParameter (bad version). */
  match(method: string, rawUrl: string): { handler: Handler; params: Record<string, string>; query: URLSearchParams; version: string; path: string } {
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://engine');
    } catch {
      throw invalid(`invalid request URL: ${rawUrl}`);
    }
    let path = url.pathname;
    let version = API_VERSION;
    const prefixed = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (prefixed) {
      version = prefixed[1];
      path = prefixed[2];
      if (compareVersions(version, MIN_API_VERSION) < 0) {
        throw invalid(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      if (compareVersions(version, API_VERSION) > 0) {
        throw invalid(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
    }
    const wanted = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
    for (const m of wanted) {
      for (const route of this.routes) {
        if (route.method !== m) continue;
        const found = route.pattern.exec(path);
        if (!found) continue;
        const params: Record<string, string> = {};
        route.names.forEach((name, i) => { params[name] = decodePathPart(found[i + 1]); });
        return { handler: route.handler, params, query: url.searchParams, version, path: route.path };
      }
    }
    throw notFound(`page not found`);
  }
}

// A malformed escape ("%ZZ", a lone "%") is the client's mistake, as with dockerd's router.
function decodePathPart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalid(`invalid escape in URL path: ${text}`);
  }
}
