// Who may see the admin page: a client holding a certificate from the VCH's CA (checked by the TLS
// handshake), or an operator who knows the admin password and then holds a session cookie.
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { writeFileAtomic } from '../portlayer/atomic-file.ts';

export const SESSION_COOKIE = 'bv_admin_session';

/**
 * The admin password: from `givenFile` when the operator supplies one, else `<datastore>/admin.password`,
 * made (random, root only) at first start. Never logged.
 */
export function loadAdminPassword(defaultFile: string, givenFile?: string): { password: string; file: string } {
  const file = givenFile ?? defaultFile;
  if (!givenFile && !existsSync(file)) writeFileAtomic(file, randomBytes(18).toString('base64url') + '\n');
  const password = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (password.length < 8) throw new Error(`${file}: the admin password must be at least 8 characters`);
  if ((statSync(file).mode & 0o077) !== 0) throw new Error(`${file}: the admin password file must not be readable by group or others (chmod 600)`);
  return { password, file };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function passwordMatches(expected: string, given: string): boolean {
  // Equal-length digests: the comparison takes as long whatever was typed.
  return timingSafeEqual(digest(expected), digest(given));
}

/** The client certificate's subject, when the handshake verified it against the VCH's CA. */
export function verifiedClientCertificate(req: IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate?.();
  if (!cert || !cert.subject) return undefined;
  return cert.subject.CN ? `CN=${cert.subject.CN}` : 'client certificate';
}

interface Session { expiresAt: number; idleUntil: number }

/** Server-side sessions behind random cookie tokens; absolute and idle expiry. */
export class Sessions {
  private readonly sessions = new Map<string, Session>();
  static readonly LIFETIME_MS = 12 * 60 * 60 * 1000;
  static readonly IDLE_MS = 60 * 60 * 1000;

  create(): string {
    this.sweep();
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    this.sessions.set(token, { expiresAt: now + Sessions.LIFETIME_MS, idleUntil: now + Sessions.IDLE_MS });
    return token;
  }

  /** Whether the token names a live session (and keeps it alive). */
  check(token: string | undefined): boolean {
    if (!token) return false;
    const session = this.sessions.get(token);
    const now = Date.now();
    if (!session || session.expiresAt < now || session.idleUntil < now) {
      if (session) this.sessions.delete(token);
      return false;
    }
    session.idleUntil = now + Sessions.IDLE_MS;
    return true;
  }

  end(token: string | undefined): void {
    if (token) this.sessions.delete(token);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, s] of this.sessions) if (s.expiresAt < now || s.idleUntil < now) this.sessions.delete(token);
  }
}

/**
 * Slows down password guessing per client address: after a few failures each further attempt must
 * wait, doubling up to 5 minutes. A success clears the address's record.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; lockedUntil: number }>();
  static readonly FREE_ATTEMPTS = 3;
  static readonly MAX_LOCK_MS = 5 * 60 * 1000;

  /** Milliseconds the address must still wait before its next attempt; 0 when it may try. */
  waitMs(address: string): number {
    const entry = this.failures.get(address);
    return entry ? Math.max(0, entry.lockedUntil - Date.now()) : 0;
  }

  failed(address: string): void {
    const entry = this.failures.get(address) ?? { count: 0, lockedUntil: 0 };
    entry.count++;
    if (entry.count >= LoginThrottle.FREE_ATTEMPTS) {
      entry.lockedUntil = Date.now() + Math.min(LoginThrottle.MAX_LOCK_MS, 1000 * 2 ** (entry.count - LoginThrottle.FREE_ATTEMPTS + 1));
    }
    this.failures.set(address, entry);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${Sessions.LIFETIME_MS / 1000}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;
}

/**
 * A state-changing request must come from this page's own origin: the browser's Origin header
 * (or, lacking it, Sec-Fetch-Site) says where the form was. Requests that say neither are refused.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return origin === `https://${req.headers.host ?? ''}`;
  return req.headers['sec-fetch-site'] === 'same-origin';
}
