import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${key.toString('base64')}`;
}

// scrypt is deliberately slow; clients sending Basic auth on every request would pay it each
// time, so successful checks are remembered (keyed by a hash of hash+password, never the password).
const verified = new Map<string, true>();

/** How many scrypt derivations password checks have run (tests compare the work of different failures). */
export const passwordWork = { derivations: 0 };

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const cacheKey = createHash('sha256').update(stored).update('\0').update(password).digest('hex');
  if (verified.has(cacheKey)) return true;
  const [scheme, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  passwordWork.derivations++;
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length);
  const ok = timingSafeEqual(actual, expected);
  if (ok) {
    if (verified.size > 1000) verified.clear();
    verified.set(cacheKey, true);
  }
  return ok;
}

/** A random secret for generated admin passwords and robot secrets. */
export function randomSecret(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

/** Harbor's password rule: 8–128 characters with an upper-case letter, a lower-case letter and a digit. */
export function isStrongPassword(p: string): boolean {
  return p.length >= 8 && p.length <= 128 && /[A-Z]/.test(p) && /[a-z]/.test(p) && /[0-9]/.test(p);
}
