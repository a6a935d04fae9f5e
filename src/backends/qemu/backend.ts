// The qemu backend: each container is one QEMU microVM process, started detached so that it outlives
// the engine, described in its container directory (vm.json) so that a later engine can adopt it.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync, statSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Backend, BackendCapabilities, BackendInfo, ContainerVmSpec, ExitStatus, LogReadOptions, OutputRecord, VmHandle } from '../../portlayer/backend.ts';
import { ProcessStartError } from '../../portlayer/backend.ts';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { TetherClient, TetherError } from '../../tether/client.ts';
import { buildQemuArgs } from './cmdline.ts';
import { vmFiles, socketNames } from './vm-files.ts';
import { isOurVm, killQuietly } from './process-identity.ts';
import { QemuVm } from './qemu-vm.ts';
import { connectUnixSocket } from '../../tether/connect.ts';
import { readOutput, lastExit, logSize, trimTornFrame } from '../tether-vm/output-log.ts';
import { withDeadline } from '../tether-vm/deadline.ts';
import { InstantClone } from './instant-clone.ts';
import { cloneFamilyArgs } from './template-maker.ts';
import { CloneRestoreError, restoreClone } from './clone.ts';
import { shapeKey } from './template-store.ts';
import type { ReadyTemplate } from './template-store.ts';
import { BootAdmission, bootCapacity, CLONE_WEIGHT, COLD_BOOT_WEIGHT, hostBusy, loadFactor } from './boot-admission.ts';
import type { RestoreFailure } from './template-health.ts';
import { TEMPLATE_NICS } from './template-maker.ts';
import { bootSlots, NIC_SLOTS, NicHotplug, slotMac } from './nic-slots.ts';
import type { NicSlot } from './nic-slots.ts';
import { QemuNetworks } from './network/plumbing.ts';
import { tetherConfig } from '../tether-vm/container-config.ts';
import { Ext4DiskStore } from './disks/ext4-disk-store.ts';
import { withPrivateUmask } from './private-files.ts';
import { volumeDisks } from './volume-disks.ts';
import { startShares, stopShares, sweepStaleSockets, VIRTIOFS_RUN_DIR, VIRTIOFSD } from './virtiofs.ts';
import type { FsShare } from './virtiofs.ts';
import { PhaseTimer } from './phase-timer.ts';
import { StandbyPool } from './standby-pool.ts';
import type { StandbyVm } from './standby-pool.ts';
import { plugDisks } from './hotplug.ts';
import { QmpClient } from './qmp.ts';
import type { VmDisk } from './cmdline.ts';

export interface QemuBackendOptions {
  qemuBinary: string;
  kernel: string;
  initrd: string;
  kernelVersion: string;
  accel: 'kvm' | 'tcg';
  /** Why this accelerator was chosen, for `docker info`. */
  accelReason: string;
  tscKhz: number;
  /** Seconds a VM may take from spawn to a running process before it is killed. */
  bootTimeoutSeconds: number;
  /**
   * Where instant-clone templates live (<datastore>/templates). Unset: every VM cold-boots, and
   * instantCloneOffReason says why in `docker info`.
   */
  templatesDir?: string;
  instantCloneOffReason?: string;
  /** Cold boots run at once (twice as many clones; the rest wait their turn); default: from the cores and the accelerator (boot-admission.ts). */
  bootSlots?: number;
  /** Diagnostics of the backend itself (starts, templates made or dropped, clone fallbacks). */
  log?: (message: string) => void;
  /** The VCH's id: names its bridges and taps. Unset: no container networks (loopback only). */
  vchId?: string;
  /** virtiofsd, for host directory binds; default Debian's. Missing: binds are refused. */
  virtiofsd?: string;
  /** Where virtiofsd sockets go (short paths: sun_path); default /run/bonneville/virtiofs. */
  virtiofsRunDir?: string;
  /**
   * Standby clones kept per VM shape (standby-pool.ts), in standbyDir (<datastore>/standby); needs
   * instant clone. 0 or unset: none, every start restores its own clone.
   */
  standbyClones?: number;
  standbyDir?: string;
}

interface RuntimeRecord {
  pid: number;
  vmName: string;
  control: string;
  started: string;
  /** The template this VM was restored from; absent for a cold boot. Informational only. */
  restoredFrom?: string;
  /** QMP socket name when it is not the container id's (a standby clone's, named before the container existed). */
  qmp?: string;
  /** The VM's taps (network/plumbing.ts), removed once it is gone. */
  taps?: string[];
  /** The virtiofsd processes serving its host directories (virtiofs.ts), ended once it is gone. */
  shares?: FsShare[];
  /** Its NIC slots (nic-slots.ts): networks joined and left while it runs; absent in older records. */
  slots?: NicSlot[];
}

/**
 * On an idle host, a clone gets this long to restore, and again this long to answer, before the
 * start falls back to a cold boot. Scaled by the host's load, like every boot timeout.
 */
const CLONE_STEP_TIMEOUT_MS = 15_000;
/**
 * The smallest VM the guest boots in: the kernel, its unpacked initramfs and the tether. At 64 MiB it
 * never answered (measured); 96 MiB boots and runs busybox.
 */
const MINIMUM_VM_MIB = 96;

/**
 * How long after a start on a standby clone its refill waits at most while another one is ready
 * (refillAfterStart): a container's first seconds are when its VM wants the CPU most.
 */
const REFILL_DELAY_MS = 2000;

/** A clone attempt that failed before the container was given to it: cold-boot instead. */
class CloneFallback extends Error {
  /** How the restore failed, when it is the template's business at all (not the container's disks). */
  readonly failure?: RestoreFailure;
  /** Whether other boots ran or waited (or the host was loaded) when it failed. */
  readonly hostBusy: boolean;
  constructor(message: string, failure: RestoreFailure | undefined, hostBusy: boolean, cause: unknown) {
    super(message, { cause });
    this.failure = failure;
    this.hostBusy = hostBusy;
  }
}

export class QemuBackend implements Backend {
  private readonly options: QemuBackendOptions;
  private readonly clones?: InstantClone;
  private readonly standby?: StandbyPool;
  /** Resolves once what an earlier engine left in the standby directory is gone. */
  private standbySwept: Promise<void> = Promise.resolve();
  private standbyReady = false;
  /** Every boot — container or template, clone or cold — runs in one of these slots. */
  private readonly admission: BootAdmission;
  readonly networks?: QemuNetworks;
  readonly disks: Ext4DiskStore;
  readonly capabilities: BackendCapabilities;

  constructor(options: QemuBackendOptions) {
    this.options = options;
    this.capabilities = { pause: true, stoppedContainerFiles: true, hostDirectories: existsSync(this.virtiofsd()), minimumMemoryMiB: MINIMUM_VM_MIB };
    if (this.capabilities.hostDirectories) sweepStaleSockets(options.virtiofsRunDir ?? VIRTIOFS_RUN_DIR);
    // The tether binary next to the initramfs that holds it: its `files` mode runs on the host too.
    this.disks = new Ext4DiskStore({ hostFileTool: join(dirname(options.initrd), 'tether') });
    this.admission = new BootAdmission(options.bootSlots ? options.bootSlots * COLD_BOOT_WEIGHT : bootCapacity(options.accel));
    if (options.vchId) this.networks = new QemuNetworks(options.vchId, options.log);
    if (options.templatesDir) {
      this.clones = new InstantClone({
        dir: options.templatesDir,
        qemuBinary: options.qemuBinary,
        kernel: options.kernel,
        initrd: options.initrd,
        accel: options.accel,
        tscKhz: options.tscKhz,
        bootTimeoutMs: options.bootTimeoutSeconds * 1000,
        admission: this.admission,
        log: options.log,
      });
      if ((options.standbyClones ?? 0) > 0 && options.standbyDir) {
        this.standby = new StandbyPool({
          dir: options.standbyDir,
          size: options.standbyClones!,
          qemuBinary: options.qemuBinary,
          kernel: options.kernel,
          initrd: options.initrd,
          accel: options.accel,
          tscKhz: options.tscKhz,
          admission: this.admission,
          stepTimeoutMs: CLONE_STEP_TIMEOUT_MS,
          taps: this.networks,
          log: options.log,
        });
        this.standbySwept = this.standby.sweep().then(() => { this.standbyReady = true; }, (err: Error) => options.log?.(`standby clones off: ${err.message}`));
      }
    }
  }

  /** The engine stops: standby VMs go (container VMs stay, for the next engine to adopt). */
  async close(): Promise<void> {
    await this.standbySwept;
    await this.standby?.close();
  }

  /**
   * Keeps the shape's standby clones topped up (once its template is ready); `layerDisks`: those of
   * the start that just took one, for new ones to have plugged in.
   */
  private fillStandby(shape: { memoryMiB: number; cpus: number }, layerDisks?: string[]): void {
    if (!this.standby || !this.standbyReady) return;
    const template = this.clones?.templateFor(shape);
    if (template) this.standby.fill(shape, template, layerDisks);
  }

  /**
   * After a start took a standby clone: while the shape still has one ready, the refill waits until
   * the container's VM ended or REFILL_DELAY_MS passed, whichever is first — a refill is a restore and
   * a warm-up, CPU the container's own first moments (and, for a short-lived one, its exit) would
   * otherwise share with it. With none ready, the next start would restore its own clone: refill now.
   */
  private refillAfterStart(shape: { memoryMiB: number; cpus: number }, layerDisks: string[], exited: Promise<unknown>): void {
    if (!this.standby || this.standby.readyCount(shape) === 0) return this.fillStandby(shape, layerDisks);
    let timer: NodeJS.Timeout | undefined;
    const delay = new Promise<void>((resolve) => { timer = setTimeout(resolve, REFILL_DELAY_MS); timer.unref(); });
    void Promise.race([exited, delay]).then(() => {
      clearTimeout(timer);
      this.fillStandby(shape, layerDisks);
    });
  }

  info(): BackendInfo {
    const instantClone = this.clones
      ? `on (${this.clones.describe()})`
      : `off${this.options.instantCloneOffReason ? ` (${this.options.instantCloneOffReason})` : ''}`;
    return {
      name: 'qemu',
      accelerator: this.options.accel,
      kernelVersion: this.options.kernelVersion,
      details: [
        ['Accelerator reason', this.options.accelReason],
        ['Guest kernel', this.options.kernelVersion],
        ['Instant clone', instantClone],
        ['Standby clones', this.standby ? this.standby.describe() : 'off'],
        ['Boots at once', `${this.admission.capacity / COLD_BOOT_WEIGHT} cold or ${this.admission.capacity / CLONE_WEIGHT} clones (${this.admission.busy} running, ${this.admission.waiting} waiting)`],
        ['Networks', this.networks ? this.networks.describe() : 'off (loopback only)'],
      ],
    };
  }

  /**
   * Makes the template for a VM shape now (at engine start for the default shape, and in tests)
   * instead of at its first use; resolves with whether one is ready. False when instant clone is off.
   */
  prepareTemplate(memoryMiB: number, cpus: number): Promise<boolean> {
    const made = this.clones?.prepare({ memoryMiB, cpus }) ?? Promise.resolve(false);
    return made.then(async (ready) => {
      await this.standbySwept;
      if (ready) this.fillStandby({ memoryMiB, cpus });
      return ready;
    });
  }

  /**
   * Restores a clone of the shape's template when there is one, else (or if that fails) cold-boots.
   * Waits for a boot slot first: under a burst, starts queue here instead of all booting at once on
   * too few cores, and each one's timeouts start when it runs.
   */
  async boot(spec: ContainerVmSpec): Promise<VmHandle> {
    const asked = performance.now();
    // Weighed by what it will likely be; decided again once admitted (a template may be ready by then).
    const clone = this.cloneable(spec) && this.clones!.templateFor({ memoryMiB: spec.memoryMiB, cpus: spec.cpus }) !== undefined;
    return this.admission.run(() => this.bootAdmitted(spec, (performance.now() - asked) / 1000), { weight: clone ? CLONE_WEIGHT : COLD_BOOT_WEIGHT });
  }

  private virtiofsd(): string {
    return this.options.virtiofsd ?? VIRTIOFSD;
  }

  /**
   * The template family has TEMPLATE_NICS NICs; a VM that needs more cannot be one of its clones. Nor
   * can one with host directories: vhost-user-fs needs RAM shared with virtiofsd (a clone's is a
   * private copy-on-write mapping of the template's) and QEMU cannot save or restore the device.
   */
  private cloneable(spec: ContainerVmSpec): boolean {
    return this.clones !== undefined && (spec.nics?.length ?? 0) <= TEMPLATE_NICS && !spec.hostDirectories?.length;
  }

  private async bootAdmitted(spec: ContainerVmSpec, waitedSeconds: number): Promise<VmHandle> {
    const shape = { memoryMiB: spec.memoryMiB, cpus: spec.cpus };
    const t0 = performance.now();
    const took = () => `in ${((performance.now() - t0) / 1000).toFixed(1)}s${waitedSeconds >= 0.1 ? ` after ${waitedSeconds.toFixed(1)}s waiting for a boot slot` : ''}`;
    const id = spec.id.slice(0, 12);
    const template = this.cloneable(spec) ? this.clones!.templateFor(shape) : undefined;
    let why = !this.clones ? 'instant clone is off' : template ? '' : spec.hostDirectories?.length ? 'host directories need a cold boot' : !this.cloneable(spec) ? 'more NICs than a clone has' : 'no template ready';
    // A standby clone has one tap, in its first NIC slot (standby-pool.ts): it serves containers on one network.
    if (template && this.standby && this.standbyReady && spec.nics?.length === 1 && firstStart(spec.dir)) {
      const standby = this.standby.take(shape, template, spec.layerDisks);
      if (standby) {
        let vm: VmHandle | undefined;
        try {
          const phases = new PhaseTimer();
          vm = await this.handOver(spec, standby, template, phases);
          this.options.log?.(`container ${id} started on a standby clone of ${shapeKey(shape)} ${took()}; phases: ${phases.describe()}`);
          return vm;
        } catch (err) {
          if (!(err instanceof CloneFallback)) throw err;
          this.options.log?.(`standby clone: container ${id} restores its own clone instead: ${err.message}`);
        } finally {
          if (vm) this.refillAfterStart(shape, spec.layerDisks, vm.exited);
          else this.fillStandby(shape, spec.layerDisks);
        }
      } else {
        this.fillStandby(shape, spec.layerDisks);
      }
    }
    if (template) {
      try {
        const phases = new PhaseTimer();
        const vm = await this.launch(spec, template, phases);
        this.options.log?.(`container ${id} started as a clone of ${shapeKey(shape)} ${took()}; phases: ${phases.describe()}`);
        return vm;
      } catch (err) {
        if (!(err instanceof CloneFallback)) throw err;
        if (err.failure) this.clones!.restoreFailed(shape, template, err.failure, err.hostBusy, err.message);
        this.options.log?.(`instant clone: container ${id} cold-boots instead: ${err.message}`);
        why = 'the clone failed';
      }
    }
    const phases = new PhaseTimer();
    const vm = await this.launch(spec, undefined, phases);
    this.options.log?.(`container ${id} started by a cold boot ${took()} (${why}); phases: ${phases.describe()}`);
    return vm;
  }

  /**
   * Gives a standby clone (already running, its tether waiting) to this container: its files move
   * into the container's directory (QEMU keeps writing them under their new names), its tap goes on
   * the container's network, the container's record names it, then its disks are plugged and it gets
   * the container's CONFIG. Fails with CloneFallback while nothing of the container ran.
   */
  private async handOver(spec: ContainerVmSpec, standby: StandbyVm, template: ReadyTemplate, phases: PhaseTimer): Promise<VmHandle> {
    const files = vmFiles(spec.dir);
    const { disks, volumes } = containerDisks(spec);
    const nics = spec.nics ?? [];
    const taps = standby.tap ? [standby.tap] : [];
    const pid = standby.pid;
    const stepMs = Math.round(CLONE_STEP_TIMEOUT_MS * loadFactor());
    let configured = false;
    let vm: QemuVm | undefined;
    let nicHotplug: NicHotplug | undefined;
    try {
      for (const key of ['log', 'console', 'qemuOutput', 'pid'] as const) {
        if (existsSync(standby.files[key])) renameSync(standby.files[key], files[key]);
      }
      if (!standby.tap || !this.networks) throw new Error('the standby clone has no tap');
      await this.networks.attachTap(standby.tap, nics[0].networkId);
      const runtime: RuntimeRecord = {
        pid, vmName: standby.vmName, control: standby.controlSocket, qmp: standby.qmpSocket, started: new Date().toISOString(), restoredFrom: template.dir, taps,
      };
      nicHotplug = this.nicHotplug(spec.id, standby.qmpSocket, runtime, bootSlots(nics, taps), files.runtime);
      writeJsonAtomic(files.runtime, runtime);
      // The container's record names the VM now; only then may the pool's record go (a crash in
      // between leaves a VM that both claim: the next engine's sweep kills it).
      this.standby!.handedOver(standby);
      phases.mark('handover');
      const qmp = await QmpClient.connect(standby.qmpSocket, stepMs, standby.gone);
      try {
        // Plugged while paused, as for a clone: the guest sees them as soon as it runs. The standby
        // clone may have the container's layers already (take() gave it only if they are its first).
        const plugged = standby.layers.length;
        await plugDisks(qmp, disks.slice(plugged), plugged);
        phases.mark('disks');
        await qmp.execute('cont');
        phases.mark('resume');
      } finally {
        qmp.close();
      }
      vm = new QemuVm({ pid, socket: standby.socket, tether: standby.tether, qmpSocket: standby.qmpSocket, recordedExit: () => lastExit(files.log), nics: nicHotplug });
      const config = tetherConfig(spec, { layers: disks.filter((d) => d.serial.startsWith('l')).map((d) => d.serial), rw: 'rw', mounts: volumes.mounts, hotplugged: true });
      // Its NICs have the template's MACs: each network names the slot it is on, as for any clone.
      config.networks?.forEach((n, i) => { n.slotMac = slotMac(i); });
      configured = true;
      const deadline = Date.now() + Math.round(this.options.bootTimeoutSeconds * 1000 * loadFactor());
      const started = await withDeadline(standby.tether.configure(config), deadline, 'the container process did not start');
      phases.mark('process');
      phases.addGuestSteps(started.steps);
      const joined = nicHotplug;
      this.releaseWhenGone(vm, () => joined.taps());
      return vm;
    } catch (err) {
      const busy = hostBusy(this.admission);
      if (vm) await vm.kill();
      else { standby.socket.destroy(); killQuietly(pid); }
      await this.networks?.releaseTaps(taps);
      if (err instanceof TetherError && err.reportedByGuest) throw new ProcessStartError(err.message, err.code);
      if (!configured) {
        await exitOf(standby.gone, 5000); // lets go of the disks it may have had plugged
        throw new CloneFallback((err as Error).message, undefined, busy, err);
      }
      throw new Error(`the container VM did not come up (standby clone): ${(err as Error).message}`, { cause: err });
    }
  }

  private async launch(spec: ContainerVmSpec, template: ReadyTemplate | undefined, phases: PhaseTimer): Promise<VmHandle> {
    const files = vmFiles(spec.dir);
    const sockets = socketNames(spec.id);
    const vmName = `bonneville-${spec.id}`;
    const { disks, volumes } = containerDisks(spec);
    const common = {
      name: vmName,
      kernel: this.options.kernel,
      initrd: this.options.initrd,
      accel: this.options.accel,
      tscKhz: this.options.tscKhz,
      controlSocket: sockets.control,
      qmpSocket: sockets.qmp,
      logFile: files.log,
      consoleFile: files.console,
      pidFile: files.pid,
    };
    const nics = spec.nics ?? [];
    if (nics.length > 0 && !this.networks) throw new Error('this backend was started without container networks');
    const shares = await this.startShares(spec, template);
    let taps: string[] = [];
    try {
      taps = nics.length > 0 ? await this.networks!.createTaps(spec.id, nics) : [];
    } catch (err) {
      stopShares(shares);
      throw err;
    }
    const fsShares = shares.map((s) => ({ socket: s.socket, tag: s.tag }));
    phases.mark('prepare');
    const args = template
      ? cloneFamilyArgs({ ...common, shape: { memoryMiB: spec.memoryMiB, cpus: spec.cpus }, memory: template.memory, shared: false, incoming: true, taps })
      : buildQemuArgs({ ...common, memoryMiB: spec.memoryMiB, cpus: spec.cpus, disks, nics: coldBootNics(nics, taps, this.networks ? NIC_SLOTS : 0), fsShares });
    await trimTornFrame(files.log);
    const out = openSync(files.qemuOutput, 'a', 0o600);
    let child;
    try {
      const [command, commandArgs] = withPrivateUmask(this.options.qemuBinary, args);
      child = spawn(command, commandArgs, { detached: true, stdio: ['ignore', out, out], cwd: spec.dir });
    } catch (err) {
      await this.networks?.releaseTaps(taps);
      stopShares(shares);
      throw err;
    } finally {
      closeSync(out);
    }
    child.unref();
    phases.mark('spawn');
    const pid = child.pid;
    if (!pid) {
      await this.networks?.releaseTaps(taps);
      stopShares(shares);
      throw new Error(`could not start ${this.options.qemuBinary}`);
    }
    let exitedEarly = false;
    const qemuGone = new AbortController();
    child.once('exit', () => { exitedEarly = true; qemuGone.abort(); });
    const runtime: RuntimeRecord = { pid, vmName, control: sockets.control, started: new Date().toISOString(), restoredFrom: template?.dir, taps, ...(shares.length ? { shares } : {}) };
    const nicHotplug = this.networks ? this.nicHotplug(spec.id, sockets.qmp, runtime, bootSlots(nics, taps), files.runtime) : undefined;
    writeJsonAtomic(files.runtime, runtime);
    // Timeouts count from here (the boot was admitted), stretched while the host is loaded: they are
    // there to end guests that never come up, not slow boots on a busy host.
    const factor = loadFactor();
    const bootMs = Math.round(this.options.bootTimeoutSeconds * 1000 * factor);
    const cloneStepMs = Math.round(CLONE_STEP_TIMEOUT_MS * factor);
    let deadline = Date.now() + bootMs;
    let vm: QemuVm | undefined;
    let configured = false;
    let restored = false;
    try {
      // A clone's steps each get their own time (a restore that took long must not leave the
      // guest's HELLO a millisecond); a clone that is not up in that time falls back to a cold boot.
      const answerBy = template ? Date.now() + cloneStepMs : deadline;
      if (template) {
        await restoreClone({ qmpSocket: sockets.qmp, template, disks, timeoutMs: cloneStepMs, signal: qemuGone.signal, mark: (p) => phases.mark(p) });
        restored = true;
      }
      const helloBy = template ? Date.now() + cloneStepMs : answerBy;
      const socket = await connectUnixSocket(sockets.control, { abstract: true, timeoutMs: Math.max(1, helloBy - Date.now()), signal: qemuGone.signal });
      const tether = new TetherClient(socket);
      vm = new QemuVm({ pid, socket, tether, qmpSocket: sockets.qmp, recordedExit: () => lastExit(files.log), nics: nicHotplug });
      await withDeadline(tether.hello(Math.max(1, helloBy - Date.now())), helloBy, 'the container VM did not come up');
      phases.mark('hello');
      const shareMounts = shares.map((share, i) => ({ serial: '', tag: share.tag, target: spec.hostDirectories![i].target, readOnly: spec.hostDirectories![i].readOnly, copyUp: false }));
      const config = tetherConfig(spec, { layers: disks.filter((d) => d.serial.startsWith('l')).map((d) => d.serial), rw: 'rw', mounts: [...volumes.mounts, ...shareMounts], hotplugged: template !== undefined });
      // A clone's NICs still have the template's MACs: each network names the slot it is on.
      if (template) config.networks?.forEach((n, i) => { n.slotMac = slotMac(i); });
      configured = true;
      // A clone that answered starts its process in the time a cold boot would have had.
      if (template) deadline = Date.now() + bootMs;
      const started = await withDeadline(tether.configure(config), deadline, 'the container process did not start');
      phases.mark('process');
      phases.addGuestSteps(started.steps);
      this.releaseWhenGone(vm, () => nicHotplug?.taps() ?? taps, shares);
      return vm;
    } catch (err) {
      const diedByItself = exitedEarly;
      const busy = hostBusy(this.admission);
      if (vm) await vm.kill();
      else killQuietly(pid);
      // QEMU may still hold the taps for a moment; deleting a tap in use is fine (it goes with the fd).
      await this.networks?.releaseTaps(taps);
      stopShares(shares);
      if (err instanceof TetherError && err.reportedByGuest) throw new ProcessStartError(err.message, err.code);
      if (template && !configured) {
        // Nothing of the container ran yet: a cold boot can still start it, once this QEMU has let go
        // of the disks it may have had plugged (image locks).
        await exitOf(qemuGone.signal, 5000);
        throw new CloneFallback((err as Error).message, cloneFailure(err, restored, diedByItself), busy, err);
      }
      const accel = `${this.options.accel}, boot timeout ${this.options.bootTimeoutSeconds}s${factor > 1 ? ` x${factor.toFixed(1)} for host load` : ''}`;
      if (diedByItself) throw new Error(`QEMU exited during boot (${accel}): ${tail(files.qemuOutput)}`, { cause: err });
      throw new Error(`the container VM did not come up (${accel}): ${(err as Error).message}`, { cause: err });
    }
  }

  /** A virtiofsd per host directory, for a cold boot; none for a clone (it cannot have them). */
  private async startShares(spec: ContainerVmSpec, template: ReadyTemplate | undefined): Promise<FsShare[]> {
    const dirs = spec.hostDirectories ?? [];
    if (dirs.length === 0 || template) return [];
    if (!this.capabilities.hostDirectories) throw new Error(`host directories cannot be shared: ${this.virtiofsd()} is missing`);
    return startShares(spec.id, dirs, {
      virtiofsd: this.virtiofsd(),
      runDir: this.options.virtiofsRunDir ?? VIRTIOFS_RUN_DIR,
      logFile: join(spec.dir, 'virtiofsd.log'),
      timeoutMs: Math.round(10_000 * loadFactor()),
    });
  }

  /** The VM's taps (those it holds when it ends) and virtiofsd processes go when the VM does. */
  private releaseWhenGone(vm: VmHandle, taps: () => string[], shares: FsShare[] = []): void {
    void vm.exited.then(async () => {
      stopShares(shares);
      await this.networks?.releaseTaps(taps());
    });
  }

  /** Network joins and leaves of a running VM; every change is written to its runtime record. */
  private nicHotplug(id: string, qmpSocket: string, runtime: RuntimeRecord, slots: NicSlot[], file: string): NicHotplug {
    runtime.slots = slots;
    const hotplug: NicHotplug = new NicHotplug({
      containerId: id,
      qmpSocket,
      slots,
      networks: this.networks!,
      timeoutMs: 10_000,
      save: () => {
        runtime.taps = hotplug.taps();
        writeJsonAtomic(file, runtime);
      },
    });
    return hotplug;
  }

  async adopt(id: string, dir: string): Promise<VmHandle | undefined> {
    const files = vmFiles(dir);
    if (!existsSync(files.runtime)) return undefined;
    const runtime = JSON.parse(readFileSync(files.runtime, 'utf8')) as RuntimeRecord;
    if (!isOurVm(runtime.pid, runtime.vmName)) {
      await this.networks?.releaseTaps(runtime.taps ?? []);
      stopShares(runtime.shares ?? []);
      return undefined;
    }
    try {
      const socket = await connectUnixSocket(runtime.control, { abstract: true, timeoutMs: 5000 });
      const tether = new TetherClient(socket);
      const qmpSocket = runtime.qmp ?? socketNames(id).qmp;
      const nicHotplug = runtime.slots && this.networks ? this.nicHotplug(id, qmpSocket, runtime, runtime.slots, files.runtime) : undefined;
      const vm = new QemuVm({ pid: runtime.pid, socket, tether, qmpSocket, recordedExit: () => lastExit(files.log), nics: nicHotplug });
      // A paused guest answers nothing until it is resumed: QEMU says whether it is alive and frozen.
      if (!(await vm.isPaused())) await tether.hello(5000);
      this.networks?.hold(runtime.taps ?? []);
      this.releaseWhenGone(vm, () => nicHotplug?.taps() ?? runtime.taps ?? [], runtime.shares ?? []);
      return vm;
    } catch {
      // Running but unreachable: it cannot be managed, so it must not linger.
      killQuietly(runtime.pid);
      await this.networks?.releaseTaps(runtime.taps ?? []);
      stopShares(runtime.shares ?? []);
      return undefined;
    }
  }

  /** The VM's files in the container's directory; its taps went with it (releaseWhenGone). */
  async teardown(_id: string, dir: string): Promise<void> {
    const files = vmFiles(dir);
    await Promise.all([files.runtime, files.log, files.console, files.qemuOutput, files.pid, join(dir, 'virtiofsd.log')].map((f) => rm(f, { force: true })));
  }

  logPosition(dir: string): number {
    return logSize(vmFiles(dir).log);
  }

  readLogs(dir: string, options: LogReadOptions): AsyncIterable<OutputRecord> {
    return readOutput(vmFiles(dir).log, options);
  }

  lastRecordedExit(dir: string): Promise<ExitStatus | undefined> {
    return lastExit(vmFiles(dir).log);
  }
}


/** A cold boot's NICs: its networks', then free slots (an empty hub each) up to NIC_SLOTS. */
function coldBootNics(nics: Array<{ mac: string }>, taps: string[], slots: number): Array<{ tap?: string; mac: string }> {
  const spare = Array.from({ length: Math.max(0, slots - nics.length) }, (_, i) => ({ mac: slotMac(nics.length + i) }));
  return [...nics.map((n, i) => ({ tap: taps[i], mac: n.mac })), ...spare];
}

/**
 * The container's disks in target order: layers bottom first, the writable disk, then volumes — the
 * same list on a cold boot's command line and in a clone's hot-plug.
 */
function containerDisks(spec: ContainerVmSpec): { disks: VmDisk[]; volumes: ReturnType<typeof volumeDisks> } {
  const disks: VmDisk[] = [
    ...spec.layerDisks.map((path, i) => ({ serial: `l${i}`, path, readOnly: true })),
    { serial: 'rw', path: spec.writableDisk, readOnly: false },
  ];
  const volumes = volumeDisks(spec.volumes ?? []);
  disks.push(...volumes.disks);
  return { disks, volumes };
}

/**
 * A container's first start: no output log or console yet. Only then may a standby clone's files
 * become the container's (a restart appends to the ones it has).
 */
function firstStart(dir: string): boolean {
  const files = vmFiles(dir);
  return logSize(files.log) === 0 && !existsSync(files.console);
}

/** Resolves when the signal (QEMU's exit) fires, or after timeoutMs. */
function exitOf(signal: AbortSignal, timeoutMs: number): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/**
 * What a failed clone says about its template: the restore's own verdict; once restored, a guest
 * that died, or one that did not answer in time; undefined when the restore got as far as the
 * container's own disks (plugging them failed: not the template's doing).
 */
function cloneFailure(err: unknown, restored: boolean, diedByItself: boolean): RestoreFailure | undefined {
  if (err instanceof CloneRestoreError) return err.failure;
  if (diedByItself) return 'exited';
  if (!restored) return undefined;
  return 'timeout';
}

function tail(path: string): string {
  try {
    if (statSync(path).size === 0) return '(no output)';
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '(no output)';
  }
}

