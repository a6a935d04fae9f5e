// docker stats' figures in the port layer (src/portlayer/containers/usage.ts): the limit a backend
// reports, else the VM's size; a stopped container, or one whose VM ends while it is asked, has none.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExitStatus, VmHandle, VmUsage } from '../../src/portlayer/backend.ts';
import { containerUsage } from '../../src/portlayer/containers/usage.ts';
import type { LiveContainer } from '../../src/portlayer/containers/live-container.ts';

const USAGE: VmUsage = { cpuNs: 1, systemCpuNs: 10, onlineCpus: 1, memoryBytes: 5 };
const DEFAULTS = { memoryMiB: 256, cpus: 1 };

function entry(memoryBytes: number, vm?: Pick<VmHandle, 'usage' | 'exited'>): LiveContainer {
  return { record: { spec: { memoryBytes, cpus: 0 } }, vm } as unknown as LiveContainer;
}

describe('container usage', () => {
  it('has none for a stopped container', async () => {
    assert.equal(await containerUsage(entry(0), DEFAULTS), undefined);
  });

  it('takes the limit the backend reports, else the VM\'s configured size', async () => {
    const never = new Promise<ExitStatus>(() => {});
    assert.deepEqual(await containerUsage(entry(0, { usage: async () => USAGE, exited: never }), DEFAULTS), { usage: USAGE, limitBytes: 256 * 1024 ** 2 });
    assert.deepEqual(await containerUsage(entry(128 * 1024 ** 2, { usage: async () => USAGE, exited: never }), DEFAULTS), { usage: USAGE, limitBytes: 128 * 1024 ** 2 });
    const reported = { ...USAGE, memoryLimitBytes: 100 * 1024 ** 2 };
    assert.deepEqual(await containerUsage(entry(128 * 1024 ** 2, { usage: async () => reported, exited: never }), DEFAULTS), { usage: reported, limitBytes: 100 * 1024 ** 2 });
  });

  it('reads a VM that ends while it is asked as stopped, and passes on the failure of one that runs on', async () => {
    let end!: (s: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => { end = resolve; });
    const ending = entry(0, { usage: async () => { setImmediate(() => end({ code: 0 })); throw new Error('the connection to the tether closed'); }, exited });
    assert.equal(await containerUsage(ending, DEFAULTS), undefined);
    const stuck = entry(0, { usage: async () => { throw new Error('the guest did not report its usage'); }, exited: new Promise<ExitStatus>(() => {}) });
    await assert.rejects(containerUsage(stuck, DEFAULTS), /did not report/);
  });
});
