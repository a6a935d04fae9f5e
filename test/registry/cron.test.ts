// Harbor's six-field cron strings (seconds first): parsing, and the slots before and after a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCron, parseCron } from '../../src/registry/jobs/cron.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

test('cron: fixed values, *, */N, ranges and lists', () => {
  const hourly = parseCron('0 0 * * * *');
  assert.equal(iso(hourly.latestAtOrBefore(at('2024-03-10T10:17:42Z'))), '2024-03-10T10:00:00.000Z');
  assert.equal(iso(hourly.latestAtOrBefore(at('2024-03-10T10:00:00Z'))), '2024-03-10T10:00:00.000Z', 'a slot is its own latest');
  assert.equal(iso(hourly.nextAfter(at('2024-03-10T10:00:00Z'))), '2024-03-10T11:00:00.000Z');

  const everyTen = parseCron('*/10 * * * * *');
  assert.equal(iso(everyTen.latestAtOrBefore(at('2024-03-10T10:17:42.500Z'))), '2024-03-10T10:17:40.000Z');
  assert.equal(iso(everyTen.nextAfter(at('2024-03-10T10:17:42Z'))), '2024-03-10T10:17:50.000Z');

  const list = parseCron('30 0,15,45 2 * * *');
  assert.equal(iso(list.nextAfter(at('2024-03-10T02:15:30Z'))), '2024-03-10T02:45:30.000Z');
  assert.equal(iso(list.nextAfter(at('2024-03-10T02:45:30Z'))), '2024-03-11T02:00:30.000Z');
  assert.equal(iso(list.latestAtOrBefore(at('2024-03-10T01:00:00Z'))), '2024-03-09T02:45:30.000Z');

  const workdays = parseCron('0 0 9 * * 1-5');
  assert.equal(iso(workdays.nextAfter(at('2024-03-08T10:00:00Z'))), '2024-03-11T09:00:00.000Z', 'Friday after nine → Monday');
  assert.equal(iso(workdays.latestAtOrBefore(at('2024-03-10T12:00:00Z'))), '2024-03-08T09:00:00.000Z', 'Sunday → Friday');

  const yearly = parseCron('0 0 0 1 1 *');
  assert.equal(iso(yearly.latestAtOrBefore(at('2024-03-10T00:00:00Z'))), '2024-01-01T00:00:00.000Z');
  assert.equal(iso(yearly.nextAfter(at('2024-03-10T00:00:00Z'))), '2025-01-01T00:00:00.000Z');

  const leap = parseCron('0 0 12 29 2 *');
  assert.equal(iso(leap.nextAfter(at('2024-03-01T00:00:00Z'))), '2028-02-29T12:00:00.000Z');
  assert.equal(iso(leap.latestAtOrBefore(at('2027-01-01T00:00:00Z'))), '2024-02-29T12:00:00.000Z');
});

test('cron: presets, five-field strings, Sunday as 7, either day field', () => {
  assert.equal(parseCron('Daily').text, '0 0 0 * * *');
  assert.equal(parseCron('@weekly').text, '0 0 0 * * 0');
  assert.equal(iso(parseCron('Weekly').nextAfter(at('2024-03-10T00:00:00Z'))), '2024-03-17T00:00:00.000Z'); // 10 March 2024 is a Sunday
  assert.equal(iso(parseCron('0 9 * * *').nextAfter(at('2024-03-10T10:00:00Z'))), '2024-03-11T09:00:00.000Z', 'five fields: at second 0');
  assert.equal(iso(parseCron('0 0 0 * * 7').nextAfter(at('2024-03-11T00:00:00Z'))), '2024-03-17T00:00:00.000Z');
  // Both day fields restricted: the 1st of the month or a Monday, whichever comes first.
  assert.equal(iso(parseCron('0 0 0 1 * 1').nextAfter(at('2024-03-12T00:00:00Z'))), '2024-03-18T00:00:00.000Z');
  assert.equal(iso(parseCron('0 0 0 1 * 1').nextAfter(at('2024-03-26T00:00:00Z'))), '2024-04-01T00:00:00.000Z');
});

test('cron: malformed strings are refused', () => {
  for (const bad of ['', '* * * *', '0 60 * * * *', '0 0 24 * * *', '0 0 0 0 * *', '0 0 0 * 13 *', '*/0 * * * * *', 'a b c d e f', '0 5-1 * * * *', '0 0 0 * * 8']) {
    assert.throws(() => parseCron(bad), /cron/, bad);
  }
  assert.throws(() => checkCron('0 0 0 31 2 *'), /never fires/);
  assert.equal(checkCron(''), '', 'no schedule');
});
