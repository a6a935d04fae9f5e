// POST /containers/prune (`docker container prune`, `docker system prune`): removes every container
// that is not up — created, exited or dead — matching the `until` and `label` filters, as dockerd does.
import type { Route, RequestContext } from '../http/router.ts';
import { queryFilters, sendJson } from '../http/io.ts';
import { invalid, errorKind } from '../../portlayer/errors.ts';
import type { ContainerService } from '../../portlayer/containers/service.ts';
import type { ContainerView } from '../../portlayer/containers/model.ts';
import { isUp } from '../docker/container-json.ts';
import { matchesLabelFilter } from '../docker/label-filter.ts';
import { untilTime } from '../docker/until-filter.ts';

type Select = (c: ContainerView) => boolean;

/** Each filter value parsed once, up front: a bad value is a 400 even when nothing is there to prune. */
const PRUNE_FILTERS: Record<string, (value: string) => Select> = {
  until: (v) => { const t = untilTime(v); return (c) => Date.parse(c.record.created) <= t; },
  label: (v) => (c) => matchesLabelFilter(c.record.spec.labels, v),
  'label!': (v) => (c) => !matchesLabelFilter(c.record.spec.labels, v),
};

export function containerPruneRoutes(containers: ContainerService): Route[] {
  return [{ method: 'POST', path: '/containers/prune', handler: (ctx) => prune(containers, ctx) }];
}

async function prune(containers: ContainerService, ctx: RequestContext): Promise<void> {
  const filters = queryFilters(ctx.query);
  const selects: Select[] = [];
  for (const [key, values] of filters) {
    if (!Object.hasOwn(PRUNE_FILTERS, key)) throw invalid(`invalid filter '${key}'`);
    selects.push(...values.map(PRUNE_FILTERS[key]));
  }
  const selected = containers.list().filter((c) => !isUp(c) && selects.every((select) => select(c)));
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const c of selected) {
    const bytes = containers.writableBytes(c.record.id);
    try {
      await containers.remove(c.record.id);
    } catch (err) {
      // Started, or removed by someone else, since the listing: not prunable any more.
      if (errorKind(err) === 'Conflict' || errorKind(err) === 'NotFound') continue;
      throw err;
    }
    deleted.push(c.record.id);
    reclaimed += bytes;
  }
  sendJson(ctx.res, 200, { ContainersDeleted: deleted, SpaceReclaimed: reclaimed });
}
