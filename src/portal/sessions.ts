// Who is calling the portal. One login for portal and registry: credentials are checked by asking the
// registry (GET /api/v2.0/users/current); the session keeps them server-side (never in the browser)
// to call the registry on the user's behalf, so the registry's RBAC applies. Sessions live in the
// portal's store (the token's hash, an expiry), so they outlive a restart; logging out deletes one.
import { randomBytes, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RegistryClient, Credentials } from './registry-client.ts';
import type { PortalStore } from './store.ts';
import { HttpError } from './http.ts';

export interface Principal extends Credentials {
  sysadmin: boolean;
  userId: number;
}

interface Session { principal: Principal; expires: number }

export const COOKIE = 'bv_portal';
const TTL_MS = 8 * 3600_000;
const BASIC_CACHE_MS = 30_000;
/** How long a session trusts what the registry said at the last check (the user may be deleted, demoted, or change password). */
const RECHECK_MS = 60_000;

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export class Sessions {
  private readonly registry: RegistryClient;
  private readonly store: PortalStore;
  // Basic-auth callers (scripts) are checked against the registry at most every 30s per credential.
  private readonly basicCache = new Map<string, Session>();

  constructor(registry: RegistryClient, store: PortalStore) {
    this.registry = registry;
    this.store = store;
  }

  async login(username: string, password: string): Promise<{ token: string; principal: Principal }> {
    const principal = await this.verify(username, password);
    const token = randomBytes(32).toString('base64url');
    this.store.addSession({ tokenHash: tokenHash(token), userId: principal.userId, username: principal.username, sysadmin: principal.sysadmin,
      password: principal.password, expires: Date.now() + TTL_MS, checkedAt: Date.now() });
    return { token, principal };
  }

  logout(token: string | undefined): void {
    if (token) this.store.removeSession(tokenHash(token));
  }

  /** The caller from the session cookie, a Bearer session token, or Basic credentials; 401 otherwise. */
  async authenticate(req: IncomingMessage): Promise<Principal> {
    const header = req.headers.authorization ?? '';
    if (/^basic /i.test(header)) {
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new HttpError(401, 'malformed Basic credentials');
      const cacheKey = createHash('sha256').update(decoded).digest('hex');
      const cached = this.basicCache.get(cacheKey);
      if (cached && cached.expires > Date.now()) return cached.principal;
      const principal = await this.verify(decoded.slice(0, colon), decoded.slice(colon + 1));
      this.basicCache.set(cacheKey, { principal, expires: Date.now() + BASIC_CACHE_MS });
      return principal;
    }
    const token = /^bearer /i.test(header) ? header.slice(7).trim() : sessionCookie(req);
    const session = token ? this.store.session(tokenHash(token)) : undefined;
    if (!session || session.expires < Date.now()) {
      if (session) this.store.removeSession(session.tokenHash);
      throw new HttpError(401, token ? 'your session has ended; log in again' : 'not logged in');
    }
    const principal = { username: session.username, password: session.password, sysadmin: session.sysadmin, userId: session.userId };
    if (Date.now() - session.checkedAt < RECHECK_MS) return principal;
    let current: Principal;
    try {
      current = await this.verify(session.username, session.password);
    } catch (err) {
      // Refused credentials end the session; a registry that cannot answer now does not.
      if (err instanceof HttpError && err.status === 401) {
        this.store.removeSession(session.tokenHash);
        throw new HttpError(401, 'your account or password changed; log in again');
      }
      return principal;
    }
    this.store.sessionChecked(session.tokenHash, current.sysadmin, Date.now());
    return { ...principal, sysadmin: current.sysadmin };
  }

  private async verify(username: string, password: string): Promise<Principal> {
    const res = await this.registry.call('GET', '/api/v2.0/users/current', { username, password });
    if (res.status === 401 || res.status === 403) throw new HttpError(401, 'wrong user name or password');
    if (res.status === 429) throw new HttpError(429, 'too many failed logins; try again later');
    if (res.status !== 200) throw new HttpError(502, `the registry answered ${res.status} while checking the login`);
    const user = JSON.parse(res.body.toString('utf8')) as { user_id: number; username: string; sysadmin_flag: boolean };
    return { username: user.username, password, sysadmin: user.sysadmin_flag, userId: user.user_id };
  }
}

export function sessionCookie(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

export function setCookie(token: string): string {
  return `${COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${TTL_MS / 1000}`;
}

export const clearCookie = `${COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;
