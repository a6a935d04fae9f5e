// Swarm mode and plugins, answered as a dockerd answers with swarm inactive and no plugins installed.
// Clients (SDK test suites, compose, CI tools) probe these routes and read a 503 "not a swarm
// manager" as "plain engine"; a 404 "page not found" instead makes them give up on the engine.
// A VCH never joins a swarm: its scheduling unit is the VM, placed by its backend.
import type { Route, RequestContext } from '../http/router.ts';
import { sendJson } from '../http/io.ts';
import { notFound, PortLayerError, unavailable } from '../../portlayer/errors.ts';

const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const NOT_IN_A_SWARM = 'This node is not part of a swarm';

const notAManager = () => { throw unavailable(NOT_A_MANAGER); };
const notInASwarm = () => { throw unavailable(NOT_IN_A_SWARM); };
const noSwarmMode = () => {
  throw new PortLayerError('NotImplemented', 'swarm mode is not available on a Bonneville VCH: every container is a VM placed by the VCH itself');
};

/** The swarm-managed kinds: each lists, inspects, creates, updates and removes only on a manager. */
const MANAGED = ['nodes', 'services', 'tasks', 'secrets', 'configs'];

function managedRoutes(kind: string): Route[] {
  return [
    { method: 'GET', path: `/${kind}`, handler: notAManager },
    { method: 'POST', path: `/${kind}/create`, handler: notAManager },
    { method: 'GET', path: `/${kind}/:id`, handler: notAManager },
    { method: 'DELETE', path: `/${kind}/:id`, handler: notAManager },
    { method: 'POST', path: `/${kind}/:id/update`, handler: notAManager },
    { method: 'GET', path: `/${kind}/:id/logs`, handler: notAManager },
  ];
}

function noSuchPlugin(ctx: RequestContext): never {
  throw notFound(`plugin "${ctx.params.name}" not found`);
}

export function swarmRoutes(): Route[] {
  return [
    { method: 'GET', path: '/swarm', handler: notAManager },
    { method: 'GET', path: '/swarm/unlockkey', handler: notAManager },
    { method: 'POST', path: '/swarm/update', handler: notAManager },
    { method: 'POST', path: '/swarm/leave', handler: notInASwarm },
    { method: 'POST', path: '/swarm/unlock', handler: notInASwarm },
    { method: 'POST', path: '/swarm/init', handler: noSwarmMode },
    { method: 'POST', path: '/swarm/join', handler: noSwarmMode },
    ...MANAGED.flatMap(managedRoutes),
    { method: 'GET', path: '/plugins', handler: ({ res }) => sendJson(res, 200, []) },
    { method: 'GET', path: '/plugins/privileges', handler: noSuchRemotePlugin },
    { method: 'POST', path: '/plugins/pull', handler: noSuchRemotePlugin },
    { method: 'POST', path: '/plugins/create', handler: noPlugins },
    { method: 'GET', path: '/plugins/:name*/json', handler: noSuchPlugin },
    { method: 'DELETE', path: '/plugins/:name*', handler: noSuchPlugin },
    ...['enable', 'disable', 'push', 'set', 'upgrade'].map((verb): Route => ({ method: 'POST', path: `/plugins/:name*/${verb}`, handler: noSuchPlugin })),
  ];
}

function noSuchRemotePlugin(ctx: RequestContext): never {
  const remote = ctx.query.get('remote') ?? '';
  if (!remote) throw new PortLayerError('InvalidParameter', 'remote is required');
  noPlugins();
}

function noPlugins(): never {
  throw new PortLayerError('NotImplemented', 'plugins are not available on a Bonneville VCH: volumes and networks are drivers of the VCH itself');
}
