// The engine's HTTP front: one router for requests and upgrades, errors mapped in one place. The same
// handlers serve the unix socket and the mutual-TLS TCP listener.
import { createServer, ServerResponse as HttpServerResponse } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { sendError, messageOf, statusOf } from './errors.ts';
import type { Router } from './router.ts';
import { API_VERSION } from './router.ts';
import { checkBody, checkQuery, hasJsonBody, takesNoBody } from './request-schema.ts';
import { readJsonBodyAhead } from './io.ts';

export interface ServerLog {
  (line: string): void;
}

export interface MutualTls {
  cert: Buffer;
  key: Buffer;
  /** Client certificates must chain to this CA; absent: TLS without client verification (vic-machine's --no-tlsverify). */
  ca?: Buffer;
}

const HTTP_OPTIONS = { keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 };

// How much of a refused request's body is read and thrown away so that the client gets the answer.
const DRAIN_LIMIT = 64 * 1024 * 1024;

function drain(req: IncomingMessage, limit: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let seen = 0;
    const done = () => { req.off('data', onData); resolve(); };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) done();
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}

export function createApiServer(router: Router, log: ServerLog, tls?: MutualTls): Server {
  // allowHalfOpen: the docker CLI half-closes its side of an attach (close_notify under TLS) and still
  // reads the container's output from ours.
  const server = tls
    ? createTlsServer({ ...HTTP_OPTIONS, allowHalfOpen: true, cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.ca !== undefined, rejectUnauthorized: tls.ca !== undefined, minVersion: 'TLSv1.2' })
    : createServer(HTTP_OPTIONS);
  const dispatch = async (req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Duplex; head: Buffer }) => {
    try {
      const method = req.method ?? 'GET';
      const { handler, params, query, version, path } = router.match(method, req.url ?? '/');
      checkQuery(method, path, query);
      // JSON bodies are read and checked here, once for every route; upgraded requests (attach, exec
      // start) carry none that matters: their bytes belong to the stream.
      if (!upgrade && hasJsonBody(method, path)) await readJsonBodyAhead(req, (body) => checkBody(method, path, body));
      // A body sent where the API takes none is read and dropped, so the connection stays usable.
      else if (!upgrade && takesNoBody(method, path)) req.resume();
      await handler({ req, res, params, query, version, upgrade });
    } catch (err) {
      const status = statusOf(err);
      if (status >= 500) log(`${req.method} ${req.url}: ${messageOf(err)}`);
      if (upgrade && !res.headersSent) {
        // The response object is not wired to the socket for upgrades: write the error by hand.
        const body = JSON.stringify({ message: messageOf(err) }) + '\n';
        upgrade.socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        return;
      }
      // An answer given before the body was read (a bad path, a query or a body refused) would make
      // Node close the connection under a client still sending: read the rest first, up to a bound.
      if (!req.complete && !res.headersSent) await drain(req, DRAIN_LIMIT);
      sendError(res, err);
    }
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Server', 'Bonneville');
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    void dispatch(req, res);
  });
  // Bytes that are not HTTP at all: answered in Docker's error shape too, then the connection closes.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ message: `malformed HTTP request: ${err.message}` }) + '\n';
    socket.end(`HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Not wired to the socket: it only gives handlers the usual context shape.
    const res = new HttpServerResponse(req);
    void dispatch(req, res, { socket, head });
  });
  return server;
}
