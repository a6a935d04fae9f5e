// Attach and exec take over the connection. With `Upgrade: tcp` the client expects "101 UPGRADED"
// and then raw bytes both ways; older clients get a 200 and the same bytes on the open response.
import { PassThrough } from 'node:stream';
import type { Duplex, Readable } from 'node:stream';
import type { RequestContext } from './router.ts';

export interface HijackedStream {
  /** Bytes from the client (stdin). Ends when the client half-closes. */
  input: Readable;
  write(data: Buffer): void;
  end(): void;
  /** Fires when the client goes away, so the producer can stop. */
  readonly closed: AbortSignal;
}

export function hijack(ctx: RequestContext, contentType: string): HijackedStream {
  const closed = new AbortController();
  let socket: Duplex;
  const input = new PassThrough();
  if (ctx.upgrade) {
    socket = ctx.upgrade.socket;
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    // Some clients (dockerode) send their options as a request body before the stream; dockerd drops
    // those bytes when it takes over the connection, and so do we.
    let skip = Number(ctx.req.headers['content-length'] ?? 0) || 0;
    const feed = (chunk: Buffer) => {
      const dropped = Math.min(skip, chunk.length);
      skip -= dropped;
      if (chunk.length > dropped) input.write(chunk.subarray(dropped));
    };
    feed(ctx.upgrade.head);
    socket.on('data', feed);
    socket.on('end', () => input.end());
  } else {
    socket = ctx.req.socket;
    ctx.res.writeHead(200, { 'Content-Type': contentType });
    ctx.res.flushHeaders();
    ctx.req.pipe(input);
  }
  const raw = socket as Duplex & { setNoDelay?: (on: boolean) => void; setTimeout?: (ms: number) => void };
  raw.setNoDelay?.(true);
  raw.setTimeout?.(0);
  socket.on('close', () => closed.abort());
  socket.on('error', () => closed.abort());
  return {
    input,
    write: (data) => {
      if (!socket.destroyed && socket.writable) {
        if (ctx.upgrade) socket.write(data);
        else ctx.res.write(data);
      }
    },
    end: () => {
      if (ctx.upgrade) socket.end();
      else ctx.res.end();
    },
    closed: closed.signal,
  };
}
