// Who is calling: resolved once per request from the Authorization header.
import type { IncomingMessage } from 'node:http';
import type { Metadata, Robot, User } from '../db/metadata.ts';
import type { TokenClaims, TokenSigner } from './jwt.ts';
import { verifyPassword } from './passwords.ts';

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

/** The caller, or null when credentials were presented but are wrong or expired. */
export async function authenticate(req: IncomingMessage, db: Metadata, tokens: TokenCheck | null): Promise<Principal | null> {
  const header = req.headers.authorization;
  if (!header) return { kind: 'anonymous' };
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    return basicLogin(db, decoded.slice(0, colon), decoded.slice(colon + 1));
  }
  if (scheme === 'bearer' && tokens) {
    const claims = tokens.signer.verify(value, tokens.service, tokens.issuer);
    return claims ? { kind: 'token', claims } : null;
  }
  return null;
}

export async function basicLogin(db: Metadata, name: string, password: string): Promise<Principal | null> {
  if (name.startsWith('robot$')) {
    const robot = await db.robotByName(name);
    if (!robot || robot.disabled) return null;
    if (robot.expiresAt !== -1 && robot.expiresAt <= Math.floor(Date.now() / 1000)) return null;
    return (await verifyPassword(password, robot.secretHash)) ? { kind: 'robot', robot } : null;
  }
  const user = await db.userByName(name);
  if (!user) return null;
  return (await verifyPassword(password, user.passwordHash)) ? { kind: 'user', user } : null;
}
