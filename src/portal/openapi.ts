// The portal's REST API as an OpenAPI 3 document, built from the route table itself so it cannot
// drift: every route must have a summary here (a test checks it), and its path parameters are derived.
import type { Route } from './http.ts';

const summaries: Record<string, string> = {
  'POST /login': 'Log in with registry credentials; sets the session cookie and returns a Bearer token',
  'POST /logout': 'End the session: the Bearer token\'s, else the cookie\'s (revoked in the store)',
  'GET /me': 'The caller: user name, administrator flag, projects with roles',
  'GET /events': 'Server-sent events: engine events of the hosts and containers the caller sees',
  'GET /hosts/{host}/containers/{id}/console': 'Websocket: an exec console (TTY) in the container; JSON input/resize messages, binary output',
  'GET /hosts': 'Hosts (VCHs) the caller sees, with state, capacity and use',
  'GET /hosts/{host}': 'One host',
  'POST /hosts': 'Add a host by tcp:// endpoint and client certificate (PEM: ca, cert, key); administrators',
  'DELETE /hosts/{host}': 'Remove an added host; administrators',
  'GET /dashboard': 'Containers per host and CPU / memory use over time',
  'GET /containers': 'Containers across hosts; filters: host, project, state, name',
  'POST /containers': 'Run a container from an image on a host (within a project: placement and quotas enforced)',
  'GET /hosts/{host}/containers/{id}': 'Inspect a container',
  'POST /hosts/{host}/containers/{id}/start': 'Start a container',
  'POST /hosts/{host}/containers/{id}/stop': 'Stop a container',
  'POST /hosts/{host}/containers/{id}/restart': 'Restart a container',
  'DELETE /hosts/{host}/containers/{id}': 'Remove a container (forced)',
  'GET /hosts/{host}/containers/{id}/stats': 'One CPU / memory sample of a running container',
  'GET /hosts/{host}/containers/{id}/logs': 'Logs as server-sent events, one line each; follow=1 keeps following; tail=N',
  'GET /hosts/{host}/images': 'Images on a host',
  'GET /hosts/{host}/networks': 'Networks on a host',
  'POST /hosts/{host}/networks': 'Create a network; administrators',
  'DELETE /hosts/{host}/networks/{id}': 'Remove a network; administrators',
  'GET /hosts/{host}/volumes': 'Volumes on a host',
  'POST /hosts/{host}/volumes': 'Create a volume; administrators',
  'DELETE /hosts/{host}/volumes/{name}': 'Remove a volume; administrators',
  'GET /templates': 'Compose templates the caller sees',
  'POST /templates': 'Import a compose file as a template: image, command, entrypoint, environment, ports, healthcheck, depends_on (start order; service_healthy and service_completed_successfully wait), restart, networks, named volumes, mem_limit, scale/deploy.replicas, labels; keys it cannot provision (build, env_file, container_name, …) are refused by name',
  'GET /templates/{id}': 'One template with its parsed services',
  'PUT /templates/{id}': 'Edit a template (name, compose)',
  'DELETE /templates/{id}': 'Remove a template',
  'POST /templates/{id}/deploy': 'Provision a template on a host as an application (quotas checked for the whole application first)',
  'GET /applications': 'Applications (compose projects) across hosts, with their containers',
  'DELETE /hosts/{host}/applications/{name}': 'Remove an application: its containers, networks and volumes',
  'PUT /hosts/{host}/applications/{name}/services/{service}/scale': 'Scale one service of an application to N containers (app-service-N, from its template as it is now; quotas checked for the added ones)',
  'GET /projects': 'Projects with the caller\'s role, placements, quotas and use',
  'POST /projects': 'Create a project (a registry project of the same name)',
  'GET /projects/{name}': 'One project',
  'PUT /projects/{name}/placements': 'Hosts the project may use ({"hostIds": [...]}); administrators',
  'PUT /projects/{name}/quota': 'Quotas ({"maxContainers": N|null, "maxMemoryMiB": N|null}); administrators',
  'GET /registry-info': 'The registry\'s address and pull command form',
  'DELETE /registry-tags/{project}/{repo}': 'Delete one tag (?tag=NAME) of a repository',
  'GET /registry/{rest}': 'The registry\'s /api/v2.0 (projects, repositories, artifacts, members, robots, replication, GC, retention, immutability, quotas, audit logs, users) with the caller\'s credentials',
  'POST /registry/{rest}': 'As GET, for the registry API\'s POST routes',
  'PUT /registry/{rest}': 'As GET, for the registry API\'s PUT routes',
  'DELETE /registry/{rest}': 'As GET, for the registry API\'s DELETE routes',
  'GET /openapi.json': 'This document',
};

const str = { type: 'string' };
const int = { type: 'integer' };
/** Request bodies of the routes that take one (the rest take none, or pass the registry's own through). */
const bodies: Record<string, Record<string, unknown>> = {
  'POST /login': { type: 'object', required: ['username', 'password'], properties: { username: str, password: str } },
  'POST /hosts': { type: 'object', required: ['name', 'endpoint', 'ca', 'cert', 'key'],
    properties: { name: str, endpoint: { type: 'string', example: 'tcp://10.0.0.5:2376' }, ca: { type: 'string', description: 'PEM' }, cert: { type: 'string', description: 'PEM' }, key: { type: 'string', description: 'PEM' } } },
  'POST /containers': { type: 'object', required: ['hostId', 'image'], properties: {
    hostId: str, image: str, name: str, project: { type: 'string', nullable: true }, cmd: { type: 'array', items: str }, env: { type: 'array', items: { type: 'string', example: 'NAME=value' } },
    memoryMiB: { type: 'integer', minimum: 64, default: 256 }, tty: { type: 'boolean', default: false } } },
  'POST /hosts/{host}/networks': { type: 'object', required: ['name'], properties: { name: str, internal: { type: 'boolean' } } },
  'POST /hosts/{host}/volumes': { type: 'object', required: ['name'], properties: { name: str } },
  'POST /templates': { type: 'object', required: ['name', 'compose'], properties: { name: str, compose: { type: 'string', description: 'a docker-compose file (YAML)' }, project: { type: 'string', nullable: true } } },
  'PUT /templates/{id}': { type: 'object', properties: { name: str, compose: str } },
  'POST /templates/{id}/deploy': { type: 'object', required: ['hostId', 'application'], properties: { hostId: str, application: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' }, project: { type: 'string', nullable: true } } },
  'PUT /hosts/{host}/applications/{name}/services/{service}/scale': { type: 'object', required: ['replicas'], properties: { replicas: { type: 'integer', minimum: 0, maximum: 20 } } },
  'POST /projects': { type: 'object', required: ['name'], properties: { name: str, public: { type: 'boolean' } } },
  'PUT /projects/{name}/placements': { type: 'object', required: ['hostIds'], properties: { hostIds: { type: 'array', items: str } } },
  'PUT /projects/{name}/quota': { type: 'object', properties: { maxContainers: { ...int, nullable: true, minimum: 0 }, maxMemoryMiB: { ...int, nullable: true, minimum: 0 } } },
};

export function routeKey(method: string, path: string): string {
  return `${method} ${path.replace(/\{(\w+)\*\}/g, '{$1}')}`;
}

type Documented = Pick<Route<unknown>, 'method' | 'path' | 'summary' | 'body'>;

export function missingSummaries(routes: Documented[]): string[] {
  return routes.filter((r) => !r.summary && !summaries[routeKey(r.method, r.path)]).map((r) => routeKey(r.method, r.path));
}

export function openApiDocument(routes: Documented[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const all: Documented[] = [...routes, { method: 'POST', path: '/login' }, { method: 'POST', path: '/logout' }, { method: 'GET', path: '/me' },
    { method: 'GET', path: '/events' }, { method: 'GET', path: '/hosts/{host}/containers/{id}/console' }, { method: 'GET', path: '/openapi.json' }];
  for (const r of all) {
    const key = routeKey(r.method, r.path);
    const path = `/api${key.slice(key.indexOf(' ') + 1)}`;
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const mutating = r.method !== 'GET';
    const body = r.body ?? bodies[key];
    // The first route of a method and path wins when matching, so it is the one documented.
    if (paths[path]?.[r.method.toLowerCase()]) continue;
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary ?? summaries[key] ?? key,
      ...(params.length ? { parameters: params } : {}),
      ...(mutating && r.method !== 'DELETE' ? { requestBody: { required: !!body, content: { 'application/json': { schema: body ?? { type: 'object' } } } } } : {}),
      responses: {
        '200': { description: 'OK', content: { 'application/json': { schema: {} } } },
        ...(r.method === 'POST' ? { '201': { description: 'Created', content: { 'application/json': { schema: {} } } } } : {}),
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      ...(key === 'POST /login' ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Bonneville portal API', version: '1.0.0',
      description: 'Containers across VCHs (Admiral\'s role) and the registry (Harbor\'s UI). Authenticate with the session cookie, `Authorization: Bearer <token from /api/login>`, or Basic credentials of a registry user. Errors are `{"message": "…"}` with the HTTP status.' },
    servers: [{ url: '/' }],
    security: [{ cookie: [] }, { bearer: [] }, { basic: [] }],
    components: {
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'bv_portal' },
        bearer: { type: 'http', scheme: 'bearer' },
        basic: { type: 'http', scheme: 'basic' },
      },
      schemas: { Error: { type: 'object', required: ['message'], properties: { message: { type: 'string' } } } },
    },
    paths,
  };
}
