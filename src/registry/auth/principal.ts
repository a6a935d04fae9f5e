// Who is calling: resolved once per request from the Authorization header.
import type { IncomingMessage } from 'node:http';
import type { Metadata, Robot, User } from '../db/metadata.ts';
import type { TokenClaims, TokenSigner } from './jwt.ts';
import { hashPassword, randomSecret, verifyPassword } from './passwords.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { tooManyRequests } from '../http/errors.ts';

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; user: User }
  | { kind: 'robot'; robot: Robot }
  | { kind: 'token'; claims: TokenClaims };

export function principalName(p: Principal): string {
  switch (p.kind) {
    case 'anonymous': return 'anonymous';
    case 'user': return p.user.username;
    case 'robot': return p.robot.name;
    case 'token': return p.claims.sub || 'anonymous';
  }
}

export interface TokenCheck { signer: TokenSigner; service: string; issuer: string }

/** The caller, or null when credentials were presented but are wrong or expired; 429 while its logins are throttled. */
export async function authenticate(req: IncomingMessage, db: Metadata, tokens: TokenCheck | null, throttle: LoginThrottle): Promise<Principal | null> {
  const header = req.headers.authorization;
  if (!header) return { kind: 'anonymous' };
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const name = decoded.slice(0, colon);
    const address = req.socket.remoteAddress ?? '';
    const wait = throttle.retryAfter(name, address);
    if (wait > 0) throw tooManyRequests(wait);
    const principal = await basicLogin(db, name, decoded.slice(colon + 1));
    if (principal) throttle.succeeded(name); else throttle.failed(name, address);
    return principal;
  }
  if (scheme === 'bearer' && tokens) {
    const claims = tokens.signer.verify(value, tokens.service, tokens.issuer);
    return claims ? { kind: 'token', claims } : null;
  }
  return null;
}

// Unknown, disabled and expired accounts cost the same scrypt work as a wrong password, so the
// answer's timing does not tell which accounts exist.
let decoyHash: Promise<string> | null = null;
const decoy = () => (decoyHash ??= hashPassword(randomSecret()));

export async function basicLogin(db: Metadata, name: string, password: string): Promise<Principal | null> {
  if (name.startsWith('robot$')) {
    const robot = await db.robotByName(name);
    const usable = robot && !robot.disabled && (robot.expiresAt === -1 || robot.expiresAt > Math.floor(Date.now() / 1000));
    const ok = await verifyPassword(password, usable ? robot.secretHash : await decoy());
    return ok && usable ? { kind: 'robot', robot } : null;
  }
  const user = await db.userByName(name);
  const ok = await verifyPassword(password, user ? user.passwordHash : await decoy());
  return ok && user ? { kind: 'user', user } : null;
}
