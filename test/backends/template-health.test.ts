// The decisions behind instant clone under load, without VMs or real time: when a failed restore
// discards a template (only on proof), the back-off between attempts to make one, what `docker info`
// says about it, and the boot admission queue that keeps bursts within the cores.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, restoreVerdict, TemplateLifecycle } from '../../src/backends/qemu/template-health.ts';
import type { RestoreEvidence } from '../../src/backends/qemu/template-health.ts';
import { BootAdmission, bootCapacity, CLONE_WEIGHT, COLD_BOOT_WEIGHT, hostBusy, loadFactor, MAX_LOAD_FACTOR } from '../../src/backends/qemu/boot-admission.ts';

describe('restore verdict', () => {
  const base: RestoreEvidence = { failure: 'timeout', intact: true, current: true, hostBusy: true };

  it('keeps a template whose restore timed out or lost QEMU while the host was busy', () => {
    assert.equal(restoreVerdict(base).discard, false);
    assert.equal(restoreVerdict({ ...base, failure: 'exited' }).discard, false);
  });

  it('discards on proof: damaged files, a refused state, or a failure on an idle host', () => {
    assert.equal(restoreVerdict({ ...base, intact: false }).discard, true);
    assert.equal(restoreVerdict({ ...base, failure: 'refused' }).discard, true);
    assert.equal(restoreVerdict({ ...base, hostBusy: false }).discard, true);
    assert.equal(restoreVerdict({ ...base, failure: 'exited', hostBusy: false }).discard, true);
  });

  it('never discards a template that was already replaced (its successor is not to blame)', () => {
    assert.equal(restoreVerdict({ ...base, current: false, intact: false, failure: 'refused', hostBusy: false }).discard, false);
  });
});

describe('template back-off and status', () => {
  it('doubles the pause after each failure up to a cap, and starts over after a success', () => {
    const backoff = new Backoff(5_000, 40_000);
    assert.deepEqual([1, 2, 3, 4, 5].map(() => backoff.failed()), [5_000, 10_000, 20_000, 40_000, 40_000]);
    backoff.succeeded();
    assert.equal(backoff.failed(), 5_000);
  });

  it('allows the next attempt only once its pause has passed, and reports each state', () => {
    let now = Date.parse('2026-12-03T08:00:00Z');
    const life = new TemplateLifecycle(() => now, new Backoff(5_000, 120_000));
    assert.equal(life.mayTry(), true);
    life.building();
    assert.equal(life.mayTry(), false, 'one attempt at a time');
    assert.equal(life.describe(), 'being made since 2026-12-03T08:00:00Z');
    assert.equal(life.failed('no HELLO'), 5_000);
    now += 4_000;
    assert.equal(life.mayTry(), false);
    assert.match(life.describe(), /^failed \(attempt 1, next try in 1s, not ready since 2026-12-03T08:00:00Z\): no HELLO$/);
    now += 1_000;
    assert.equal(life.mayTry(), true);
    life.building();
    assert.equal(life.failed('again'), 10_000, 'the pause grows');
    now += 10_000;
    life.building();
    life.ready();
    assert.equal(life.describe(), 'ready');
    assert.equal(life.isReady, true);
  });

  it('says "rebuilding since" the moment a ready template was discarded', () => {
    let now = Date.parse('2026-12-03T09:00:00Z');
    const life = new TemplateLifecycle(() => now);
    life.building();
    life.ready();
    now += 60_000;
    life.discarded();
    assert.equal(life.mayTry(), true, 'rebuilt at once, no pause');
    now += 30_000;
    life.building();
    assert.equal(life.describe(), 'rebuilding since 2026-12-03T09:01:00Z');
  });
});

describe('boot admission', () => {
  function gate() {
    let open!: () => void;
    const opened = new Promise<void>((r) => { open = r; });
    return { open, opened };
  }

  it('runs at most its capacity at once and admits the rest in arrival order', async () => {
    const admission = new BootAdmission(2 * COLD_BOOT_WEIGHT);
    const order: number[] = [];
    const gates = [0, 1, 2, 3, 4].map(() => gate());
    const runs = gates.map((g, i) => admission.run(async () => { order.push(i); await g.opened; return i; }));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [0, 1]);
    assert.equal(admission.busy, 2);
    assert.equal(admission.waiting, 3);
    gates[1].open();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [0, 1, 2]);
    for (const g of gates) g.open();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4]);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.equal(admission.busy, 0);
    assert.equal(admission.waiting, 0);
  });

  it('puts a template build first, and frees the slot of work that failed', async () => {
    const admission = new BootAdmission(COLD_BOOT_WEIGHT);
    const order: string[] = [];
    const first = gate();
    const a = admission.run(async () => { order.push('a'); await first.opened; throw new Error('boom'); });
    const b = admission.run(async () => { order.push('b'); });
    const t = admission.run(async () => { order.push('template'); }, { first: true });
    first.open();
    await assert.rejects(a, /boom/);
    await Promise.all([b, t]);
    assert.deepEqual(order, ['a', 'template', 'b']);
    assert.equal(admission.busy, 0);
  });

  it('lets more clones than cold boots in at once, without a clone overtaking a waiting cold boot', async () => {
    const admission = new BootAdmission(2 * COLD_BOOT_WEIGHT);
    const order: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const start = (name: string, weight: number) => {
      gates.set(name, gate());
      return admission.run(async () => { order.push(name); await gates.get(name)!.opened; }, { weight });
    };
    const runs = [start('clone1', CLONE_WEIGHT), start('clone2', CLONE_WEIGHT), start('clone3', CLONE_WEIGHT), start('cold', COLD_BOOT_WEIGHT), start('clone4', CLONE_WEIGHT)];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['clone1', 'clone2', 'clone3'], 'the cold boot needs two units, one is free; clone4 waits behind it');
    gates.get('clone1')!.open();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['clone1', 'clone2', 'clone3', 'cold']);
    for (const g of gates.values()) g.open();
    await Promise.all(runs);
    assert.deepEqual(order, ['clone1', 'clone2', 'clone3', 'cold', 'clone4']);
  });

  it('derives its capacity from the cores and the accelerator, and stretches timeouts with load', () => {
    assert.equal(bootCapacity('tcg', 2) / COLD_BOOT_WEIGHT, 4, 'two cold boots per core under TCG');
    assert.equal(bootCapacity('tcg', 2) / CLONE_WEIGHT, 8);
    assert.equal(bootCapacity('kvm', 2) / COLD_BOOT_WEIGHT, 8);
    assert.equal(loadFactor(2, 0.5), 1);
    assert.equal(loadFactor(2, 5), 2.5);
    assert.equal(loadFactor(2, 1000), MAX_LOAD_FACTOR);
    const admission = new BootAdmission(2);
    assert.equal(hostBusy(admission, 2, 0), false);
    assert.equal(hostBusy(admission, 2, 1.6), true);
  });
});
