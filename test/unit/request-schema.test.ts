// The request checks made from Docker's API description: the shipped schema.json is the one the
// shipped swagger gives, and the checks are as lenient as dockerd where docker clients rely on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderEngineApiSchema, SCHEMA_PATH, VALIDATORS_PATH } from '../../scripts/engine-api-schema.ts';
import { checkBody, checkQuery, hasJsonBody, takesNoBody, swaggerPath } from '../../src/engine/http/request-schema.ts';
import { statusOf } from '../../src/engine/http/errors.ts';

test('src/engine/api/schema.json and validators.js are up to date with the swagger beside them', () => {
  const { schema, validators } = renderEngineApiSchema();
  assert.equal(readFileSync(SCHEMA_PATH, 'utf8'), schema, 'run: node scripts/engine-api-schema.ts');
  assert.equal(readFileSync(VALIDATORS_PATH, 'utf8'), validators, 'run: node scripts/engine-api-schema.ts');
});

test('router paths map to swagger paths; JSON bodies and byte streams are told apart', () => {
  assert.equal(swaggerPath('/images/:name*/json'), '/images/{name}/json');
  assert.ok(hasJsonBody('POST', '/containers/create'));
  assert.ok(hasJsonBody('POST', '/exec/:id/start'));
  assert.ok(!hasJsonBody('POST', '/images/load'));
  assert.ok(!hasJsonBody('PUT', '/containers/:id/archive'));
  assert.ok(!hasJsonBody('POST', '/images/create'));
  assert.ok(takesNoBody('GET', '/containers/json'));
  assert.ok(!takesNoBody('POST', '/containers/:id/attach'), 'attach without upgrade streams stdin in its body');
});

const refused = (fn: () => void, pattern: RegExp) => assert.throws(fn, (err) => statusOf(err) === 400 && pattern.test((err as Error).message));

test('create bodies: wrong types are refused, nulls dropped, strslice strings taken', () => {
  refused(() => checkBody('POST', '/containers/create', { Env: [{}] }), /Env/);
  refused(() => checkBody('POST', '/containers/create', { Cmd: [1, null, {}] }), /Cmd/);
  refused(() => checkBody('POST', '/containers/create', { HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 80 }] } } }), /HostPort/);
  refused(() => checkBody('POST', '/containers/create', { ExposedPorts: { '80/tcp': {} }, HostConfig: { Memory: 1.5 } }), /Memory/);
  refused(() => checkBody('POST', '/containers/create', { StopTimeout: 1e308 }), /StopTimeout/);
  const body: Record<string, unknown> = { Image: 'busybox', Cmd: 'sh', Entrypoint: null, HostConfig: { Binds: null, MemorySwappiness: -1, CgroupnsMode: '' }, NetworkingConfig: { EndpointsConfig: { net: null } }, Unknown: 1 };
  checkBody('POST', '/containers/create', body);
  assert.ok(!('Entrypoint' in body));
  assert.ok(!('Binds' in (body.HostConfig as object)));
  assert.deepEqual(body.NetworkingConfig, { EndpointsConfig: { net: null } }, 'map entries keep their null, as Go keeps the key');
});

test('query integers: Go-style decimal only; booleans take anything; CLI timestamps pass', () => {
  refused(() => checkQuery('GET', '/containers/json', new URLSearchParams('limit=1e308')), /limit/);
  refused(() => checkQuery('POST', '/containers/:id/stop', new URLSearchParams('t=0x10')), /\bt\b/);
  refused(() => checkQuery('GET', '/containers/json', new URLSearchParams('limit=99999999999999999999')), /limit/);
  checkQuery('GET', '/containers/json', new URLSearchParams('limit=-1&all=whatever&size=1'));
  checkQuery('GET', '/containers/:id/logs', new URLSearchParams('since=1700000000.123456789&until=0&tail=all'));
  checkQuery('GET', '/not/in/the/api', new URLSearchParams('limit=junk'));
});
