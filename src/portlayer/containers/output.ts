// A container's output as clients read it: attach (what comes next, until the process exits) and
// logs (history, filtered, optionally followed). The backend records output durably; this module
// only decides where to start and when to stop.
import type { Backend, OutputRecord } from '../backend.ts';
import type { ContainerService } from './service.ts';

export interface LogsOptions {
  follow: boolean;
  /** Unix ns; records before are skipped. */
  sinceNs?: bigint;
  /** Unix ns; records after are skipped. */
  untilNs?: bigint;
  /** Only the last N lines (of both streams together); undefined: all. */
  tail?: number;
  signal?: AbortSignal;
}

export class ContainerOutput {
  private readonly service: ContainerService;
  private readonly backend: Backend;

  constructor(service: ContainerService, backend: Backend) {
    this.service = service;
    this.backend = backend;
  }

  /** Output from now (or from the beginning with `logs`) until the process's next exit. */
  attach(ref: string, options: { logs: boolean; signal?: AbortSignal }): AsyncIterable<OutputRecord> {
    const { record, dir } = this.service.get(ref);
    const from = options.logs ? 0 : this.backend.logPosition(dir);
    const stop = this.stopOnExit(record.id, options.signal);
    return this.backend.readLogs(dir, { from, follow: true, signal: stop });
  }

  async *logs(ref: string, options: LogsOptions): AsyncIterable<OutputRecord> {
    const { record, dir } = this.service.get(ref);
    const follow = options.follow && this.service.isActive(record.id);
    const end = this.backend.logPosition(dir);
    const inWindow = (r: OutputRecord) =>
      (options.sinceNs === undefined || r.timeNs >= options.sinceNs) && (options.untilNs === undefined || r.timeNs <= options.untilNs);
    let from = 0;
    if (options.tail !== undefined) {
      const history: OutputRecord[] = [];
      for await (const r of this.backend.readLogs(dir, { from: 0, follow: false })) if (inWindow(r)) history.push(r);
      yield* lastLines(history, options.tail);
      if (!follow) return;
      from = end;
    }
    const stop = follow ? this.stopOnExit(record.id, options.signal) : options.signal;
    for await (const r of this.backend.readLogs(dir, { from, follow, signal: stop })) {
      if (options.untilNs !== undefined && r.timeNs > options.untilNs) return;
      if (inWindow(r)) yield r;
    }
  }

  /** A signal that aborts when the container's process exits (or the client goes away). */
  private stopOnExit(id: string, client?: AbortSignal): AbortSignal {
    const stop = new AbortController();
    const onExit = (exitedId: string) => {
      if (exitedId === id) done();
    };
    const done = () => {
      this.service.events.off('exit', onExit);
      this.service.events.off('removed', onExit);
      client?.removeEventListener('abort', done);
      stop.abort();
    };
    this.service.events.on('exit', onExit);
    this.service.events.on('removed', onExit);
    client?.addEventListener('abort', done);
    return stop.signal;
  }
}

/** The last `count` lines of the records, keeping each line's stream and time. */
function lastLines(records: OutputRecord[], count: number): OutputRecord[] {
  if (count <= 0) return [];
  const lines: OutputRecord[] = [];
  const partial: Record<string, Buffer[]> = { stdout: [], stderr: [] };
  for (const r of records) {
    let data = r.data;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10)) {
      lines.push({ stream: r.stream, timeNs: r.timeNs, data: Buffer.concat([...partial[r.stream], data.subarray(0, nl + 1)]) });
      partial[r.stream] = [];
      data = data.subarray(nl + 1);
    }
    if (data.length) partial[r.stream].push(data);
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    if (partial[stream].length) lines.push({ stream, timeNs: records[records.length - 1].timeNs, data: Buffer.concat(partial[stream]) });
  }
  return lines.slice(-count);
}
