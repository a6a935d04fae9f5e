// GET /events: the VCH's event stream in Docker's message shape, with since/until and filters.
import type { Route, RequestContext } from '../http/router.ts';
import { queryFilters, queryUnixNanos } from '../http/io.ts';
import { invalid } from '../../portlayer/errors.ts';
import { matchesLabelFilter } from '../docker/label-filter.ts';
import type { EventLog, VchEvent } from '../../portlayer/events.ts';

const FILTER_KEYS = new Set(['container', 'event', 'type', 'image', 'label']);
/** Actions that carry a detail after a colon ("health_status: healthy"); filtering by the bare name matches them all, as in dockerd. */
const DETAILED_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start', 'exec_die']);

export function eventRoutes(events: EventLog): Route[] {
  return [{ method: 'GET', path: '/events', handler: (ctx) => stream(events, ctx) }];
}

function matcher(filters: Map<string, string[]>): (e: VchEvent) => boolean {
  for (const key of filters.keys()) if (!FILTER_KEYS.has(key)) throw invalid(`invalid filter '${key}'`);
  const test = (key: string, values: string[], e: VchEvent) => {
    switch (key) {
      case 'container': return e.type === 'container' && values.some((v) => e.id.startsWith(v) || e.attributes.name === v);
      case 'event': return values.some((v) => v === e.action || (DETAILED_ACTIONS.has(v) && e.action.startsWith(`${v}:`)));
      case 'type': return values.includes(e.type);
      case 'image': return values.includes(e.attributes.image ?? '') || (e.type === 'image' && values.includes(e.id));
      case 'label': return values.some((v) => matchesLabelFilter(e.attributes, v));
      default: return true;
    }
  };
  return (e) => [...filters].every(([key, values]) => values.length === 0 || test(key, values, e));
}

export function eventMessage(e: VchEvent): Record<string, unknown> {
  const from = e.attributes.image;
  return {
    ...(e.type === 'container' ? { status: e.action, id: e.id, from } : {}),
    Type: e.type,
    Action: e.action,
    Actor: { ID: e.id, Attributes: e.attributes },
    scope: 'local',
    time: Number(e.timeNano / 1_000_000_000n),
    timeNano: Number(e.timeNano),
  };
}

async function stream(events: EventLog, ctx: RequestContext): Promise<void> {
  const since = queryUnixNanos(ctx.query, 'since');
  const until = queryUnixNanos(ctx.query, 'until');
  const wanted = matcher(queryFilters(ctx.query));
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (e: VchEvent) => {
    if (wanted(e) && (until === undefined || e.timeNano <= until)) res.write(JSON.stringify(eventMessage(e)) + '\n');
  };
  // Subscribe before replaying so nothing falls between history and live events.
  const pending: VchEvent[] = [];
  let replaying = true;
  const unsubscribe = events.subscribe((e) => (replaying ? pending.push(e) : send(e)));
  if (since !== undefined) for (const e of events.since(since)) send(e);
  replaying = false;
  pending.forEach(send);
  const nowNano = BigInt(Date.now()) * 1_000_000n;
  await new Promise<void>((resolve) => {
    const finish = () => { clearTimeout(timer); unsubscribe(); resolve(); };
    const timer = until !== undefined ? setTimeout(finish, Math.max(0, Number((until - nowNano) / 1_000_000n))) : undefined;
    res.on('close', finish);
  });
  res.end();
}
