// A client for one registry (OCI distribution API), for one pull or push: finds whether the registry
// speaks HTTPS or (if the admin allows) HTTP, answers its auth challenges, and turns its error
// documents into messages Docker users know ("manifest unknown: manifest unknown").

import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { ImageStoreError, unauthorized } from '../errors.ts';
import { basicAuthorization, fetchToken, hasCredentials, parseChallenge, type Challenge, type RegistryCredentials } from './auth.ts';
import { caCertificatesFor, checkAllowed, isInsecure, registryHost, type RegistryAccess } from './access.ts';
import { readBody, Transport } from './transport.ts';

export interface RegistryClientOptions {
  /** The reference's domain: "127.0.0.1:5000", "docker.io". */
  domain: string;
  credentials: RegistryCredentials;
  access: RegistryAccess;
  /** Token scopes to ask for: "repository:a/b:pull", "repository:a/b:pull,push". */
  scopes: string[];
}

export interface RegistryRequest {
  method: string;
  /** Path below the registry root ("/v2/…") or an absolute URL (upload locations). */
  path: string;
  headers?: OutgoingHttpHeaders;
  /** Replayable body only: requests may be retried after an auth challenge. */
  body?: Buffer;
  /** A streamed body: sent once, never retried. */
  stream?: Readable;
}

/** An error status from the registry, with its error document turned into text. */
export class RegistryResponseError extends ImageStoreError {
  readonly status: number;
  readonly codes: string[];

  constructor(status: number, codes: string[], message: string) {
    super(status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'NotFound' : status >= 500 ? 'Unavailable' : 'InvalidParameter', message);
    this.status = status;
    this.codes = codes;
  }
}

const MAX_REDIRECTS = 5;

export class RegistryClient {
  readonly domain: string;
  private readonly options: RegistryClientOptions;
  private transport?: Transport;
  private base?: URL;
  private challenge?: Challenge;
  private authorization?: string;

  constructor(options: RegistryClientOptions) {
    checkAllowed(options.access, options.domain);
    this.options = options;
    this.domain = options.domain;
  }

  /** The registry's root URL once contacted: "https://host:port". */
  get endpoint(): string {
    return this.base?.origin ?? `https://${registryHost(this.domain)}`;
  }

  close(): void {
    this.transport?.close();
  }

  /** GET /v2/: picks the scheme, learns the auth challenge. */
  async connect(): Promise<void> {
    if (this.base) return;
    const host = registryHost(this.domain);
    const insecure = isInsecure(this.options.access, this.domain);
    const transport = new Transport({
      caCertificates: caCertificatesFor(this.options.access, this.domain),
      skipVerify: insecure,
      stallTimeoutMs: this.options.access.stallTimeoutMs,
    });
    this.transport = transport;
    const schemes = insecure ? ['https', 'http'] : ['https'];
    let lastError: unknown;
    for (const scheme of schemes) {
      const base = new URL(`${scheme}://${host}`);
      try {
        const res = await transport.send({ method: 'GET', url: new URL('/v2/', base) });
        await readBody(res, 1024 * 1024);
        this.base = base;
        if (res.statusCode === 401) this.challenge = parseChallenge(res.headers['www-authenticate']);
        return;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** Checks the credentials the way `docker login` needs: a challenge answered, /v2/ then says 200. */
  async login(): Promise<void> {
    await this.connect();
    if (!this.challenge) return;
    await this.authenticate(this.challenge);
    const res = await this.transport!.send({ method: 'GET', url: new URL('/v2/', this.base), headers: this.authHeaders() });
    await readBody(res, 1024 * 1024);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw unauthorized(`login attempt to ${this.base!.origin}/v2/ failed with status: ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
    }
  }

  /** Sends a request; answers one auth challenge and follows redirects. Error statuses throw. */
  async request(request: RegistryRequest, okStatuses: number[] = [200]): Promise<IncomingMessage> {
    await this.connect();
    let res = await this.sendOnce(request);
    if (res.statusCode === 401 && request.stream === undefined) {
      const challenge = parseChallenge(res.headers['www-authenticate']) ?? this.challenge;
      await readBody(res, 1024 * 1024).catch(() => {});
      if (!challenge) throw unauthorized('unauthorized: authentication required');
      await this.authenticate(challenge);
      res = await this.sendOnce(request);
    }
    for (let hops = 0; isRedirect(res.statusCode) && hops < MAX_REDIRECTS; hops++) {
      const location = res.headers.location;
      res.resume();
      if (!location) break;
      // Blob storage elsewhere (S3, a CDN) gets no registry credentials.
      res = await this.transport!.send({ method: request.method, url: new URL(location, this.base), headers: request.headers });
    }
    if (!okStatuses.includes(res.statusCode ?? 0)) throw await responseError(res);
    return res;
  }

  private async sendOnce(request: RegistryRequest): Promise<IncomingMessage> {
    const url = /^https?:\/\//.test(request.path) ? new URL(request.path) : new URL(request.path, this.base);
    return this.transport!.send({
      method: request.method,
      url,
      headers: { ...request.headers, ...this.authHeaders() },
      body: request.body ?? request.stream,
    });
  }

  private authHeaders(): OutgoingHttpHeaders {
    return this.authorization ? { Authorization: this.authorization } : {};
  }

  private async authenticate(challenge: Challenge): Promise<void> {
    const credentials = this.options.credentials;
    if (challenge.scheme === 'basic') {
      const basic = basicAuthorization(credentials);
      if (!basic) throw unauthorized('unauthorized: authentication required (no basic auth credentials: run docker login)');
      this.authorization = basic;
      return;
    }
    const token = await fetchToken(this.transport!, challenge, credentials, this.options.scopes);
    this.authorization = `Bearer ${token}`;
  }

  get hasCredentials(): boolean {
    return hasCredentials(this.options.credentials);
  }
}

function isRedirect(status: number | undefined): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** "manifest unknown: manifest unknown" from the registry's `{"errors":[{code,message}]}`. */
async function responseError(res: IncomingMessage): Promise<RegistryResponseError> {
  const status = res.statusCode ?? 0;
  let text = '';
  try {
    text = (await readBody(res, 1024 * 1024)).toString('utf8');
  } catch {
    // the body is only decoration
  }
  const codes: string[] = [];
  const parts: string[] = [];
  try {
    const document = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    for (const error of document.errors ?? []) {
      if (error.code) codes.push(error.code);
      parts.push(`${(error.code ?? 'error').toLowerCase().replace(/_/g, ' ')}: ${error.message ?? ''}`.trim());
    }
  } catch {
    // not JSON
  }
  if (parts.length === 0) {
    parts.push(status === 401 ? 'unauthorized: authentication required' : status === 404 ? 'not found' : `registry answered ${status} ${res.statusMessage ?? ''}`.trim());
  }
  return new RegistryResponseError(status, codes, parts.join('; '));
}
