// A container's output as the fake backend records it: in memory, per container directory, with the
// starts and exits between the output (what the qemu backend's log port file holds, minus the file).
import { EventEmitter } from 'node:events';
import type { ExitStatus, LogReadOptions, OutputRecord } from '../../portlayer/backend.ts';

type Entry = { kind: 'output'; record: OutputRecord } | { kind: 'started' } | { kind: 'exit'; status: ExitStatus };

export class FakeOutputLog {
  private readonly entries: Entry[] = [];
  private readonly grew = new EventEmitter();

  constructor() {
    this.grew.setMaxListeners(0);
  }

  get position(): number {
    return this.entries.length;
  }

  started(): void {
    this.append({ kind: 'started' });
  }

  output(stream: 'stdout' | 'stderr', data: Buffer): void {
    this.append({ kind: 'output', record: { stream, data, timeNs: BigInt(Date.now()) * 1_000_000n } });
  }

  exited(status: ExitStatus): void {
    this.append({ kind: 'exit', status });
  }

  lastExit(): ExitStatus | undefined {
    let status: ExitStatus | undefined;
    for (const e of this.entries) {
      if (e.kind === 'started') status = undefined;
      else if (e.kind === 'exit') status = e.status;
    }
    return status;
  }

  /** Following stops when the signal aborts, after one last read: nothing already written is missed. */
  async *read(options: LogReadOptions): AsyncIterable<OutputRecord> {
    let at = options.from;
    for (;;) {
      while (at < this.entries.length) {
        const e = this.entries[at++];
        if (e.kind === 'output') yield e.record;
      }
      if (!options.follow || options.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.grew.off('entry', done);
          options.signal?.removeEventListener('abort', done);
          resolve();
        };
        this.grew.on('entry', done);
        options.signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  private append(entry: Entry): void {
    this.entries.push(entry);
    this.grew.emit('entry');
  }
}
