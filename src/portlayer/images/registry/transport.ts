// One HTTP(S) exchange with a registry, with the VCH's TLS settings and a stall timeout: a registry
// that goes silent (before answering or in the middle of a body) fails the request instead of
// hanging it forever.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { unavailable } from '../errors.ts';

export interface TransportOptions {
  /** Trust these CAs in addition to the system's. */
  caCertificates: string[];
  /** Skip certificate checks (an insecure registry). */
  skipVerify: boolean;
  stallTimeoutMs: number;
}

export interface OutgoingRequest {
  method: string;
  url: URL;
  headers?: OutgoingHttpHeaders;
  /** A Buffer, or a stream (give Content-Length in headers). */
  body?: Buffer | Readable;
}

export class Transport {
  private readonly options: TransportOptions;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  private readonly httpsAgent: HttpsAgent;

  constructor(options: TransportOptions) {
    this.options = options;
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 8,
      rejectUnauthorized: !options.skipVerify,
      ...(options.caCertificates.length > 0 ? { ca: [...rootCertificates, ...options.caCertificates] } : {}),
    });
  }

  send(request: OutgoingRequest): Promise<IncomingMessage> {
    const { url } = request;
    const secure = url.protocol === 'https:';
    const stall = this.options.stallTimeoutMs;
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: request.method,
        headers: { 'User-Agent': 'bonneville', ...request.headers },
        agent: secure ? this.httpsAgent : this.httpAgent,
      }, (res) => {
        // The socket timeout keeps running for the body: a stall mid-blob destroys the response.
        res.on('error', () => {});
        response = res;
        resolve(res);
      });
      req.setTimeout(stall, () => {
        const error = unavailable(`${request.method} ${url.href}: the registry sent nothing for ${Math.round(stall / 1000)}s`);
        response?.destroy(error); // the reader of the body sees why it ended
        req.destroy(error);
      });
      req.on('error', (error) => reject(describeNetworkError(error, request.method, url)));
      const body = request.body;
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (error) => req.destroy(error));
        body.pipe(req);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Network and TLS failures, worded like Docker's so users recognise them. */
function describeNetworkError(error: Error, method: string, url: URL): Error {
  if ((error as { kind?: string }).kind) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const where = `${method} "${url.href}"`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return unavailable(`${where}: tls: failed to verify certificate: x509: ${error.message} (add the registry's CA to certs.d/${url.host}/ca.crt on the VCH, or list it as an insecure registry)`, error);
  }
  if (code === 'EPROTO' || /wrong version number|packet length too long/.test(error.message)) {
    return unavailable(`${where}: http: server gave HTTP response to HTTPS client (list ${url.host} as an insecure registry to use plain HTTP)`, error);
  }
  return unavailable(`${where}: ${code ? `${code} ` : ''}${error.message}`, error);
}

export async function readBody(res: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw unavailable(`the registry sent more than ${limit} bytes where a small document was expected`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
