// A VCH answers the swarm and plugin probes as a dockerd with swarm inactive and no plugins does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/engine/http/router.ts';
import type { RequestContext } from '../../src/engine/http/router.ts';
import { statusOf } from '../../src/engine/http/errors.ts';
import { swarmRoutes } from '../../src/engine/routes/swarm.ts';

const router = new Router().add(swarmRoutes());

async function answer(method: string, url: string): Promise<{ status: number; message?: string; body?: unknown }> {
  const { handler, params, query, version } = router.match(method, url);
  let body: unknown;
  let status = 0;
  const res = {
    writeHead(s: number) { status = s; return this; },
    end(data?: string) { body = data ? JSON.parse(data) : undefined; return this; },
    setHeader() { return this; },
    headersSent: false,
  };
  try {
    await handler({ req: {} as RequestContext['req'], res: res as unknown as RequestContext['res'], params, query, version });
    return { status, body };
  } catch (err) {
    return { status: statusOf(err), message: (err as Error).message };
  }
}

test('swarm-managed resources answer 503 "not a swarm manager"', async () => {
  for (const [method, url] of [['GET', '/v1.41/swarm'], ['GET', '/nodes'], ['GET', '/services'], ['POST', '/services/create'], ['GET', '/tasks'],
    ['GET', '/secrets'], ['GET', '/configs/abc'], ['DELETE', '/services/web'], ['GET', '/swarm/unlockkey']]) {
    const got = await answer(method, url);
    assert.equal(got.status, 503, `${method} ${url}`);
    assert.match(got.message!, /^This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/);
  }
});

test('leaving a swarm that was never joined is 503 "not part of a swarm"; init/join are refused clearly', async () => {
  const leave = await answer('POST', '/swarm/leave?force=1');
  assert.equal(leave.status, 503);
  assert.equal(leave.message, 'This node is not part of a swarm');
  const init = await answer('POST', '/swarm/init');
  assert.equal(init.status, 501);
  assert.match(init.message!, /swarm mode is not available/);
});

test('plugins: an empty list; a named plugin is not found', async () => {
  const list = await answer('GET', '/plugins');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body, []);
  const inspect = await answer('GET', '/plugins/vieux/sshfs:latest/json');
  assert.equal(inspect.status, 404);
  assert.equal(inspect.message, 'plugin "vieux/sshfs:latest" not found');
  assert.equal((await answer('POST', '/plugins/pull')).status, 400);
});
