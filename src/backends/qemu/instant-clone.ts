// The template lifecycle: one template per VM shape (memory, cpus) that is actually used, made in
// the background — never waited for by a start, which cold-boots meanwhile — and dropped when it
// turns out broken. A shape whose template failed to be made is retried only after a pause, so a
// guest that cannot boot does not keep a core busy.
import { statSync } from 'node:fs';
import { makeTemplate } from './template-maker.ts';
import { shapeKey, templateFingerprint, TemplateStore } from './template-store.ts';
import type { TemplateFiles, TemplateShape } from './template-store.ts';

export interface InstantCloneOptions {
  /** Directory holding the templates (<datastore>/templates). */
  dir: string;
  qemuBinary: string;
  kernel: string;
  initrd: string;
  accel: 'kvm' | 'tcg';
  tscKhz: number;
  /** Longest a template's boot may take. */
  bootTimeoutMs: number;
  /** Diagnostics (template made, failed, discarded). */
  log?: (message: string) => void;
}

const RETRY_AFTER_FAILURE_MS = 5 * 60_000;

export class InstantClone {
  private readonly options: InstantCloneOptions;
  private store!: Promise<TemplateStore>;
  private resolvedStore?: TemplateStore;
  /** Size and mtime of kernel and initramfs when the fingerprint was taken. */
  private inputsStamp = '';
  private readonly making = new Map<string, Promise<boolean>>();
  private readonly failedAt = new Map<string, number>();

  constructor(options: InstantCloneOptions) {
    this.options = options;
    this.openStore();
  }

  /** (Re)computes the guest fingerprint; templates of any other guest are swept away. */
  private openStore(): void {
    this.inputsStamp = this.stampInputs();
    this.resolvedStore = undefined;
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

  /**
   * The ready template for this shape, or undefined — then one is being made in the background
   * (unless that failed recently), and this start cold-boots.
   */
  templateFor(shape: TemplateShape): TemplateFiles | undefined {
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
    const failed = this.failedAt.get(key);
    if (failed !== undefined && Date.now() - failed < RETRY_AFTER_FAILURE_MS) return Promise.resolve(false);
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
    if (store.find(shape)) return true;
    const key = shapeKey(shape);
    const tmp = store.begin(shape);
    const t0 = performance.now();
    try {
      await makeTemplate({ ...this.options, shape, files: tmp, timeoutMs: this.options.bootTimeoutMs });
      store.publish(tmp, shape);
      this.failedAt.delete(key);
      this.log(`instant clone: template ${key} ready in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      return true;
    } catch (err) {
      store.discardTemp(tmp);
      this.failedAt.set(key, Date.now());
      this.log(`instant clone: could not make template ${key}: ${(err as Error).message}`);
      return false;
    }
  }

  /** Drops a template that failed to restore; the next start of this shape makes a new one. */
  discard(shape: TemplateShape, reason: string): void {
    this.resolvedStore?.discard(shape);
    this.log(`instant clone: template ${shapeKey(shape)} discarded: ${reason}`);
  }

  /** For `docker info`: the shapes with a ready template. */
  readyShapes(): string[] {
    return this.resolvedStore?.readyShapes() ?? [];
  }
}
