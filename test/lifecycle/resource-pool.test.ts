// The resource pool drivers' file writes (v2 cannot be exercised on this host's cgroups: its unified
// hierarchy has no cpu/memory controllers), checked on plain directories laid out as each driver
// expects; and the bridge network range's subnet plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLimits, poolStats, MEMORY_HEADROOM_MIB } from '../../src/lifecycle/resource-pool.ts';
import { formatSubnet, parseSubnet, pickSubnet } from '../../src/portlayer/networks/ipam.ts';

const MIB = 1024 * 1024;

test('v2 driver: cpu.max, cpu.weight, memory.max, memory.low; and lifting them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pool-v2-'));
  try {
    applyLimits({ driver: 'v2', dirs: [dir] }, { cpus: 1.5, cpuShares: 512, memoryMiB: 1024, memoryReservationMiB: 256 });
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    assert.equal(read('cpu.max'), '150000 100000');
    assert.equal(read('cpu.weight'), String(Math.round(1 + ((512 - 2) * 9999) / 262142)));
    assert.equal(read('memory.max'), String((1024 + MEMORY_HEADROOM_MIB) * MIB));
    assert.equal(read('memory.low'), String(256 * MIB));
    applyLimits({ driver: 'v2', dirs: [dir] }, {});
    assert.equal(read('cpu.max'), 'max 100000');
    assert.equal(read('memory.max'), 'max');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 900\nuser_usec 600\nsystem_usec 300\nnr_periods 20\nnr_throttled 5\nthrottled_usec 4000\n');
    writeFileSync(join(dir, 'memory.current'), '4096\n');
    assert.deepEqual(poolStats({ driver: 'v2', dirs: [dir] }), { usageUsec: 900, periods: 20, throttledPeriods: 5, throttledUsec: 4000, memoryBytes: 4096 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('v1 driver: each controller hierarchy gets its own files', () => {
  const root = mkdtempSync(join(tmpdir(), 'pool-v1-'));
  try {
    const cpu = join(root, 'cpu');
    const memory = join(root, 'memory');
    mkdirSync(cpu);
    mkdirSync(memory);
    for (const f of ['cpu.cfs_quota_us', 'cpu.cfs_period_us', 'cpu.shares']) writeFileSync(join(cpu, f), '');
    for (const f of ['memory.limit_in_bytes', 'memory.soft_limit_in_bytes']) writeFileSync(join(memory, f), '');
    applyLimits({ driver: 'v1', dirs: [cpu, memory] }, { cpus: 0.5, memoryMiB: 512 });
    assert.equal(readFileSync(join(cpu, 'cpu.cfs_quota_us'), 'utf8'), '50000');
    assert.equal(readFileSync(join(cpu, 'cpu.cfs_period_us'), 'utf8'), '100000');
    assert.equal(readFileSync(join(cpu, 'cpu.shares'), 'utf8'), '1024');
    assert.equal(readFileSync(join(memory, 'memory.limit_in_bytes'), 'utf8'), String((512 + MEMORY_HEADROOM_MIB) * MIB));
    assert.equal(readFileSync(join(memory, 'memory.soft_limit_in_bytes'), 'utf8'), '-1');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a bridge network range hands out /24s of a /16, /16s of a wider range, skipping what is in use', () => {
  const pool = parseSubnet('10.201.0.0/16');
  assert.equal(formatSubnet(pickSubnet([], pool)!), '10.201.0.0/24');
  assert.equal(formatSubnet(pickSubnet([parseSubnet('10.201.0.0/24'), parseSubnet('10.201.1.0/25')], pool)!), '10.201.2.0/24');
  assert.equal(formatSubnet(pickSubnet([], parseSubnet('172.16.0.0/12'))!), '172.16.0.0/16');
  assert.equal(pickSubnet([parseSubnet('10.9.9.0/24')], parseSubnet('10.9.9.0/24')), undefined);
});
