// Compact JWS with ES256 (P-256 + SHA-256), the token format of Docker's token auth.
import { createPrivateKey, createPublicKey, createHash, generateKeyPairSync, sign, verify, randomUUID, type KeyObject } from 'node:crypto';
import { VerifiedTokens } from './token-cache.ts';

export interface TokenAccess { type: string; name: string; actions: string[] }
export interface TokenClaims {
  iss: string; sub: string; aud: string; exp: number; nbf: number; iat: number; jti: string; access: TokenAccess[];
}

export class TokenSigner {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
  private readonly verified = new VerifiedTokens();

  constructor(pem: string) {
    this.privateKey = createPrivateKey(pem);
    this.publicKey = createPublicKey(this.privateKey);
    const spki = this.publicKey.export({ type: 'spki', format: 'der' });
    this.kid = createHash('sha256').update(spki).digest('base64url').slice(0, 32);
  }

  static generatePem(): string {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  issue(fields: { issuer: string; subject: string; audience: string; ttlSeconds: number; access: TokenAccess[] }): { token: string; claims: TokenClaims } {
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = {
      iss: fields.issuer, sub: fields.subject, aud: fields.audience, iat: now, nbf: now - 1,
      exp: now + fields.ttlSeconds, jti: randomUUID(), access: fields.access,
    };
    const header = { alg: 'ES256', typ: 'JWT', kid: this.kid };
    const input = `${b64(header)}.${b64(claims)}`;
    const sig = sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return { token: `${input}.${sig.toString('base64url')}`, claims };
  }

  /** Returns the claims of a token this signer issued for `audience`, or null when invalid or expired. */
  verify(token: string, audience: string, issuer: string): TokenClaims | null {
    const now = Math.floor(Date.now() / 1000);
    const known = this.verified.get(token, now);
    if (known) return known.aud === audience && known.iss === issuer ? known : null; // nbf was already in the past
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    try {
      const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      if (header.alg !== 'ES256') return null;
      const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
      if (!ok) return null;
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
      if (claims.aud !== audience || claims.iss !== issuer) return null;
      if (typeof claims.exp !== 'number' || now >= claims.exp || (typeof claims.nbf === 'number' && now < claims.nbf)) return null;
      if (!Array.isArray(claims.access)) return null;
      this.verified.add(token, claims, now);
      return claims;
    } catch {
      return null;
    }
  }
}

function b64(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}
