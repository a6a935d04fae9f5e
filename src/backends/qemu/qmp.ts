// A minimal QMP client (QEMU's JSON monitor) over the VM's abstract unix socket: enough to save a
// template, restore a clone and hot-plug its disks. One command at a time, answers in order.
import type { Socket } from 'node:net';
import { connectUnixSocket } from '../../tether/connect.ts';

export class QmpError extends Error {
  readonly errorClass: string;
  constructor(command: string, errorClass: string, desc: string) {
    super(`QMP ${command}: ${desc}`);
    this.name = 'QmpError';
    this.errorClass = errorClass;
  }
}

type Waiter = { command: string; resolve: (value: unknown) => void; reject: (err: Error) => void };

export class QmpClient {
  private readonly socket: Socket;
  private buffer = '';
  private readonly waiters: Waiter[] = [];
  private greeted: Promise<void>;
  private closed?: Error;

  private constructor(socket: Socket) {
    this.socket = socket;
    let greet!: () => void;
    this.greeted = new Promise((resolve) => { greet = resolve; });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line) this.onMessage(JSON.parse(line) as Record<string, unknown>, greet);
      }
    });
    const fail = (err?: Error) => {
      this.closed = err ?? new Error('QMP connection closed');
      for (const w of this.waiters.splice(0)) w.reject(this.closed);
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  /** Connects (retrying while QEMU is still creating the socket) and leaves capabilities negotiation done. */
  static async connect(name: string, timeoutMs: number, signal?: AbortSignal): Promise<QmpClient> {
    const socket = await connectUnixSocket(name, { abstract: true, timeoutMs, retryMs: 5, signal });
    const client = new QmpClient(socket);
    await client.greeted;
    await client.execute('qmp_capabilities');
    return client;
  }

  private onMessage(message: Record<string, unknown>, greet: () => void): void {
    if ('QMP' in message) return greet();
    if ('event' in message) return; // events are not used: state is polled where needed
    const waiter = this.waiters.shift();
    if (!waiter) return;
    if ('error' in message) {
      const error = message.error as { class: string; desc: string };
      waiter.reject(new QmpError(waiter.command, error.class, error.desc));
    } else {
      waiter.resolve(message.return);
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<T>((resolve, reject) => {
      this.waiters.push({ command, resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  /** Polls query-migrate until the migration (either direction) is over; throws if it failed. */
  async waitForMigration(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
      if (info.status === 'completed') return;
      if (info.status === 'failed' || info.status === 'cancelled') {
        throw new Error(`migration ${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
      }
      if (Date.now() > deadline) throw new Error(`migration still ${info.status ?? 'not started'} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
