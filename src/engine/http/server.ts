// The engine's HTTP front: one router for requests and upgrades, errors mapped in one place. The same
// handlers serve the unix socket and the mutual-TLS TCP listener.
import { createServer, ServerResponse as HttpServerResponse } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { sendError, messageOf, statusOf } from './errors.ts';
import type { Router } from './router.ts';
import { API_VERSION } from './router.ts';
import { checkBody, checkQuery, hasJsonBody } from './request-schema.ts';
import { readJsonBodyAhead } from './io.ts';

export interface ServerLog {
  (line: string): void;
}

export interface MutualTls {
  cert: Buffer;
  key: Buffer;
  /** Client certificates must chain to this CA. */
  ca: Buffer;
}

const HTTP_OPTIONS = { keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 };

export function createApiServer(router: Router, log: ServerLog, tls?: MutualTls): Server {
  // allowHalfOpen: the docker CLI half-closes its side of an attach (close_notify under TLS) and still
  // reads the container's output from ours.
  const server = tls
    ? createTlsServer({ ...HTTP_OPTIONS, allowHalfOpen: true, cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' })
    : createServer(HTTP_OPTIONS);
  const dispatch = async (req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Duplex; head: Buffer }) => {
    try {
      const method = req.method ?? 'GET';
      const { handler, params, query, version, path } = router.match(method, req.url ?? '/');
      checkQuery(method, path, query);
      // JSON bodies are read and checked here, once for every route; upgraded requests (attach, exec
      // start) carry none that matters: their bytes belong to the stream.
      if (!upgrade && hasJsonBody(method, path)) await readJsonBodyAhead(req, (body) => checkBody(method, path, body));
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
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Not wired to the socket: it only gives handlers the usual context shape.
    const res = new HttpServerResponse(req);
    void dispatch(req, res, { socket, head });
  });
  return server;
}
