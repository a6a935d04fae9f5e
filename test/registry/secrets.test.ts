// Remote registries' passwords at rest: sealed with AES-GCM, plain ones from older databases
// sealed at start-up, tampering detected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox } from '../../src/registry/auth/secret-box.ts';
import { SqliteDriver } from '../../src/registry/db/sqlite.ts';
import { SqlMetadata } from '../../src/registry/db/sql-metadata.ts';
import { ReplicationStore } from '../../src/registry/replication/store.ts';

test('a sealed secret opens only with its key and context, and refuses tampering', () => {
  const box = new SecretBox(SecretBox.generateKey());
  const sealed = box.seal('s3cret', 'ctx');
  assert.ok(SecretBox.isSealed(sealed) && !sealed.includes('s3cret'));
  assert.notEqual(box.seal('s3cret', 'ctx'), sealed, 'a fresh IV each time');
  assert.equal(box.open(sealed, 'ctx'), 's3cret');
  assert.throws(() => box.open(sealed, 'other'));
  assert.throws(() => new SecretBox(SecretBox.generateKey()).open(sealed, 'ctx'));
  const raw = Buffer.from(sealed.slice('enc:v1:'.length), 'base64');
  raw[raw.length - 1] ^= 1;
  assert.throws(() => box.open(`enc:v1:${raw.toString('base64')}`, 'ctx'));
  assert.equal(box.open('legacy plain', 'ctx'), 'legacy plain');
});

test('plain-text passwords of an older database are sealed at start-up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-secrets-'));
  const sql = new SqliteDriver(join(dir, 'db.sqlite'));
  try {
    await SqlMetadata.open(sql);
    await sql.run("INSERT INTO remote_registries (name, type, url, access_key, access_secret, created_at) VALUES ('old', 'docker-registry', 'http://x', 'u', 'plain-pw', 0)");
    const store = new ReplicationStore(sql, new SecretBox(SecretBox.generateKey()));
    await store.sealPlainSecrets();
    const stored = String((await sql.get("SELECT access_secret FROM remote_registries WHERE name = 'old'"))!.access_secret);
    assert.match(stored, /^enc:v1:/);
    assert.equal((await store.registryByName('old'))!.accessSecret, 'plain-pw');
  } finally {
    await sql.close();
    await rm(dir, { recursive: true, force: true });
  }
});
