// /api/v2.0/system/gc: run garbage collection (optionally as a dry run) and read its history.
import type { GcRun, Metadata } from '../db/metadata.ts';
import type { BlobStore, UploadArea } from '../storage/blob-store.ts';
import { collectGarbage, type GcResult } from '../gc/collector.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { requireSysadmin } from './guards.ts';
import type { ApiRoute } from './router.ts';

/** Runs one collection at a time in this process and records each run. */
export class GcRunner {
  private readonly deps: { db: Metadata; blobs: BlobStore; uploads: UploadArea };
  private readonly graceMs: number;
  private readonly log: (line: string) => void;
  private running: Promise<unknown> | null = null;
  constructor(deps: { db: Metadata; blobs: BlobStore; uploads: UploadArea }, graceMs: number, log: (line: string) => void) {
    this.deps = deps; this.graceMs = graceMs; this.log = log;
  }

  get db(): Metadata { return this.deps.db; }

  /** Starts a recorded run in the background; returns its record. */
  async start(dryRun: boolean): Promise<GcRun> {
    if (this.running) throw conflict('a garbage collection is already running');
    const run = await this.deps.db.startGc(dryRun);
    this.running = this.execute(run.id, dryRun, this.graceMs).catch(() => undefined).finally(() => { this.running = null; });
    return run;
  }

  async runNow(dryRun: boolean, graceMs: number): Promise<GcResult> {
    while (this.running) await this.running;
    const run = await this.deps.db.startGc(dryRun);
    const p = this.execute(run.id, dryRun, graceMs);
    this.running = p.catch(() => undefined).finally(() => { this.running = null; });
    return p;
  }

  private async execute(id: number, dryRun: boolean, graceMs: number): Promise<GcResult> {
    try {
      const result = await collectGarbage(this.deps, { dryRun, graceMs, uploadMaxAgeMs: Math.max(graceMs, 24 * 3600 * 1000) });
      await this.deps.db.finishGc(id, 'succeeded', result);
      this.log(`gc ${id}${dryRun ? ' (dry run)' : ''}: ${result.blobsDeleted} blobs, ${result.bytesFreed} bytes`);
      return result;
    } catch (e) {
      await this.deps.db.finishGc(id, 'failed', { error: String(e) });
      throw e;
    }
  }

  async idle(): Promise<void> { while (this.running) await this.running; }
}

const status = { running: 'Running', succeeded: 'Success', failed: 'Error' } as const;
const view = (g: GcRun) => ({
  id: g.id, job_name: 'GARBAGE_COLLECTION', job_kind: 'MANUAL', job_status: status[g.status], job_parameters: JSON.stringify({ dry_run: g.dryRun }),
  creation_time: new Date(g.startedAt).toISOString(), update_time: new Date(g.finishedAt ?? g.startedAt).toISOString(), result: g.result,
});

export function gcRoutes(deps: { runner: GcRunner }): ApiRoute[] {
  const { runner } = deps;
  return [
    { method: 'POST', path: '/system/gc/schedule', handler: async (r) => {
      requireSysadmin(r.principal);
      const body = await readJson(r.req, badRequest);
      const type = body.schedule?.type ?? 'Manual';
      if (type !== 'Manual') throw badRequest('only Manual schedules are supported');
      const run = await runner.start(body.parameters?.dry_run === true);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/system/gc/${run.id}` });
    } },
    { method: 'GET', path: '/system/gc', handler: async (r) => {
      requireSysadmin(r.principal);
      sendJson(r.res, 200, (await runner.db.listGcRuns()).map(view));
    } },
    { method: 'GET', path: '/system/gc/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      const run = await runner.db.gcRun(Number(r.params.id));
      if (!run) throw notFound(`gc run ${r.params.id}`);
      sendJson(r.res, 200, view(run));
    } },
  ];
}
