import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetachKeyFilter, parseDetachKeys } from '../../src/engine/http/detach-keys.ts';
import { statusOf } from '../../src/engine/http/errors.ts';

async function run(keys: string, chunks: string[]): Promise<{ out: string; detached: boolean }> {
  let detached = false;
  const filter = new DetachKeyFilter(parseDetachKeys(keys), () => { detached = true; });
  let out = '';
  filter.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  const ended = new Promise((r) => filter.on('end', r));
  for (const c of chunks) filter.write(Buffer.from(c, 'latin1'));
  filter.end();
  await ended;
  return { out, detached };
}

test('detach key specs: ctrl letters and symbols, single characters; junk is a 400', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [0x10, 0x11]);
  assert.deepEqual([...parseDetachKeys('ctrl-x,x,ctrl-@,ctrl-_')], [0x18, 0x78, 0x00, 0x1f]);
  for (const bad of ['ctrl-', 'ctrl-1', 'xy', 'ctrl-p,,ctrl-q']) assert.throws(() => parseDetachKeys(bad), (err) => statusOf(err) === 400, bad);
});

test('the sequence detaches, split across chunks; bytes after it are dropped', async () => {
  assert.deepEqual(await run('ctrl-p,ctrl-q', ['ab\x10', '\x11cd']), { out: 'ab', detached: true });
});

test('a partial sequence that does not complete reaches the process unchanged', async () => {
  assert.deepEqual(await run('ctrl-p,ctrl-q', ['a\x10b', '\x10\x10', 'c']), { out: 'a\x10b\x10\x10c', detached: false });
  assert.deepEqual(await run('ctrl-p,ctrl-q', ['\x10\x10\x11']), { out: '\x10', detached: true });
  assert.deepEqual(await run('ctrl-p,ctrl-q', ['x\x10']), { out: 'x\x10', detached: false });
});
