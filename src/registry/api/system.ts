// Unauthenticated service endpoints: /ping, /health, /systeminfo.
import { sendJson } from '../http/respond.ts';
import type { ApiRoute } from './router.ts';

export function systemRoutes(deps: { externalUrl: () => string }): ApiRoute[] {
  return [
    { method: 'GET', path: '/ping', handler: async (r) => { r.res.writeHead(200, { 'Content-Type': 'text/plain' }); r.res.end('Pong'); } },
    { method: 'GET', path: '/health', handler: async (r) => sendJson(r.res, 200, { status: 'healthy', components: [{ name: 'registry', status: 'healthy' }] }) },
    { method: 'GET', path: '/systeminfo', handler: async (r) => sendJson(r.res, 200, {
      registry_url: deps.externalUrl(), auth_mode: 'db_auth', self_registration: false, harbor_version: 'bonneville-0.1', has_ca_root: false,
    }) },
  ];
}
