// Property: whatever a client sends to the engine's real router — random paths, escapes, queries and
// bodies over the operations of Docker's API — the answer is never a 5xx, errors come in Docker's
// {"message"} shape, and the engine stays up. The VCH has no image, so no container can be made and
// no VM is started; operations that would reach the network are left out (registries are allow-listed
// to an address where nothing listens, in case a request gets there anyway).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { TestVch } from '../helpers/vch.ts';
import { raw } from './raw-request.ts';

const vch = new TestVch('fuzz', ['--allowed-registry', '127.0.0.1:1']);
before(async () => { await vch.start(); });
after(async () => { await vch.destroy(); });

interface Operation { query: Array<{ name: string }>; body?: { type?: string; allOf?: unknown[]; $ref?: string; properties?: Record<string, unknown> } }
const spec = JSON.parse(readFileSync(new URL('../../src/engine/api/schema.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, { properties?: Record<string, unknown>; allOf?: unknown[] }>;
};

// Registries, host bridges, endless streams and upgrades stay out of it.
const LEFT_OUT = /^(POST \/images\/create|POST \/images\/\{name\}\/push|GET \/images\/search|POST \/auth|GET \/events|POST \/networks\/create|POST \/build|POST \/session|GET \/containers\/\{id\}\/attach\/ws|POST \/containers\/\{id\}\/attach|POST \/exec\/\{id\}\/start|.* \/(swarm|nodes|services|tasks|secrets|configs|plugins|distribution)\b)/;
const operations = Object.entries(spec.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method, path, op })))
  .filter(({ method, path }) => !LEFT_OUT.test(`${method} ${path}`));

/** Top-level property names of a body schema, so random bodies reach the fields' own checks. */
function propertyNames(schema: Operation['body']): string[] {
  if (!schema) return [];
  const names = Object.keys(schema.properties ?? {});
  const refs = [schema.$ref, ...(schema.allOf ?? []).map((s) => (s as { $ref?: string }).$ref)].filter((r): r is string => !!r);
  for (const ref of refs) {
    const def = spec.definitions[ref.replace('#/definitions/', '')];
    names.push(...Object.keys(def?.properties ?? {}));
  }
  for (const part of schema.allOf ?? []) names.push(...Object.keys((part as { properties?: object }).properties ?? {}));
  return names;
}

const junk = fc.constantFrom('%ZZ', '%', '%E0%A4%A', '1e308', '-1', 'NaN', '0x10', '', '99999999999999999999', 'true', 'null', '{}', '[]', '..', '%00', '+5', '%207');
const text = fc.oneof(fc.string(), junk);
const segment = fc.oneof(text.map(encodeURIComponent), junk);
const jsonish = fc.jsonValue({ maxDepth: 3 });

const request = fc.constantFrom(...operations).chain(({ method, path, op }) => {
  const names = propertyNames(op.body);
  const knownFields = names.length ? fc.dictionary(fc.constantFrom(...names), fc.oneof(jsonish, fc.constant(null)), { maxKeys: 6 }) : fc.constant({});
  const body = fc.oneof(
    fc.constant(undefined),
    jsonish.map((v) => JSON.stringify(v)),
    knownFields.map((v) => JSON.stringify(v)),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    fc.string(),
  );
  const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...op.query.map((q) => q.name), 'x'), fc.string()), text), { maxLength: 4 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
  const filledPath = fc.array(segment, { minLength: 4, maxLength: 4 }).map((parts) => {
    let i = 0;
    return path.replace(/\{\w+\}/g, () => parts[i++] || 'x');
  });
  return fc.record({ method: fc.constant(method), path: filledPath, query, body, versioned: fc.boolean() });
});

test('no request to the engine is answered with a 5xx, and the engine stays up', async () => {
  await fc.assert(fc.asyncProperty(request, async ({ method, path, query, body, versioned }) => {
    const target = `${versioned ? '/v1.48' : ''}${path}${query ? `?${query}` : ''}`;
    const response = await raw(vch.socket, method, target, body);
    assert.ok(response.status < 500, `${method} ${target} ${String(body)} -> ${response.status} ${response.body}`);
    if (response.status >= 400 && method !== 'HEAD') assert.equal(typeof response.json?.message, 'string', `${method} ${target}: ${response.body}`);
  }), { numRuns: 400 });
  const ping = await raw(vch.socket, 'GET', '/_ping');
  assert.equal(ping.status, 200);
  assert.doesNotMatch(vch.engineLog, /unhandled|TypeError|RangeError/i, vch.engineLog);
});
