// /networks/…: list, inspect, create, remove, prune, connect and disconnect (Docker's bridge driver,
// each network a bridge on the VCH's host; see src/portlayer/networks).
import { matchesLabelFilter } from '../docker/label-filter.ts';
import { untilTime } from '../docker/until-filter.ts';
import type { Route, RequestContext } from '../http/router.ts';
import { readJsonBody, sendJson, sendNoContent, queryFilters } from '../http/io.ts';
import { invalid, notFound, PortLayerError, unavailable } from '../../portlayer/errors.ts';
import type { NetworkService } from '../../portlayer/networks/service.ts';
import type { NetworkRecord } from '../../portlayer/networks/model.ts';
import { DEFAULT_NETWORK } from '../../portlayer/networks/model.ts';
import { networkJson } from '../docker/network-json.ts';

/** What the network routes need from below. */
export interface NetworkRoutesBackend {
  networks: NetworkService;
  /** A container's id from its name, id or id prefix (throws NotFound). */
  containerId(ref: string): string;
  containerName(id: string): string | undefined;
}

interface CreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export function networkRoutes(b: NetworkRoutesBackend): Route[] {
  return [
    { method: 'GET', path: '/networks', handler: (ctx) => list(b, ctx) },
    { method: 'POST', path: '/networks/create', handler: (ctx) => create(b, ctx) },
    { method: 'POST', path: '/networks/prune', handler: (ctx) => prune(b, ctx) },
    { method: 'GET', path: '/networks/:id', handler: (ctx) => sendJson(ctx.res, 200, networkJson(b.networks.get(ctx.params.id), (id) => b.containerName(id), true)) },
    { method: 'DELETE', path: '/networks/:id', handler: async (ctx) => { await b.networks.remove(ctx.params.id); sendNoContent(ctx.res); } },
    { method: 'POST', path: '/networks/:id/connect', handler: (ctx) => connect(b, ctx) },
    { method: 'POST', path: '/networks/:id/disconnect', handler: (ctx) => disconnect(b, ctx) },
  ];
}

type Predicate = (net: NetworkRecord, value: string) => boolean;

const FILTERS: Record<string, Predicate> = {
  // Docker matches names by substring and ids by prefix.
  name: (n, v) => n.name.includes(v),
  id: (n, v) => n.id.startsWith(v),
  driver: (n, v) => n.driver === v,
  type: (n, v) => (v === 'builtin' ? n.name === DEFAULT_NETWORK : v === 'custom' ? n.name !== DEFAULT_NETWORK : false),
  scope: (_n, v) => v === 'local',
  label: (n, v) => matchesLabelFilter(n.labels, v),
  dangling: (n, v) => (['1', 'true'].includes(v) ? Object.keys(n.endpoints).length === 0 && n.name !== DEFAULT_NETWORK : true),
  until: (n, v) => Date.parse(n.created) <= untilTime(v),
};

function matcher(ctx: RequestContext, allowed: string[]): (net: NetworkRecord) => boolean {
  const filters = queryFilters(ctx.query);
  for (const key of filters.keys()) if (!allowed.includes(key)) throw invalid(`invalid filter '${key}'`);
  return (net) => [...filters].every(([key, values]) => values.length === 0 || values.some((v) => FILTERS[key](net, v)));
}

function list(b: NetworkRoutesBackend, ctx: RequestContext): void {
  const match = matcher(ctx, ['name', 'id', 'driver', 'type', 'scope', 'label', 'dangling']);
  const found = b.networks.list().filter(match).sort((x, y) => x.created.localeCompare(y.created));
  sendJson(ctx.res, 200, found.map((n) => networkJson(n, (id) => b.containerName(id), false)));
}

async function create(b: NetworkRoutesBackend, ctx: RequestContext): Promise<void> {
  const body = await readJsonBody<CreateBody>(ctx.req);
  if (!body.Name) throw invalid('network name is required');
  if (body.Driver && body.Driver !== 'bridge') refuseDriver(body.Driver);
  if (body.EnableIPv6) throw invalid('IPv6 networks are not supported yet');
  const config = body.IPAM?.Config ?? [];
  if (config.length > 1) throw invalid('one IPAM config (IPv4 subnet) per network');
  const net = await b.networks.create({
    name: body.Name,
    subnet: config[0]?.Subnet || undefined,
    gateway: config[0]?.Gateway || undefined,
    ipRange: config[0]?.IPRange || undefined,
    internal: body.Internal === true,
    attachable: body.Attachable === true,
    labels: body.Labels ?? {},
    options: body.Options ?? {},
  });
  sendJson(ctx.res, 201, { Id: net.id, Warning: '' });
}

/** Other drivers, refused the way dockerd refuses what it cannot make here. */
function refuseDriver(driver: string): never {
  if (driver === 'overlay') throw unavailable('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
  if (driver === 'host' || driver === 'null') throw new PortLayerError('Forbidden', `only one instance of "${driver}" network is allowed`);
  if (driver === 'macvlan' || driver === 'ipvlan') throw invalid(`network driver "${driver}" is not supported: Bonneville networks are bridges on the VCH's host`);
  throw notFound(`plugin "${driver}" not found`);
}

async function prune(b: NetworkRoutesBackend, ctx: RequestContext): Promise<void> {
  const match = matcher(ctx, ['label', 'until']);
  sendJson(ctx.res, 200, { NetworksDeleted: await b.networks.prune(match) });
}

async function connect(b: NetworkRoutesBackend, ctx: RequestContext): Promise<void> {
  const body = await readJsonBody<{ Container?: string; EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null; MacAddress?: string } | null }>(ctx.req);
  if (!body.Container) throw invalid('Container is required');
  const id = b.containerId(body.Container);
  await b.networks.connect(ctx.params.id, id, {
    aliases: body.EndpointConfig?.Aliases ?? [],
    ipv4: body.EndpointConfig?.IPAMConfig?.IPv4Address || undefined,
    mac: body.EndpointConfig?.MacAddress || undefined,
  });
  ctx.res.writeHead(200).end();
}

async function disconnect(b: NetworkRoutesBackend, ctx: RequestContext): Promise<void> {
  const body = await readJsonBody<{ Container?: string; Force?: boolean }>(ctx.req);
  if (!body.Container) throw invalid('Container is required');
  await b.networks.disconnect(ctx.params.id, b.containerId(body.Container));
  ctx.res.writeHead(200).end();
}
