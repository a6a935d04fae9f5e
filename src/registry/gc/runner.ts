// Runs garbage collection and records each run. One collection at a time across every process
// sharing the database (a named cross-process lock); a second request is refused, not queued.
// Each run records this process as its owner, so a crash leaves no run "running" for ever.
import type { GcRun, JobTrigger, Metadata } from '../db/metadata.ts';
import type { BlobStore, UploadArea } from '../storage/blob-store.ts';
import { conflict } from '../http/errors.ts';
import { collectGarbage, type GcResult } from './collector.ts';

export interface GcParams { dryRun: boolean; deleteUntagged: boolean; graceMs?: number; trigger?: JobTrigger }

export class GcRunner {
  private readonly deps: { db: Metadata; blobs: BlobStore; uploads: UploadArea };
  private readonly graceMs: number;
  private readonly uploadMaxAgeMs: number;
  private readonly log: (line: string) => void;
  private readonly owner: string;
  private readonly inFlight = new Set<Promise<unknown>>();
  constructor(deps: { db: Metadata; blobs: BlobStore; uploads: UploadArea }, opts: { graceMs: number; uploadMaxAgeMs: number; owner: string }, log: (line: string) => void) {
    this.deps = deps; this.graceMs = opts.graceMs; this.uploadMaxAgeMs = opts.uploadMaxAgeMs; this.owner = opts.owner; this.log = log;
  }

  get db(): Metadata { return this.deps.db; }

  /** Starts a recorded run; resolves with its record once the lock is held, and with `done` for its outcome. */
  start(params: GcParams): Promise<{ run: GcRun; done: Promise<GcResult> }> {
    return new Promise((started, refused) => {
      const whole = this.deps.db.sql.exclusive('garbage-collection', async () => {
        const run = await this.deps.db.startGc(params.dryRun, params.trigger ?? 'MANUAL', this.owner);
        const done = this.execute(run.id, params);
        started({ run, done });
        return done.catch(() => undefined);
      });
      const tracked = whole.then((r) => { if (r === null) refused(conflict('a garbage collection is already running')); }, refused);
      this.inFlight.add(tracked);
      void tracked.finally(() => this.inFlight.delete(tracked));
    });
  }

  /** Runs a collection to its end (waiting for one of this process to finish first). */
  async runNow(params: GcParams): Promise<GcResult> {
    await this.idle();
    const { done } = await this.start(params);
    return done;
  }

  private async execute(id: number, params: GcParams): Promise<GcResult> {
    try {
      const result = await collectGarbage(this.deps, {
        dryRun: params.dryRun, deleteUntagged: params.deleteUntagged, graceMs: params.graceMs ?? this.graceMs,
        uploadMaxAgeMs: Math.max(params.graceMs ?? this.graceMs, this.uploadMaxAgeMs),
      });
      await this.deps.db.finishGc(id, 'succeeded', result);
      this.log(`gc ${id}${params.dryRun ? ' (dry run)' : ''}: ${result.manifestsDeleted} manifests, ${result.blobsDeleted} blobs, ${result.bytesFreed} bytes`);
      return result;
    } catch (e) {
      await this.deps.db.finishGc(id, 'failed', { error: String(e) });
      throw e;
    }
  }

  async idle(): Promise<void> { while (this.inFlight.size > 0) await Promise.all([...this.inFlight]); }
}
