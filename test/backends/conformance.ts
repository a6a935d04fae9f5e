// The backend conformance suite: what the port layer relies on from any Backend, run against each one
// (qemu-conformance.test.ts boots real VMs, fake-conformance.test.ts runs in memory). Kept to a
// handful of boots. A capability a backend does not declare is skipped loudly, never silently.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Backend, ContainerVmSpec, OutputRecord, VmHandle } from '../../src/portlayer/backend.ts';
import { ProcessStartError } from '../../src/portlayer/backend.ts';
import type { DiskRef, LayerContent } from '../../src/portlayer/disks.ts';

export interface ConformanceTarget {
  backend: Backend;
  /**
   * An engine restart: the first backend lets go of `vm` as a dead engine would (its connection gone),
   * and a new backend on the same host is returned.
   */
  restart(vm: VmHandle): Backend | Promise<Backend>;
  close(): Promise<void>;
  /**
   * Set when the target runs no guest (vcsim: VMs are inventory entries, nothing boots): the tests
   * that need a process inside the VM are skipped with this reason, loudly. Nothing else may be.
   */
  noGuest?: string;
}

/** A busybox root in `dir`: /bin with every applet, minimal passwd and group. */
function busyboxTree(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const d of ['etc', 'root', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\n');
}

/** What a layer holds, counted as the port layer's extraction counts it. */
function contentOf(dir: string): LayerContent {
  const content: LayerContent = { contentBytes: 0, dataBlocks: 0, inodes: 1, directories: 1, directoryEntryBytes: 0, longSymlinks: 0 };
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const child = join(path, name);
      const stat = lstatSync(child);
      content.inodes++;
      content.directoryEntryBytes += name.length + 8;
      if (stat.isDirectory()) {
        content.directories++;
        walk(child);
      } else if (stat.isFile()) {
        content.contentBytes += stat.size;
        content.dataBlocks += Math.ceil(stat.size / 4096);
      }
    }
  };
  walk(dir);
  return content;
}

async function outputOf(backend: Backend, dir: string, from = 0): Promise<string> {
  let text = '';
  for await (const r of backend.readLogs(dir, { from, follow: false }) as AsyncIterable<OutputRecord>) text += r.data.toString();
  return text;
}

export function backendConformance(name: string, open: () => Promise<ConformanceTarget>): void {
  describe(`backend conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let work: string;
    let layer: DiskRef;
    const running: VmHandle[] = [];

    before(async () => {
      target = await open();
      work = mkdtempSync(join(tmpdir(), `bonneville-conformance-${name}-`));
      const files = join(work, 'busybox');
      busyboxTree(files);
      const layerDir = join(work, 'layer');
      mkdirSync(layerDir, { mode: 0o700 });
      await target.backend.disks.importLayer({ files, content: contentOf(files), dir: layerDir });
      layer = target.backend.disks.layerDisk(layerDir);
    });

    after(async () => {
      await Promise.all(running.map((vm) => vm.kill().catch(() => undefined)));
      await target?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    async function spec(label: string, argv: string[]): Promise<ContainerVmSpec> {
      const dir = join(work, label);
      mkdirSync(dir, { mode: 0o700 });
      const writableDisk = await target.backend.disks.createContainerDisk(dir, 64 * 1024 ** 2);
      return {
        id: randomBytes(32).toString('hex'), dir, hostname: label, domainname: '',
        layerDisks: [layer], writableDisk,
        process: { argv, env: ['PATH=/bin'], workingDir: '/', user: '', tty: false, openStdin: false },
        memoryMiB: 128, cpus: 1,
      };
    }

    it('makes, names, measures and destroys disks; a layer disk is there once imported', async () => {
      const { disks } = target.backend;
      assert.equal(disks.exists(layer), true);
      const dir = join(work, 'disks');
      mkdirSync(dir, { mode: 0o700 });
      const rw = await disks.createContainerDisk(dir, 32 * 1024 ** 2);
      assert.equal(rw, disks.containerDisk(dir), 'the directory names its disk');
      const volume = await disks.createVolumeDisk(dir, 32 * 1024 ** 2);
      assert.equal(volume, disks.volumeDisk(dir));
      assert.notEqual(rw, volume);
      for (const disk of [rw, volume]) {
        assert.equal(disks.exists(disk), true);
        assert.ok(disks.allocatedBytes(disk) < 32 * 1024 ** 2, 'disks are sparse or thin');
        await disks.destroyDisk(disk);
        assert.equal(disks.exists(disk), false);
        await disks.destroyDisk(disk); // a second time finds nothing
      }
      assert.equal(disks.allocatedBytes(rw), 0);
    });

    /** Skips a test that needs a process running in the guest when the target has none. */
    function needsGuest(t: { skip(message: string): void }): boolean {
      if (!target.noGuest) return false;
      t.skip(`needs a guest: ${target.noGuest}`);
      return true;
    }

    it('boots a process, records its output and exit, and tears down to nothing', async (t) => {
      if (needsGuest(t)) return;
      const s = await spec('exits', ['sh', '-c', 'echo conformance; exit 3']);
      const vm = await target.backend.boot(s);
      running.push(vm);
      assert.equal(typeof vm.reportedPid, 'number');
      assert.deepEqual(await vm.exited, { code: 3 });
      assert.equal(await outputOf(target.backend, s.dir), 'conformance\n');
      assert.deepEqual(await target.backend.lastRecordedExit(s.dir), { code: 3 });
      const end = target.backend.logPosition(s.dir);
      assert.ok(end > 0);
      assert.equal(await outputOf(target.backend, s.dir, end), '', 'reading from the end sees only what comes next');
      assert.equal(await target.backend.adopt(s.id, s.dir), undefined, 'an ended VM cannot be adopted');
      await target.backend.teardown(s.id, s.dir);
      await target.backend.teardown(s.id, s.dir);
      assert.equal(target.backend.logPosition(s.dir), 0, 'teardown leaves no output behind');
      assert.equal(await target.backend.lastRecordedExit(s.dir), undefined);
    });

    it('refuses a process that cannot start with its exit code, and leaves no VM', async (t) => {
      if (needsGuest(t)) return;
      const s = await spec('missing', ['no-such-command']);
      await assert.rejects(target.backend.boot(s), (err: unknown) => err instanceof ProcessStartError && err.code === 127);
      assert.equal(await target.backend.adopt(s.id, s.dir), undefined);
    });

    it('kills a running VM at once, and tears down to nothing', async () => {
      const s = await spec('killed', ['sleep', '600']);
      const vm = await target.backend.boot(s);
      running.push(vm);
      await vm.kill();
      assert.equal((await vm.exited).code, 137);
      assert.equal(await target.backend.adopt(s.id, s.dir), undefined, 'a killed VM cannot be adopted');
      await target.backend.teardown(s.id, s.dir);
      await target.backend.teardown(s.id, s.dir);
      assert.equal(target.backend.logPosition(s.dir), 0, 'teardown leaves no output behind');
    });

    describe('a running VM', () => {
      let s: ContainerVmSpec;
      let vm: VmHandle;

      before(async () => {
        s = await spec('runs', ['sleep', '600']);
        vm = await target.backend.boot(s);
        running.push(vm);
      });

      it('runs an exec and reports what the VM costs', async (t) => {
        if (needsGuest(t)) return;
        const session = await vm.exec({ argv: ['echo', 'from-exec'], env: [], workingDir: '', user: '', tty: false, openStdin: false });
        let text = '';
        for await (const chunk of session.output) text += chunk.data.toString();
        assert.equal(await session.exited, 0);
        assert.equal(text, 'from-exec\n');
        const usage = await vm.usage();
        for (const figure of [usage.cpuNs, usage.systemCpuNs, usage.memoryBytes]) assert.ok(Number.isFinite(figure) && figure >= 0);
        assert.ok(usage.onlineCpus >= 1);
        assert.ok(usage.cpuNs <= usage.systemCpuNs, 'CPU time used is a share of the total');
        if (usage.memoryLimitBytes !== undefined) assert.ok(usage.memoryBytes > 0 && usage.memoryBytes <= usage.memoryLimitBytes, 'memory in use is a share of the limit');
      });

      it('pauses and resumes, when the backend declares it can', async (t) => {
        if (!target.backend.capabilities.pause) {
          t.skip(`${name} does not declare the pause capability`);
          return;
        }
        await vm.pause!();
        assert.equal(await vm.isPaused!(), true);
        await vm.resume!();
        assert.equal(await vm.isPaused!(), false);
      });

      it('is adopted by a restarted engine, which can stop it', async () => {
        const restarted = await target.restart(vm);
        const adopted = await restarted.adopt(s.id, s.dir);
        assert.ok(adopted, 'the running VM is adopted');
        running.push(adopted);
        assert.equal(adopted.reportedPid, vm.reportedPid);
        await adopted.kill();
        assert.equal((await adopted.exited).code, 137);
        assert.equal(await restarted.adopt(s.id, s.dir), undefined, 'a killed VM is gone');
      });
    });
  });
}
