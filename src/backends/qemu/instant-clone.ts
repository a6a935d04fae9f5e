// The template lifecycle: one template per VM shape (memory, cpus) that is actually used, made in
// the background — never waited for by a start, which cold-boots meanwhile — and kept unless proven
// broken (template-health.ts). Template builds take a boot slot like any boot (BootAdmission), at the
// front of the queue, so their timers start when they really run. A failed build is retried with
// back-off until the template is back; `docker info` tells each shape's state.
import { statSync } from 'node:fs';
import { makeTemplate } from './template-maker.ts';
import { shapeKey, templateFingerprint, TemplateStore } from './template-store.ts';
import type { ReadyTemplate, TemplateShape } from './template-store.ts';
import { BootAdmission, COLD_BOOT_WEIGHT, loadFactor } from './boot-admission.ts';
import { restoreVerdict, TemplateLifecycle } from './template-health.ts';
import type { RestoreFailure } from './template-health.ts';

export interface InstantCloneOptions {
  /** Directory holding the templates (<datastore>/templates). */
  dir: string;
  qemuBinary: string;
  kernel: string;
  initrd: string;
  accel: 'kvm' | 'tcg';
  tscKhz: number;
  /** Longest a template's boot may take on an idle host (scaled by the host's load). */
  bootTimeoutMs: number;
  /** The boot slots template builds share with container boots. */
  admission: BootAdmission;
  /** Diagnostics (template made, failed, kept, discarded). */
  log?: (message: string) => void;
}

/** Each save step of a template build (monitor, state) on an idle host; scaled by load like the boot. */
const SAVE_STEP_MS = 15_000;

export class InstantClone {
  private readonly options: InstantCloneOptions;
  private store!: Promise<TemplateStore>;
  private resolvedStore?: TemplateStore;
  /** Size and mtime of kernel and initramfs when the fingerprint was taken. */
  private inputsStamp = '';
  private readonly making = new Map<string, Promise<boolean>>();
  /** The shapes asked for, each with its template's state (ready, being made, waiting to retry). */
  private readonly lifecycles = new Map<string, TemplateLifecycle>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();

  constructor(options: InstantCloneOptions) {
    this.options = options;
    this.openStore();
  }

  /** (Re)computes the guest fingerprint; templates of any other guest are swept away. */
  private openStore(): void {
    this.inputsStamp = this.stampInputs();
    this.resolvedStore = undefined;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    this.lifecycles.clear();
    this.store = templateFingerprint(this.options).then((fingerprint) => {
      const store = new TemplateStore(this.options.dir, fingerprint);
      store.sweep();
      this.resolvedStore = store;
      return store;
    });
    this.store.catch((err: Error) => this.log(`instant clone unavailable: ${err.message}`));
  }

  private stampInputs(): string {
    try {
      return [this.options.kernel, this.options.initrd].map((f) => { const st = statSync(f); return `${st.size}:${st.mtimeMs}`; }).join(' ');
    } catch {
      return 'missing';
    }
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  private lifecycleOf(key: string): TemplateLifecycle {
    let lifecycle = this.lifecycles.get(key);
    if (!lifecycle) {
      lifecycle = new TemplateLifecycle();
      this.lifecycles.set(key, lifecycle);
    }
    return lifecycle;
  }

  /**
   * The ready template for this shape, or undefined — then one is being made in the background
   * (or will be, once its back-off passed), and this start cold-boots.
   */
  templateFor(shape: TemplateShape): ReadyTemplate | undefined {
    // The guest was rebuilt under a running engine: cold boots now run the new one, so must clones.
    if (this.stampInputs() !== this.inputsStamp && this.making.size === 0) this.openStore();
    const found = this.resolvedStore?.find(shape);
    if (!found) void this.prepare(shape);
    return found;
  }

  /** Makes the template for this shape unless it exists; resolves with whether one is ready. */
  prepare(shape: TemplateShape): Promise<boolean> {
    const key = shapeKey(shape);
    const running = this.making.get(key);
    if (running) return running;
    if (!this.lifecycleOf(key).mayTry()) return Promise.resolve(false);
    return this.start(shape);
  }

  private start(shape: TemplateShape): Promise<boolean> {
    const key = shapeKey(shape);
    clearTimeout(this.retryTimers.get(key));
    this.retryTimers.delete(key);
    const made = this.make(shape).finally(() => this.making.delete(key));
    this.making.set(key, made);
    return made;
  }

  private async make(shape: TemplateShape): Promise<boolean> {
    let store: TemplateStore;
    try {
      store = await this.store;
    } catch {
      return false;
    }
    const key = shapeKey(shape);
    const lifecycle = this.lifecycleOf(key);
    if (store.find(shape)) {
      lifecycle.ready();
      return true;
    }
    lifecycle.building();
    const error = await this.options.admission.run(() => this.build(store, shape), { first: true, weight: COLD_BOOT_WEIGHT });
    if (this.lifecycles.get(key) !== lifecycle) return error === undefined; // the store was reopened meanwhile
    if (error === undefined) {
      lifecycle.ready();
      return true;
    }
    // Tried again after a pause that grows with each failure, until the template is back.
    const delay = lifecycle.failed(error);
    this.log(`instant clone: template ${key} not ready (${lifecycle.describe()}); next try in ${Math.round(delay / 1000)}s`);
    const timer = setTimeout(() => { if (!this.making.has(key)) void this.start(shape); }, delay);
    timer.unref();
    this.retryTimers.set(key, timer);
    return false;
  }

  /**
   * One attempt, run in a boot slot: its time is counted from here, scaled by the host's load.
   * Resolves with why it failed, or undefined once the template is in place.
   */
  private async build(store: TemplateStore, shape: TemplateShape): Promise<string | undefined> {
    if (store.find(shape)) return undefined;
    const key = shapeKey(shape);
    const tmp = store.begin(shape);
    const t0 = performance.now();
    const factor = loadFactor();
    try {
      await makeTemplate({
        ...this.options, shape, files: tmp,
        timeoutMs: Math.round(this.options.bootTimeoutMs * factor), stepTimeoutMs: Math.round(SAVE_STEP_MS * factor),
      });
      store.publish(tmp, shape);
      this.log(`instant clone: template ${key} ready in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      return undefined;
    } catch (err) {
      store.discardTemp(tmp);
      const why = `${(err as Error).message}${factor > 1 ? ` (timeouts x${factor.toFixed(1)} for host load)` : ''}`;
      this.log(`instant clone: could not make template ${key}: ${why}`);
      return why;
    }
  }

  /**
   * A clone of this template failed to restore (or to answer): keeps the template unless that proves
   * it broken (template-health.ts); a discarded one is made again at once. Returns what was decided.
   */
  restoreFailed(shape: TemplateShape, template: ReadyTemplate, failure: RestoreFailure, hostBusy: boolean, reason: string): 'kept' | 'discarded' {
    const store = this.resolvedStore;
    if (!store) return 'kept';
    const key = shapeKey(shape);
    const verdict = restoreVerdict({
      failure,
      current: store.find(shape)?.id === template.id,
      intact: store.intact(template),
      hostBusy,
    });
    if (!verdict.discard) {
      this.log(`instant clone: template ${key} kept although a restore failed: ${verdict.why} (${reason})`);
      return 'kept';
    }
    store.discard(shape, template.id);
    this.lifecycleOf(key).discarded();
    this.log(`instant clone: template ${key} discarded, ${verdict.why}: ${reason}; rebuilding`);
    void this.prepare(shape);
    return 'discarded';
  }

  /** For `docker info`: "templates ready: 256m-1c", then any shape not ready and why. */
  describe(): string {
    const ready = this.readyShapes();
    const others = [...this.lifecycles].filter(([key, l]) => !ready.includes(key) && !l.isReady).map(([key, l]) => `${key} ${l.describe()}`);
    return [`templates ready: ${ready.length ? ready.join(', ') : 'none yet'}`, ...others].join('; ');
  }

  /** The shapes with a ready template. */
  readyShapes(): string[] {
    return this.resolvedStore?.readyShapes() ?? [];
  }
}
