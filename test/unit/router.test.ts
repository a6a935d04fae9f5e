import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router, API_VERSION } from '../../src/engine/http/router.ts';
import { statusOf } from '../../src/engine/http/errors.ts';

const noop = () => undefined;
const router = new Router().add([
  { method: 'GET', path: '/containers/:id/json', handler: noop },
  { method: 'GET', path: '/images/:name*/json', handler: noop },
  { method: 'GET', path: '/_ping', handler: noop },
]);

test('paths match with and without a version prefix; params are decoded', () => {
  const plain = router.match('GET', '/containers/abc/json');
  assert.deepEqual(plain.params, { id: 'abc' });
  assert.equal(plain.version, API_VERSION);
  const versioned = router.match('GET', '/v1.41/containers/abc/json?size=1');
  assert.equal(versioned.version, '1.41');
  assert.equal(versioned.query.get('size'), '1');
  assert.deepEqual(router.match('GET', '/images/registry%3A5000/team/app%3A1/json').params, { name: 'registry:5000/team/app:1' });
});

test('HEAD falls back to GET; unknown paths are 404 and bad versions 400', () => {
  assert.ok(router.match('HEAD', '/_ping'));
  assert.throws(() => router.match('GET', '/nope'), (err) => statusOf(err) === 404);
  assert.throws(() => router.match('GET', '/v1.99/_ping'), (err) => statusOf(err) === 400 && /too new/.test((err as Error).message));
  assert.throws(() => router.match('GET', '/v1.12/_ping'), (err) => statusOf(err) === 400 && /too old/.test((err as Error).message));
  assert.throws(() => router.match('POST', '/_ping'), (err) => statusOf(err) === 404);
});

test('a malformed escape in a path parameter is InvalidParameter (400), not a crash', () => {
  assert.throws(() => router.match('GET', '/containers/%ZZ/json'), (err) => statusOf(err) === 400 && /escape/.test((err as Error).message));
  assert.throws(() => router.match('GET', '/images/a%/json'), (err) => statusOf(err) === 400);
  assert.equal(router.match('GET', '/containers/json/json').path, '/containers/:id/json');
});
