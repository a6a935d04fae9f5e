// The VCH's end of its container VMs' serial ports: ESXi connects out to the port's serviceURI
// (`tcp://<vch>:<port>`, direction client) when a VM powers on, and again after the connection broke
// (an engine restart). Nothing on a new connection says which VM it is until the tether speaks: the
// engine asks (HELLO_REQ, again every second until answered, as the guest may not have its port open
// yet) and the tether's HELLO names the VM by its BIOS UUID — the container id's first 32 hex digits
// (container-vm.ts sets it). A connection that does not identify itself in time is closed.
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { SharedLine } from '../../tether/shared-line.ts';
import { TetherClient } from '../../tether/client.ts';
import type { TetherHello } from '../../tether/config.ts';

const ASK_EVERY_MS = 1000;
/** A guest that has not said who it is by then is not a tether (cold boots under TCG take ~15 s). */
const IDENTIFY_WITHIN_MS = 10 * 60_000;

/** One container VM's line, identified. */
export interface TetherChannel {
  /** 32 hex digits: the container id's first 32. */
  key: string;
  line: SharedLine;
  client: TetherClient;
  /** The HELLO that identified it. */
  hello: TetherHello;
}

/** The key a container's VM is known by on the line. */
export function channelKey(containerId: string): string {
  return containerId.slice(0, 32).toLowerCase();
}

export class TetherListener extends EventEmitter<{ channel: [TetherChannel] }> {
  readonly server: net.Server;
  /** The latest identified line of each VM. */
  private readonly current = new Map<string, TetherChannel>();
  private readonly log: (line: string) => void;

  private constructor(server: net.Server, log: (line: string) => void) {
    super();
    this.server = server;
    this.log = log;
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on the URI's host and port (`tcp://HOST:PORT`). */
  static async listen(uri: string, log: (line: string) => void): Promise<TetherListener> {
    const u = new URL(uri);
    if (u.protocol !== 'tcp:' || !u.port) throw new Error(`tether URI ${uri}: expected tcp://HOST:PORT`);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TetherListener(server, log);
  }

  /** The VM's line now, if it has one. */
  channel(key: string): TetherChannel | undefined {
    const c = this.current.get(key);
    return c && !c.line.closed ? c : undefined;
  }

  /** Closes the VM's line, if it has one: a new VM of the container is about to power on, so it is stale. */
  drop(key: string): void {
    this.current.get(key)?.line.close();
    this.current.delete(key);
  }

  /** The VM's line now, or the next it gets; rejects after timeoutMs or when the signal aborts. */
  next(key: string, timeoutMs: number, signal?: AbortSignal): Promise<TetherChannel> {
    const now = this.channel(key);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.off('channel', onChannel);
        signal?.removeEventListener('abort', onAbort);
      };
      const onChannel = (c: TetherChannel) => {
        if (c.key !== key) return;
        done();
        resolve(c);
      };
      const onAbort = () => {
        done();
        reject(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no tether connected from the container VM within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.on('channel', onChannel);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    for (const c of this.current.values()) c.line.close();
    this.current.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const line = new SharedLine(socket);
    let identified = false;
    const ask = setInterval(() => line.askHello(), ASK_EVERY_MS);
    const giveUp = setTimeout(() => line.close(), IDENTIFY_WITHIN_MS);
    const stop = () => {
      clearInterval(ask);
      clearTimeout(giveUp);
    };
    socket.once('close', stop);
    line.onHello((hello) => {
      if (identified) return;
      stop();
      const key = typeof hello.id === 'string' && /^[0-9a-f]{32}$/.test(hello.id) ? hello.id : undefined;
      if (!key) {
        this.log(`tether: a connection from ${socket.remoteAddress} sent a HELLO without a VM identity; closed`);
        line.close();
        return;
      }
      identified = true;
      const channel: TetherChannel = { key, line, client: new TetherClient(line.control), hello };
      this.current.get(key)?.line.close(); // the VM reconnected: the old line is dead
      this.current.set(key, channel);
      socket.once('close', () => {
        if (this.current.get(key) === channel) this.current.delete(key);
      });
      this.emit('channel', channel);
    });
    line.askHello();
  }
}
