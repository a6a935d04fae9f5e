import assert from 'node:assert/strict';
import { test } from 'node:test';
import { familiarName, normaliseTag, parseReference } from '../../src/portlayer/images/references.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test('short names live under docker.io/library and display without it', () => {
  assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: undefined, digest: undefined });
  assert.equal(normaliseTag('busybox'), 'busybox:latest');
  assert.equal(normaliseTag('docker.io/library/busybox'), 'busybox:latest');
  assert.equal(normaliseTag('index.docker.io/library/busybox:1.36'), 'busybox:1.36');
  assert.equal(normaliseTag('docker.io/user/app:v1'), 'user/app:v1');
});

test('registry hosts, ports and nested paths are kept', () => {
  assert.equal(normaliseTag('host:5000/a/b:tag'), 'host:5000/a/b:tag');
  assert.equal(normaliseTag('localhost/app'), 'localhost/app:latest');
  assert.equal(normaliseTag('registry.example.com/team/app'), 'registry.example.com/team/app:latest');
  const reference = parseReference('host:5000/a/b');
  assert.equal(reference.domain, 'host:5000');
  assert.equal(reference.path, 'a/b');
  assert.equal(familiarName(reference), 'host:5000/a/b');
});

test('digests and tag@digest parse; tag-only helpers refuse digests', () => {
  assert.deepEqual(parseReference(`busybox@${DIGEST}`), { domain: 'docker.io', path: 'library/busybox', tag: undefined, digest: DIGEST });
  assert.equal(parseReference(`busybox:1@${DIGEST}`).tag, '1');
  assert.throws(() => normaliseTag(`busybox@${DIGEST}`), { kind: 'InvalidParameter' });
});

test('invalid references throw InvalidParameter', () => {
  for (const bad of ['', 'Busybox', 'busybox:', 'busybox:-bad', 'a//b', 'busybox@sha256:abc', 'a'.repeat(64), `x/${'a'.repeat(260)}`, 'name with space']) {
    assert.throws(() => parseReference(bad), { kind: 'InvalidParameter' }, bad);
  }
});
