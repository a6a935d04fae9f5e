// docker top's layout of the guest's process figures, and which ps_args are understood.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bsdTime, cpuTime, psFormat, psTable, stat } from '../../src/engine/docker/ps-table.ts';
import type { GuestProcess } from '../../src/portlayer/backend.ts';

const now = Date.UTC(2025, 5, 15, 12, 0, 0) / 1000;
const proc = (over: Partial<GuestProcess>): GuestProcess => ({
  pid: 7, ppid: 1, pgrp: 7, session: 7, tpgid: -1, tty: '?', uid: 0, user: 'root', state: 'S', nice: 0,
  threads: 1, startTime: now - 100, cpuSeconds: 25, vszKiB: 4096, rssKiB: 1024, cmd: 'sleep 100', ...over,
});

describe('docker top', () => {
  it('knows the common ps_args and refuses the rest', () => {
    assert.equal(psFormat(''), 'full');
    assert.equal(psFormat('-ef'), 'full');
    assert.equal(psFormat('-e -f'), 'full');
    assert.equal(psFormat('-A'), 'default');
    assert.equal(psFormat('aux'), 'user');
    assert.equal(psFormat('ax'), 'bsd');
    assert.throws(() => psFormat('-o pid'), /ps_args "-o pid" is not supported/);
    assert.throws(() => psFormat('-eo pid,comm'), /not supported/);
  });

  it('lays out -ef and aux', () => {
    const list = { now, memTotalKiB: 8192, processes: [proc({ pid: 9, cmd: '[sh]' }), proc({})] };
    const ef = psTable(list, '-ef');
    assert.deepEqual(ef.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    assert.deepEqual(ef.Processes.map((p) => p[1]), ['7', '9'], 'sorted by pid');
    assert.equal(ef.Processes[0][3], '25');
    assert.equal(ef.Processes[0][6], '00:00:25');
    const aux = psTable(list, 'aux');
    assert.deepEqual(aux.Processes[0], ['root', '7', '25.0', '12.5', '4096', '1024', '?', 'Ss', aux.Processes[0][8], '0:25', 'sleep 100']);
  });

  it('formats times and states like ps', () => {
    assert.equal(cpuTime(90061), '1-01:01:01');
    assert.equal(bsdTime(3725), '62:05');
    assert.equal(stat(proc({ nice: -5, threads: 3, tty: 'pts/0', tpgid: 7 })), 'S<sl+');
    assert.equal(stat(proc({ pid: 8, nice: 10 })), 'SN');
  });
});
