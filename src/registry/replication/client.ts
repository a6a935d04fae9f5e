// A client of the distribution API, used by replication against remote registries and against
// this registry itself. Authentication follows the server's challenge: Bearer (fetch a token
// from the realm, with Basic credentials when configured, one per repository scope) or Basic.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { digestOf } from '../distribution/digest.ts';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../distribution/media-types.ts';
import { discard, parseChallenge, readAll, send } from './http.ts';

export interface ClientOptions {
  url: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  /** Supplies the Authorization header itself (this registry calling itself with a minted token). */
  authorize?: (repository: string) => string;
}

export class ReplicationError extends Error {}

const acceptManifests = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');

export class DistributionClient {
  private readonly base: URL;
  private readonly opts: ClientOptions;
  /** Authorization header per scope key (repository name, or '' for the catalog). */
  private readonly auth = new Map<string, string>();

  constructor(opts: ClientOptions) { this.opts = opts; this.base = new URL(opts.url.replace(/\/+$/, '') + '/'); }

  private async call(method: string, path: string, scopeKey: string, actions: string, extra: { headers?: Record<string, string>; body?: Buffer | Readable } = {}): Promise<IncomingMessage> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    const headers = (): Record<string, string> => {
      const h = { ...(extra.headers ?? {}) };
      const a = this.opts.authorize ? this.opts.authorize(scopeKey) : this.auth.get(scopeKey);
      if (a) h.Authorization = a;
      return h;
    };
    const res = await send({ method, url, headers: headers(), body: extra.body, insecure: this.opts.insecure });
    if (res.statusCode !== 401 || this.opts.authorize || (extra.body && !Buffer.isBuffer(extra.body))) return res;
    discard(res);
    await this.login(res.headers['www-authenticate'], scopeKey, actions);
    return send({ method, url, headers: headers(), body: extra.body, insecure: this.opts.insecure });
  }

  private basic(): string | null {
    const { username, password } = this.opts;
    return username ? `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}` : null;
  }

  private async login(header: string | undefined, scopeKey: string, actions: string): Promise<void> {
    const challenge = parseChallenge(header);
    if (challenge?.scheme === 'basic') {
      const b = this.basic();
      if (!b) throw new ReplicationError(`${this.base.host} wants credentials`);
      this.auth.set(scopeKey, b);
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) throw new ReplicationError(`${this.base.host} answered 401 without a usable challenge`);
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', scopeKey ? `repository:${scopeKey}:${actions}` : 'registry:catalog:*');
    const b = this.basic();
    const res = await send({ method: 'GET', url: realm, headers: b ? { Authorization: b } : {}, insecure: this.opts.insecure });
    const body = await readAll(res, 1 << 20);
    if (res.statusCode !== 200) throw new ReplicationError(`token request to ${realm.host} failed with ${res.statusCode}`);
    const { token, access_token: accessToken } = JSON.parse(body.toString()) as { token?: string; access_token?: string };
    if (!token && !accessToken) throw new ReplicationError(`no token from ${realm.host}`);
    this.auth.set(scopeKey, `Bearer ${token ?? accessToken}`);
  }

  private async expect(res: IncomingMessage, ok: number[], what: string): Promise<IncomingMessage> {
    if (ok.includes(res.statusCode ?? 0)) return res;
    const text = (await readAll(res, 64 * 1024).catch(() => Buffer.alloc(0))).toString().slice(0, 300);
    throw new ReplicationError(`${what}: ${this.base.host} answered ${res.statusCode} ${text}`);
  }

  /** Every repository name (paginated `_catalog`). */
  async catalog(): Promise<string[]> {
    const out: string[] = [];
    let path: string | null = '/v2/_catalog?n=1000';
    while (path) {
      const res = await this.expect(await this.call('GET', path, '', ''), [200], 'catalog');
      out.push(...((JSON.parse((await readAll(res)).toString()) as { repositories?: string[] }).repositories ?? []));
      const next = /<([^>]+)>;\s*rel="next"/.exec(String(res.headers.link ?? ''));
      path = next ? next[1] : null;
    }
    return out;
  }

  async tags(repo: string): Promise<string[]> {
    const res = await this.expect(await this.call('GET', `/v2/${repo}/tags/list`, repo, 'pull'), [200], `tags of ${repo}`);
    return (JSON.parse((await readAll(res)).toString()) as { tags?: string[] | null }).tags ?? [];
  }

  async getManifest(repo: string, reference: string): Promise<{ body: Buffer; mediaType: string; digest: string }> {
    const res = await this.expect(await this.call('GET', `/v2/${repo}/manifests/${reference}`, repo, 'pull', { headers: { Accept: acceptManifests } }),
      [200], `manifest ${repo}:${reference}`);
    const body = await readAll(res);
    const digest = digestOf(body);
    if (reference.includes(':') && reference !== digest) throw new ReplicationError(`manifest ${repo}@${reference} has digest ${digest}`);
    return { body, mediaType: String(res.headers['content-type'] ?? '').split(';')[0], digest };
  }

  /** The digest a tag points at, or null when it does not exist. */
  async manifestDigest(repo: string, reference: string): Promise<string | null> {
    const res = await this.call('HEAD', `/v2/${repo}/manifests/${reference}`, repo, 'pull,push', { headers: { Accept: acceptManifests } });
    discard(res);
    if (res.statusCode === 404) return null;
    await this.expect(res, [200], `manifest ${repo}:${reference}`);
    return String(res.headers['docker-content-digest'] ?? '') || null;
  }

  async putManifest(repo: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.expect(await this.call('PUT', `/v2/${repo}/manifests/${reference}`, repo, 'pull,push', { headers: { 'Content-Type': mediaType }, body }),
      [201], `push manifest ${repo}:${reference}`);
    discard(res);
    return String(res.headers['docker-content-digest'] ?? '');
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.call('HEAD', `/v2/${repo}/blobs/${digest}`, repo, 'pull,push');
    discard(res);
    if (res.statusCode === 404) return false;
    await this.expect(res, [200], `blob ${repo}@${digest}`);
    return true;
  }

  async blob(repo: string, digest: string): Promise<IncomingMessage> {
    return this.expect(await this.call('GET', `/v2/${repo}/blobs/${digest}`, repo, 'pull'), [200], `blob ${repo}@${digest}`);
  }

  /** Streams a blob in: POST for a session (which also settles auth), then one PUT with the bytes. */
  async pushBlob(repo: string, digest: string, size: number, body: Readable): Promise<void> {
    const start = await this.expect(await this.call('POST', `/v2/${repo}/blobs/uploads/`, repo, 'pull,push'), [202], `start upload to ${repo}`);
    discard(start);
    const location = new URL(String(start.headers.location), new URL(`/v2/${repo}/blobs/uploads/`, this.base));
    location.searchParams.set('digest', digest);
    const res = await this.expect(await this.call('PUT', location.pathname + location.search, repo, 'pull,push',
      { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) }, body }), [201], `upload ${digest} to ${repo}`);
    discard(res);
  }
}
