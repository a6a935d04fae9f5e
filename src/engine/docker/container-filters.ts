// `docker ps --filter`: the filters dockerd supports for containers that make sense for VMs.
import { matchesLabelFilter } from './label-filter.ts';
import type { ContainerView } from '../../portlayer/containers/model.ts';
import { invalid } from '../../portlayer/errors.ts';
import { dockerStatus } from './container-json.ts';
import { namePattern } from './name-pattern.ts';

type Predicate = (c: ContainerView, value: string) => boolean;

const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

const PREDICATES: Record<string, Predicate> = {
  id: (c, v) => c.record.id.startsWith(v),
  name: (c, v) => { const pattern = namePattern(v); return pattern.test(c.record.spec.name) || pattern.test(`/${c.record.spec.name}`); },
  status: (c, v) => {
    if (!STATUSES.has(v)) throw invalid(`invalid filter 'status=${v}'`);
    return dockerStatus(c) === v;
  },
  exited: (c, v) => c.state.status === 'exited' && c.state.exitCode === Number(v),
  label: (c, v) => matchesLabelFilter(c.record.spec.labels, v),
  health: (c, v) => (c.state.health?.status ?? 'none') === v,
  ancestor: (c, v) => c.record.spec.imageReference === v || c.record.imageId === v || c.record.imageId.replace('sha256:', '').startsWith(v),
};

/** Keys whose values must all hold, as in dockerd (docker-compose filters by several labels at once). */
const ALL_OF = new Set(['label']);

/** Values of one key are alternatives (OR), labels excepted; different keys must all hold (AND), as in dockerd. */
export function filterContainers(containers: ContainerView[], filters: Map<string, string[]>): ContainerView[] {
  for (const key of filters.keys()) if (!Object.hasOwn(PREDICATES, key)) throw invalid(`invalid filter '${key}'`);
  return containers.filter((c) =>
    [...filters].every(([key, values]) => values.length === 0 || (ALL_OF.has(key) ? values.every((v) => PREDICATES[key](c, v)) : values.some((v) => PREDICATES[key](c, v)))),
  );
}
