// Tokens already verified, so a pull of many blobs pays for one ECDSA verification instead of
// one per request. Entries are looked up by the exact token text (a forged or altered token
// never matches) and live no longer than the token itself.
import type { TokenClaims } from './jwt.ts';

const maxEntries = 10_000;

export class VerifiedTokens {
  private readonly entries = new Map<string, TokenClaims>();

  /** The claims of a token verified before and still within its validity window. */
  get(token: string, nowSeconds: number): TokenClaims | null {
    const claims = this.entries.get(token);
    if (!claims) return null;
    if (nowSeconds >= claims.exp) { this.entries.delete(token); return null; }
    return claims;
  }

  add(token: string, claims: TokenClaims, nowSeconds: number): void {
    if (this.entries.size >= maxEntries) this.sweep(nowSeconds);
    if (this.entries.size >= maxEntries) this.entries.delete(this.entries.keys().next().value!); // oldest first
    this.entries.set(token, claims);
  }

  private sweep(nowSeconds: number): void {
    for (const [token, claims] of this.entries) if (nowSeconds >= claims.exp) this.entries.delete(token);
  }
}
