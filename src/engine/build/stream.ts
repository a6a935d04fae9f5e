// The classic builder's JSON message stream, as dockerd writes it: {"stream": text} lines, the image
// id as {"aux":{"ID":…}}, and a failure as {"errorDetail":{…},"error":…} (the CLI prints the error and
// exits non-zero). With `q` (quiet) only the RUN output is held back and the final id goes out.
import type { ServerResponse } from 'node:http';

export class BuildStream {
  private readonly res: ServerResponse;
  private readonly quiet: boolean;
  private started = false;

  constructor(res: ServerResponse, quiet: boolean) {
    this.res = res;
    this.quiet = quiet;
  }

  private send(message: unknown): void {
    if (!this.started) {
      this.res.writeHead(200, { 'Content-Type': 'application/json' });
      this.started = true;
    }
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(`${JSON.stringify(message)}\n`);
  }

  /** Progress text (steps, " ---> id", RUN output): left out when quiet, as dockerd does. */
  text(text: string): void {
    if (!this.quiet && text) this.send({ stream: text });
  }

  /** Text that quiet mode still sends (the final image id). */
  always(text: string): void {
    this.send({ stream: text });
  }

  /** A pull's progress line (FROM an image the VCH lacks), as dockerd relays it; left out when quiet. */
  progress(message: object): void {
    if (!this.quiet) this.send(message);
  }

  aux(id: string): void {
    this.send({ aux: { ID: id } });
  }

  error(message: string, code?: number): void {
    this.send({ errorDetail: code === undefined ? { message } : { code, message }, error: message });
  }

  end(): void {
    if (!this.started) this.res.writeHead(200, { 'Content-Type': 'application/json' });
    this.res.end();
  }

  /** Whether nothing has been sent yet (a failure can still be an HTTP error status). */
  get pristine(): boolean {
    return !this.started;
  }
}
