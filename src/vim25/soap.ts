// SOAP 1.1 over HTTPS (node:https) with thumbprint pinning: vCenter and ESX use self-signed
// certificates, so the chain is not checked; instead the peer certificate's SHA-1 or SHA-256
// fingerprint must equal the one the caller pinned, checked before any byte of a request (session
// cookie, password) is written on the connection.
import https from 'node:https';
import tls from 'node:tls';
import net from 'node:net';
import type { RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { decodeDocument, encodeRequest, child, type XmlElement } from './xml.ts';
import { faultFromSoap } from './faults.ts';
import type { ManagedObjectReference } from './types.ts';

export class ThumbprintMismatchError extends Error {
  readonly expected: string;
  readonly actual: { sha1: string; sha256: string };
  constructor(host: string, expected: string, actual: { sha1: string; sha256: string }) {
    super(`vSphere server ${host} presented certificate with thumbprint ${actual.sha256} (SHA-1 ${actual.sha1}), not the pinned ${expected}; refusing to connect`);
    this.name = 'ThumbprintMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** Normalises a thumbprint to upper-case hex pairs separated by colons. */
export function normalizeThumbprint(t: string): string {
  const hex = t.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  if (hex.length !== 40 && hex.length !== 64) throw new Error(`vim25: thumbprint must be a SHA-1 or SHA-256 fingerprint, got ${JSON.stringify(t)}`);
  return hex.match(/../g)!.join(':');
}

function hostPort(url: URL): { host: string; port: number } {
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) };
}

/** Reads a server's certificate thumbprints without trusting it: for trust on first use. */
export function fetchThumbprint(url: string | URL, timeoutMs = 10_000): Promise<{ sha1: string; sha256: string }> {
  const u = new URL(url);
  const { host, port } = hostPort(u);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`vim25: TLS handshake with ${u.host} timed out`)));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      if (!cert?.fingerprint) return reject(new Error(`vim25: ${u.host} presented no certificate`));
      resolve({ sha1: cert.fingerprint, sha256: cert.fingerprint256 });
    });
    socket.once('error', reject);
  });
}

/** An https.Agent whose connections are handed out only after the thumbprint check passed. */
class PinnedAgent extends https.Agent {
  readonly pinned: string;
  constructor(pinned: string) {
    super({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false });
    this.pinned = normalizeThumbprint(pinned);
  }
  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | undefined {
    const host = options.hostname ?? options.host ?? 'localhost';
    const socket = tls.connect({ host, port: Number(options.port), servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false });
    let handed = false;
    socket.once('secureConnect', () => {
      handed = true;
      const cert = socket.getPeerCertificate();
      const actual = { sha1: cert?.fingerprint ?? '', sha256: cert?.fingerprint256 ?? '' };
      if (actual.sha1 !== this.pinned && actual.sha256 !== this.pinned) {
        const err = new ThumbprintMismatchError(`${options.host}:${options.port}`, this.pinned, actual);
        socket.destroy();
        callback?.(err, socket);
        return;
      }
      callback?.(null, socket);
    });
    socket.once('error', (err) => {
      if (!handed) callback?.(err, socket);
    });
    return undefined;
  }
}

export interface TransportOptions {
  /** The SDK endpoint, e.g. https://vc.example/sdk */
  url: string;
  /** Pinned certificate thumbprint (SHA-1 or SHA-256, any separators). */
  thumbprint: string;
  /** Per-call timeout (ms); WaitForUpdatesEx callers pass a longer one. */
  timeoutMs?: number;
}

export interface HttpResult {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** One SOAP endpoint with its session cookie. */
export class SoapTransport {
  readonly url: URL;
  readonly agent: PinnedAgent;
  readonly timeoutMs: number;
  /** `urn:vim25/<apiVersion>`, set once the server's about info is known. */
  soapAction = 'urn:vim25/6.5';
  cookie: string | undefined;

  constructor(options: TransportOptions) {
    this.url = new URL(options.url);
    if (this.url.protocol !== 'https:') throw new Error(`vim25: ${options.url} is not an https URL`);
    this.agent = new PinnedAgent(options.thumbprint);
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** One raw HTTPS exchange on the pinned agent, with the session cookie. */
  request(method: string, path: string, body?: Buffer | string | NodeJS.ReadableStream, headers: Record<string, string> = {}, timeoutMs = this.timeoutMs): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          protocol: 'https:',
          host: this.url.hostname,
          port: Number(this.url.port || 443),
          method,
          path,
          agent: this.agent,
          headers: { ...(this.cookie ? { Cookie: this.cookie } : {}), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const setCookie = res.headers['set-cookie'];
            const session = setCookie?.map((c) => c.split(';')[0]).find((c) => c.startsWith('vmware_soap_session='));
            if (session) this.cookie = session;
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`vim25: ${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      if (body === undefined) req.end();
      else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else (body as NodeJS.ReadableStream).pipe(req);
    });
  }

  /** Invokes a vim method on a managed object; returns the `<returnval>` element (undefined for void). */
  async invoke(method: string, self: ManagedObjectReference, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<XmlElement | undefined> {
    const xml = encodeRequest(method, self, args);
    const res = await this.request('POST', this.url.pathname, xml, { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: this.soapAction }, timeoutMs);
    const text = res.body.toString('utf8');
    let doc: XmlElement;
    try {
      doc = decodeDocument(text);
    } catch (err) {
      throw new Error(`vim25: ${method}: HTTP ${res.status}, unparsable response: ${(err as Error).message}`);
    }
    const body = child(doc, 'Body');
    const fault = child(body, 'Fault');
    if (fault) throw faultFromSoap(fault);
    if (res.status !== 200) throw new Error(`vim25: ${method}: HTTP ${res.status}`);
    const response = body?.children[0];
    if (!response) throw new Error(`vim25: ${method}: empty SOAP body`);
    return child(response, 'returnval');
  }

  /** All `<returnval>` elements (methods returning arrays repeat it). */
  async invokeAll(method: string, self: ManagedObjectReference, args: Record<string, unknown> = {}): Promise<XmlElement[]> {
    const xml = encodeRequest(method, self, args);
    const res = await this.request('POST', this.url.pathname, xml, { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: this.soapAction });
    const doc = decodeDocument(res.body.toString('utf8'));
    const body = child(doc, 'Body');
    const fault = child(body, 'Fault');
    if (fault) throw faultFromSoap(fault);
    if (res.status !== 200) throw new Error(`vim25: ${method}: HTTP ${res.status}`);
    return (body?.children[0]?.children ?? []).filter((c) => c.name === 'returnval');
  }

  close(): void {
    this.agent.destroy();
  }
}
