// Docker's JSON-lines progress stream (pull, push, import): the response starts only with the first
// message, so a failure before any progress still gets a proper HTTP error status; after that,
// errors travel in the stream as {"errorDetail":…,"error":…}, which the CLI prints and fails on.
import type { ServerResponse } from 'node:http';
import { messageOf } from '../http/errors.ts';
import type { ProgressMessage } from '../../portlayer/images/progress.ts';

export class ProgressStream {
  private readonly res: ServerResponse;
  private started = false;

  constructor(res: ServerResponse) {
    this.res = res;
  }

  get hasStarted(): boolean {
    return this.started;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'Content-Type': 'application/json' });
  }

  send = (message: ProgressMessage | Record<string, unknown>): void => {
    this.start();
    if (!this.res.destroyed) this.res.write(`${JSON.stringify(message)}\r\n`);
  };

  /** Runs `work`; errors before the first message are thrown (HTTP status), later ones go in the stream. */
  async run(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (!this.started) throw err;
      this.send({ errorDetail: { message: messageOf(err) }, error: messageOf(err) });
    }
    this.start();
    this.res.end();
  }
}
