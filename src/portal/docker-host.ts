// A Docker Engine API client for one host: a unix socket (local VCHs) or TCP with mutual TLS
// (a client certificate). Plain node:http/https requests; hijacked streams for exec.
import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import { HttpError } from './http.ts';

export interface HostEndpoint {
  /** unix:///path or tcp://host:port */
  endpoint: string;
  ca?: string;
  cert?: string;
  key?: string;
}

const API = '/v1.48';

export class DockerHost {
  private readonly target: HostEndpoint;

  constructor(target: HostEndpoint) {
    this.target = target;
    if (!/^(unix:\/\/\/|tcp:\/\/)/.test(target.endpoint)) throw new HttpError(400, `endpoint must be unix:///path or tcp://host:port, got ${target.endpoint}`);
    if (target.endpoint.startsWith('tcp://') && !(target.ca && target.cert && target.key)) {
      throw new HttpError(400, 'a tcp:// endpoint needs the CA certificate, the client certificate and its key (mutual TLS)');
    }
  }

  private open(method: string, path: string, headers: Record<string, string>, onResponse?: (res: IncomingMessage) => void): ClientRequest {
    const { endpoint } = this.target;
    if (endpoint.startsWith('unix://')) {
      return httpRequest({ socketPath: endpoint.slice('unix://'.length), path: API + path, method, headers }, onResponse);
    }
    const u = new URL(endpoint.replace(/^tcp:/, 'https:'));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    // SNI carries names only; an address is checked against the certificate's IP SANs without it.
    return httpsRequest({ host, port: Number(u.port || 2376), path: API + path, method, headers,
      ca: this.target.ca, cert: this.target.cert, key: this.target.key, ...(isIP(host) ? {} : { servername: host }) }, onResponse);
  }

  /** One request; the body read whole. */
  call(method: string, path: string, body?: unknown, timeoutMs = 120_000, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = data ? { 'Content-Type': 'application/json', 'Content-Length': String(data.length), ...extraHeaders } : { ...extraHeaders };
    return new Promise((resolve, reject) => {
      const req = this.open(method, path, headers, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`the host did not answer ${method} ${path} in time`)));
      req.on('error', (err) => reject(new HttpError(502, `host unreachable: ${err.message}`)));
      req.end(data);
    });
  }

  /** JSON from the engine; its error message and status passed on otherwise. */
  async json<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body);
    if (res.status >= 400) {
      let message = `engine answered ${res.status}`;
      try { message = (JSON.parse(res.body.toString('utf8')) as { message: string }).message ?? message; } catch { /* not JSON */ }
      throw new HttpError(res.status, message);
    }
    const text = res.body.toString('utf8');
    return (text ? JSON.parse(text) : null) as T;
  }

  /** A streaming GET (events, logs with follow, stats); the caller consumes and destroys it. */
  stream(path: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.open('GET', path, {}, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let message = `engine answered ${res.statusCode}`;
            try { message = JSON.parse(Buffer.concat(chunks).toString('utf8')).message ?? message; } catch { /* not JSON */ }
            reject(new HttpError(res.statusCode ?? 502, message));
          });
          return;
        }
        resolve(res);
      });
      req.on('error', (err) => reject(new HttpError(502, `host unreachable: ${err.message}`)));
      req.end();
    });
  }

  /** POST that takes over the connection (exec start with a TTY): the raw socket. */
  hijack(path: string, body: unknown): Promise<Duplex> {
    const data = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = this.open('POST', path, { 'Content-Type': 'application/json', 'Content-Length': String(data.length), Connection: 'Upgrade', Upgrade: 'tcp' });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(new HttpError(res.statusCode ?? 502, Buffer.concat(chunks).toString('utf8') || 'the engine did not hijack the connection')));
      });
      req.on('error', (err) => reject(new HttpError(502, `host unreachable: ${err.message}`)));
      req.end(data);
    });
  }
}

/** Splits Docker's multiplexed stream (8-byte frame headers) into its payloads. */
export function demultiplex(onData: (stream: number, data: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 8) {
      const size = buffered.readUInt32BE(4);
      if (buffered.length < 8 + size) break;
      onData(buffered[0], buffered.subarray(8, 8 + size));
      buffered = buffered.subarray(8 + size);
    }
  };
}
