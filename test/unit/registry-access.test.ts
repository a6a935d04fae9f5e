// Which registries are insecure: the admin's list, and loopback by default (as dockerd's 127.0.0.0/8 and ::1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_REGISTRY_ACCESS, isInsecure, isLoopbackRegistry, checkAllowed } from '../../src/portlayer/images/registry/access.ts';

test('loopback names and addresses are insecure by default; others only when listed', () => {
  for (const domain of ['127.0.0.1:5000', '127.1.2.3', 'localhost:5056', 'localhost', '[::1]:5000', '::1']) {
    assert.ok(isLoopbackRegistry(domain), domain);
    assert.ok(isInsecure(DEFAULT_REGISTRY_ACCESS, domain), domain);
  }
  for (const domain of ['docker.io', 'registry.example.com:5000', '10.0.0.1:5000', '128.0.0.1:5000', 'localhost.example.com', '127.0.0.1.example.com']) {
    assert.ok(!isLoopbackRegistry(domain), domain);
    assert.ok(!isInsecure(DEFAULT_REGISTRY_ACCESS, domain), domain);
  }
  assert.ok(isInsecure({ ...DEFAULT_REGISTRY_ACCESS, insecure: ['registry.example.com:5000'] }, 'registry.example.com:5000'));
});

test('the allow-list applies to loopback registries too', () => {
  const access = { ...DEFAULT_REGISTRY_ACCESS, allowed: ['registry.example.com'] };
  assert.throws(() => checkAllowed(access, '127.0.0.1:5000'), /not allowed by this VCH/);
  assert.doesNotThrow(() => checkAllowed(DEFAULT_REGISTRY_ACCESS, '127.0.0.1:5000'));
});
