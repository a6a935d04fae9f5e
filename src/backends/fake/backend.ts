// The fake backend: a real implementation of the port layer's Backend, in memory. Disks are trees in
// memory (disks.ts), VMs run a tiny script (script.ts) and give the test their controls (vm.ts). A
// FakeHost is the "hypervisor" that outlives an engine: a second FakeBackend on the same host adopts
// the VMs the first one started, as a restarted engine adopts QEMU processes.
import type { Backend, BackendCapabilities, BackendInfo, ContainerVmSpec, ExitStatus, LogReadOptions, OutputRecord, VmHandle } from '../../portlayer/backend.ts';
import { FakeDiskStore } from './disks.ts';
import { FakeOutputLog } from './output-log.ts';
import { FakeVm } from './vm.ts';

export class FakeHost {
  readonly disks = new FakeDiskStore();
  /** Running VMs by container id. */
  readonly vms = new Map<string, FakeVm>();
  /** Every VM ever booted, in order (a test reaches the one it wants here). */
  readonly booted: FakeVm[] = [];
  /** Output logs by container directory. */
  readonly logs = new Map<string, FakeOutputLog>();
  /** teardown() calls, in order. */
  readonly teardowns: Array<{ id: string; dir: string }> = [];
  /** Errors the next boots fail with (one each), before any VM exists. */
  readonly failNextBoots: Error[] = [];
  /** Called on each boot before it runs: a test may wait here to hold a boot in flight. */
  beforeBoot?: (spec: ContainerVmSpec) => Promise<void>;
  /** Called on each teardown before it runs: a test may hold one in flight (an engine that dies mid-way). */
  beforeTeardown?: (id: string) => Promise<void>;

  logOf(dir: string): FakeOutputLog {
    let log = this.logs.get(dir);
    if (!log) {
      log = new FakeOutputLog();
      this.logs.set(dir, log);
    }
    return log;
  }

  /** The running VM of a container, for the test's controls. */
  vm(id: string): FakeVm {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`no running fake VM for ${id}`);
    return vm;
  }
}

export interface FakeBackendOptions {
  host?: FakeHost;
  capabilities?: Partial<BackendCapabilities>;
}

export class FakeBackend implements Backend {
  readonly host: FakeHost;
  readonly capabilities: BackendCapabilities;
  readonly disks: FakeDiskStore;

  constructor(options: FakeBackendOptions = {}) {
    this.host = options.host ?? new FakeHost();
    this.disks = this.host.disks;
    // Host file access needs real files: the fake has none to offer.
    this.capabilities = { pause: options.capabilities?.pause ?? true, stoppedContainerFiles: false };
  }

  info(): BackendInfo {
    return { name: 'fake', accelerator: 'none', kernelVersion: 'fake', details: [['Running VMs', String(this.host.vms.size)]] };
  }

  async boot(spec: ContainerVmSpec): Promise<VmHandle> {
    await this.host.beforeBoot?.(spec);
    const failure = this.host.failNextBoots.shift();
    if (failure) throw failure;
    for (const disk of [...spec.layerDisks, spec.writableDisk, ...(spec.volumes ?? []).map((v) => v.disk)]) {
      if (!this.disks.exists(disk)) throw new Error(`the VM cannot attach ${disk}: no such disk`);
    }
    if (this.host.vms.has(spec.id)) throw new Error(`container ${spec.id} has a VM already`);
    const log = this.host.logOf(spec.dir);
    const vm = new FakeVm(spec, log, this.capabilities.pause);
    vm.start(); // a process that cannot start throws here, and no VM is left
    this.host.vms.set(spec.id, vm);
    this.host.booted.push(vm);
    void vm.exited.then(() => {
      if (this.host.vms.get(spec.id) === vm) this.host.vms.delete(spec.id);
    });
    return vm;
  }

  async adopt(id: string): Promise<VmHandle | undefined> {
    return this.host.vms.get(id);
  }

  async teardown(id: string, dir: string): Promise<void> {
    await this.host.beforeTeardown?.(id);
    this.host.teardowns.push({ id, dir });
    this.host.logs.delete(dir);
  }

  logPosition(dir: string): number {
    return this.host.logs.get(dir)?.position ?? 0;
  }

  readLogs(dir: string, options: LogReadOptions): AsyncIterable<OutputRecord> {
    return this.host.logOf(dir).read(options);
  }

  async lastRecordedExit(dir: string): Promise<ExitStatus | undefined> {
    return this.host.logs.get(dir)?.lastExit();
  }
}
