// Calls to the registry's management and distribution APIs with one user's credentials, so the
// registry's own RBAC decides what that user may see and do.
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { HttpError } from './http.ts';

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface Credentials { username: string; password: string }

export class RegistryClient {
  readonly url: URL;
  private readonly ca: Buffer | undefined;

  constructor(url: string, ca: Buffer | undefined) {
    this.url = new URL(url);
    this.ca = ca;
  }

  /** The host[:port] the docker CLI names images by. */
  get host(): string {
    return this.url.host;
  }

  call(method: string, path: string, creds: Credentials | null, body?: Buffer | string, contentType?: string): Promise<RegistryResponse> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (creds) headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const target = new URL(path, this.url);
    const send = this.url.protocol === 'https:' ? request : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(target, { method, headers, ca: this.ca, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('it did not answer in time')));
      req.on('error', (err) => reject(new HttpError(502, `registry unreachable: ${err.message}`)));
      req.end(body);
    });
  }

  /** JSON from the management API; throws the registry's message with its status otherwise. */
  async json<T>(method: string, path: string, creds: Credentials | null, body?: unknown): Promise<T> {
    const res = await this.call(method, `/api/v2.0${path}`, creds, body === undefined ? undefined : JSON.stringify(body));
    if (res.status >= 400) throw new RegistryCallError(res.status, registryMessage(res));
    return (res.body.length ? JSON.parse(res.body.toString('utf8')) : null) as T;
  }
}

/** The registry's refusal, passed on with its status and message. */
export class RegistryCallError extends HttpError {}

/** The registry answers errors as Harbor does, `{"errors":[{"code","message"}]}`. */
export function registryMessage(res: RegistryResponse): string {
  try {
    const body = JSON.parse(res.body.toString('utf8')) as { errors?: { message?: string }[]; message?: string };
    return body.errors?.[0]?.message ?? body.message ?? `registry answered ${res.status}`;
  } catch {
    return `registry answered ${res.status}`;
  }
}
