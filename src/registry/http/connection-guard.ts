// Slow-client limits without a whole-request limit. Node's own requestTimeout cut off layer
// uploads that streamed steadily for more than 300 s; its socket timeouts and headersTimeout did not
// fire on this server's sockets at all (the HTTP parser reads them natively). So one sweep looks at
// every connection's byte counters: a connection with no bytes in either direction for `idleMs`,
// or one that has not finished a request's headers within `headersMs`, is closed.
import type { Server, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Watched { bytes: number; changedAt: number; awaitingHeadersSince: number | null }

export function guardConnections(server: Server, limits: { idleMs: number; headersMs: number }, now: () => number = Date.now): () => void {
  const watched = new Map<Socket, Watched>();
  server.on('connection', (socket: Socket) => {
    watched.set(socket, { bytes: 0, changedAt: now(), awaitingHeadersSince: now() });
    socket.once('close', () => watched.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const w = watched.get(req.socket);
    if (!w) return;
    w.awaitingHeadersSince = null;
    // The next request on a kept-alive connection has its own headers deadline.
    res.once('finish', () => { if (watched.has(req.socket)) w.awaitingHeadersSince = now(); });
  });
  const sweep = () => {
    const t = now();
    for (const [socket, w] of watched) {
      const bytes = socket.bytesRead + socket.bytesWritten;
      if (bytes !== w.bytes) { w.bytes = bytes; w.changedAt = t; }
      const idle = t - w.changedAt >= limits.idleMs;
      const slowHeaders = w.awaitingHeadersSince !== null && t - w.awaitingHeadersSince >= limits.headersMs;
      if (idle || slowHeaders) socket.destroy();
    }
  };
  const timer = setInterval(sweep, Math.max(50, Math.min(limits.idleMs, limits.headersMs) / 4));
  timer.unref();
  return () => clearInterval(timer);
}
