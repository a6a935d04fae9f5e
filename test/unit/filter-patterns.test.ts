// Client-supplied filter patterns: Go's path.Match semantics for `reference`, RE2-like regular
// expressions for `name`, both decided in time linear in the input whatever the pattern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathMatch } from '../../src/engine/docker/path-match.ts';
import { namePattern } from '../../src/engine/docker/name-pattern.ts';
import { statusOf } from '../../src/engine/http/errors.ts';
import { untilTime } from '../../src/engine/docker/until-filter.ts';

test('reference patterns follow Go path.Match', () => {
  const cases: Array<[string, string, boolean]> = [
    ['busybox', 'busybox', true],
    ['busy*', 'busybox', true],
    ['*', 'library/busybox', false], // a star stops at "/"
    ['*/*', 'library/busybox', true],
    ['library/*:1.?', 'library/app:1.2', true],
    ['library/*:1.?', 'library/app:1.23', false],
    ['[a-c]pp', 'bpp', true],
    ['[!a-c]pp', 'bpp', false],
    ['[^a-c]pp', 'xpp', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['*a*b', 'xaxxb', true],
    ['', '', true],
    ['**', 'abc', true],
  ];
  for (const [pattern, name, expected] of cases) assert.equal(pathMatch(pattern, name), expected, `${pattern} vs ${name}`);
});

test('malformed reference patterns are client errors', () => {
  for (const bad of ['[abc', 'a\\', 'x'.repeat(2000)]) {
    assert.throws(() => pathMatch(bad, 'abc'), (err) => statusOf(err) === 400, bad);
  }
});

test('star-heavy reference patterns cannot backtrack: every match step is bounded by name × pattern', () => {
  // A backtracking glob needs ~k^n steps here; the automaton needs at most 121 × 61 state updates.
  assert.equal(pathMatch(`${'*a'.repeat(30)}b`, 'a'.repeat(120)), false);
  assert.equal(pathMatch(`${'*a'.repeat(30)}b`, `${'a'.repeat(120)}b`), true);
});

test('name patterns run on the linear-time engine; what it cannot run is a 400', () => {
  assert.equal(namePattern('(a+)+b').test('a'.repeat(100_000)), false);
  assert.ok(namePattern('^web-[0-9]+$').test('web-12'));
  assert.throws(() => namePattern('(a)\\1'), (err) => statusOf(err) === 400);
  assert.throws(() => namePattern('(unclosed'), (err) => statusOf(err) === 400);
});

test('until takes unix seconds, durations ago and dates; junk is a 400', () => {
  const now = Date.parse('2026-12-03T10:00:00Z');
  assert.equal(untilTime('1700000000', now), 1_700_000_000_000);
  assert.equal(untilTime('10m', now), now - 600_000);
  assert.equal(untilTime('2026-01-01T00:00:00Z', now), Date.parse('2026-01-01T00:00:00Z'));
  assert.throws(() => untilTime('soon', now), (err) => statusOf(err) === 400);
  assert.throws(() => untilTime('', now), (err) => statusOf(err) === 400);
});
