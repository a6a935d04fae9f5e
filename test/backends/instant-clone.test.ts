// Instant clone through the real qemu backend under TCG: one template, clones that each get their
// own disks, hostname, output and randomness, adoption of a clone by a new backend, fallback to a
// cold boot when the template is broken, and invalidation of templates of another guest.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QemuBackend } from '../../src/backends/qemu/backend.ts';
import { readTscKhz } from '../../src/backends/qemu/host.ts';
import { templateFingerprint, TemplateStore } from '../../src/backends/qemu/template-store.ts';
import type { ContainerVmSpec, VmHandle } from '../../src/portlayer/backend.ts';
import { buildGuest, makeBusyboxLayer, makeExt4 } from '../tether/guest-vm.ts';

const MEMORY_MIB = 128;

describe('instant clone (qemu backend, TCG)', { timeout: 600_000 }, () => {
  let work: string;
  let guest: { kernel: string; initrd: string };
  let base: string;
  let marker: string;
  let backend: QemuBackend;
  const vms: VmHandle[] = [];
  const messages: string[] = [];

  function newBackend(): QemuBackend {
    return new QemuBackend({
      qemuBinary: 'qemu-system-x86_64',
      kernel: guest.kernel,
      initrd: guest.initrd,
      kernelVersion: 'test',
      accel: 'tcg',
      accelReason: 'test',
      tscKhz: readTscKhz(),
      bootTimeoutSeconds: 60,
      templatesDir: join(work, 'templates'),
      log: (m) => messages.push(m),
    });
  }

  before(async () => {
    guest = buildGuest();
    work = mkdtempSync(join(tmpdir(), 'bonneville-clone-test-'));
    base = join(work, 'base.img');
    makeBusyboxLayer(join(work, 'base'), base);
    // A second layer of another size: clones must take any number and size of disks.
    mkdirSync(join(work, 'top/etc'), { recursive: true });
    writeFileSync(join(work, 'top/etc/layer-marker'), 'top layer\n');
    marker = join(work, 'top.img');
    makeExt4(join(work, 'top'), marker, 4);
    backend = newBackend();
    assert.equal(await backend.prepareTemplate(MEMORY_MIB, 1), true, messages.join('\n'));
  });

  after(async () => {
    await Promise.all(vms.map((vm) => vm.kill()));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function spec(name: string, argv: string[]): Promise<ContainerVmSpec> {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    const writableDisk = await backend.disks.createContainerDisk(dir, 64 * 1024 ** 2);
    return {
      id: randomBytes(32).toString('hex'),
      dir,
      hostname: name,
      domainname: '',
      layerDisks: [base, marker],
      writableDisk,
      process: { argv, env: [`PATH=/bin`], workingDir: '/', user: '', tty: false, openStdin: false },
      memoryMiB: MEMORY_MIB,
      cpus: 1,
    };
  }

  async function outputOf(b: QemuBackend, dir: string): Promise<string> {
    let text = '';
    for await (const r of b.readLogs(dir, { from: 0, follow: false })) text += r.data.toString();
    return text;
  }

  function restoredFrom(dir: string): string | undefined {
    return (JSON.parse(readFileSync(join(dir, 'vm.json'), 'utf8')) as { restoredFrom?: string }).restoredFrom;
  }

  it('runs two clones at once, each with its own disks, hostname, output and randomness', async () => {
    // Each writes its own file, waits until the other had time to write, then lists the root.
    const script = 'hostname; cat /etc/layer-marker; echo "rng=$(od -An -tx1 -N16 /dev/urandom | tr -d " ")"; touch /mine-$(hostname); sleep 1; ls / | grep mine-';
    const [a, b] = await Promise.all([spec('clone-a', ['sh', '-c', script]), spec('clone-b', ['sh', '-c', script])]);
    const [vmA, vmB] = await Promise.all([backend.boot(a), backend.boot(b)]);
    vms.push(vmA, vmB);
    assert.deepEqual(await Promise.all([vmA.exited, vmB.exited]), [{ code: 0 }, { code: 0 }]);
    const [outA, outB] = [await outputOf(backend, a.dir), await outputOf(backend, b.dir)];
    assert.ok(restoredFrom(a.dir) && restoredFrom(b.dir), 'both started from the template');
    assert.match(outA, /^clone-a\ntop layer\nrng=[0-9a-f]{32}\nmine-clone-a\n$/);
    assert.match(outB, /^clone-b\ntop layer\nrng=[0-9a-f]{32}\nmine-clone-b\n$/);
    assert.notEqual(/rng=(\w+)/.exec(outA)![1], /rng=(\w+)/.exec(outB)![1]);
    // Per-VM chardevs (not migrated state): each clone's console went to its own directory. (Not
    // checked by its text: the host ends QEMU on EXIT, before the guest's power-off message.)
    for (const dir of [a.dir, b.dir]) assert.ok(existsSync(join(dir, 'console.log')));
    assert.match(backend.info().details.find(([k]) => k === 'Instant clone')![1], /^on \(templates ready: 128m-1c\)$/);
  });

  it('lets a new backend (engine restart) adopt and stop a clone', async () => {
    const s = await spec('adopted', ['sleep', '600']);
    const vm = await backend.boot(s);
    assert.ok(restoredFrom(s.dir));
    // The dead engine's connection goes away with it; QEMU serves one control client at a time.
    (vm as unknown as { socket: { destroy(): void } }).socket.destroy();
    const adopted = await newBackend().adopt(s.id, s.dir);
    assert.ok(adopted, 'clone adopted');
    assert.equal(adopted.reportedPid, vm.reportedPid);
    await adopted.kill();
    assert.equal((await adopted.exited).code, 137);
    await vm.exited;
  });

  it('keeps the template when clones time out while other boots run (a busy host proves nothing)', async () => {
    // A QEMU wrapper under which a clone never comes up while the marker exists: as on a host too
    // busy to run it within its time. Cold boots and the template run the real QEMU.
    const marker = join(work, 'clones-hang');
    const wrapper = join(work, 'qemu-wrapper.sh');
    writeFileSync(wrapper, `#!/bin/sh\ncase " $* " in *" -incoming "*) [ -e '${marker}' ] && exec sleep 3600;; esac\nexec qemu-system-x86_64 "$@"\n`, { mode: 0o755 });
    const log: string[] = [];
    const busy = new QemuBackend({
      qemuBinary: wrapper, kernel: guest.kernel, initrd: guest.initrd, kernelVersion: 'test', accel: 'tcg', accelReason: 'test',
      tscKhz: readTscKhz(), bootTimeoutSeconds: 60, templatesDir: join(work, 'templates-busy'), log: (m) => log.push(m),
    });
    assert.equal(await busy.prepareTemplate(MEMORY_MIB, 1), true, log.join('\n'));
    const metaFile = join(work, 'templates-busy', readdirSync(join(work, 'templates-busy')).find((e) => !e.startsWith('.'))!, 'meta.json');
    const savedId = (JSON.parse(readFileSync(metaFile, 'utf8')) as { id: string }).id;
    writeFileSync(marker, '');
    const specs = await Promise.all([spec('busy-a', ['true']), spec('busy-b', ['true'])]);
    const started = await Promise.all(specs.map((s) => busy.boot(s)));
    vms.push(...started);
    assert.deepEqual(await Promise.all(started.map((vm) => vm.exited)), [{ code: 0 }, { code: 0 }]);
    assert.deepEqual(specs.map((s) => restoredFrom(s.dir)), [undefined, undefined], 'both fell back to cold boots');
    assert.equal(log.filter((m) => /kept although a restore failed: the host is busy/.test(m)).length, 2, log.join('\n'));
    assert.ok(!log.some((m) => /discarded/.test(m)), log.join('\n'));
    assert.equal((JSON.parse(readFileSync(metaFile, 'utf8')) as { id: string }).id, savedId, 'the same template is still in place');
    assert.match(busy.info().details.find(([k]) => k === 'Instant clone')![1], /^on \(templates ready: 128m-1c\)$/);
    // Once the host can run it, the next start is a clone of that template again.
    rmSync(marker);
    const next = await spec('busy-next', ['true']);
    const vm = await busy.boot(next);
    vms.push(vm);
    assert.equal((await vm.exited).code, 0);
    assert.ok(restoredFrom(next.dir), 'restored from the kept template');
    assert.ok(log.some((m) => /started as a clone of 128m-1c/.test(m)), log.join('\n'));
  });

  it('retries a template that could not be made, with back-off, until it is back, and says so in info', async () => {
    // Template builds (RAM file mapped shared) fail at once while the marker exists.
    const marker = join(work, 'templates-fail');
    const wrapper = join(work, 'qemu-failing-templates.sh');
    writeFileSync(wrapper, `#!/bin/sh\ncase " $* " in *"share=on"*) [ -e '${marker}' ] && { echo "template refused by the test"; exit 1; };; esac\nexec qemu-system-x86_64 "$@"\n`, { mode: 0o755 });
    const log: string[] = [];
    const flaky = new QemuBackend({
      qemuBinary: wrapper, kernel: guest.kernel, initrd: guest.initrd, kernelVersion: 'test', accel: 'tcg', accelReason: 'test',
      tscKhz: readTscKhz(), bootTimeoutSeconds: 60, templatesDir: join(work, 'templates-flaky'), log: (m) => log.push(m),
    });
    const status = () => flaky.info().details.find(([k]) => k === 'Instant clone')![1];
    writeFileSync(marker, '');
    assert.equal(await flaky.prepareTemplate(MEMORY_MIB, 1), false);
    assert.match(status(), /^on \(templates ready: none yet; 128m-1c failed \(attempt 1, next try in \d+s, not ready since [0-9T:-]+Z\): .*template refused by the test/);
    assert.equal(await flaky.prepareTemplate(MEMORY_MIB, 1), false, 'no new attempt before the back-off passed');
    assert.match(log.join('\n'), /could not make template 128m-1c: .*template refused by the test/);
    // Nobody asks again: the retry comes by itself once the back-off passed, and succeeds.
    rmSync(marker);
    const until = Date.now() + 300_000;
    while (!/templates ready: 128m-1c/.test(status()) && Date.now() < until) await new Promise((r) => setTimeout(r, 500));
    assert.equal(status(), 'on (templates ready: 128m-1c)', log.join('\n'));
  });

  it('falls back to a cold boot and drops a template that does not restore', async () => {
    const store = join(work, 'templates');
    const dir = readdirSync(store).find((e) => e.startsWith(`${MEMORY_MIB}m-1c-`))!;
    writeFileSync(join(store, dir, 'state'), 'not a migration stream');
    const s = await spec('fallback', ['sh', '-c', 'echo cold']);
    const vm = await backend.boot(s);
    vms.push(vm);
    assert.equal((await vm.exited).code, 0);
    assert.equal(await outputOf(backend, s.dir), 'cold\n');
    assert.equal(restoredFrom(s.dir), undefined);
    // Discarded, and remade at once: whatever is in place now is not the damaged state.
    const state = join(store, dir, 'state');
    assert.ok(!existsSync(state) || readFileSync(state, 'utf8') !== 'not a migration stream', 'broken template discarded');
    assert.ok(messages.some((m) => /discarded/.test(m)), messages.join('\n'));
    // The next start of the shape would find a new one: make it now so that no QEMU outlives the test.
    assert.equal(await backend.prepareTemplate(MEMORY_MIB, 1), true);
  });

  it('invalidates templates of another guest and leftovers of interrupted saves', async () => {
    const root = join(work, 'invalidation');
    const old = new TemplateStore(root, 'oldguest');
    const tmp = old.begin({ memoryMiB: 64, cpus: 1 });
    for (const f of [tmp.memory, tmp.state]) writeFileSync(f, 'x');
    assert.equal(old.publish(tmp, { memoryMiB: 64, cpus: 1 }), true);
    old.begin({ memoryMiB: 64, cpus: 2 }); // a save that never finished
    assert.ok(old.find({ memoryMiB: 64, cpus: 1 }));
    assert.deepEqual(old.readyShapes(), ['64m-1c']);
    const current = new TemplateStore(root, 'newguest');
    current.sweep();
    assert.deepEqual(readdirSync(root), []);
    assert.equal(current.find({ memoryMiB: 64, cpus: 1 }), undefined);
    // A rebuilt initramfs changes the fingerprint.
    const initrd = join(work, 'initrd-copy');
    writeFileSync(initrd, readFileSync(guest.initrd));
    const inputs = { kernel: guest.kernel, initrd, qemuBinary: 'qemu-system-x86_64', accel: 'tcg', tscKhz: 1000 };
    const before = await templateFingerprint(inputs);
    writeFileSync(initrd, Buffer.concat([readFileSync(guest.initrd), Buffer.alloc(512)]));
    assert.notEqual(await templateFingerprint(inputs), before);
  });
});
