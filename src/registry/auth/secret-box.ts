// Encryption at rest for secrets the registry must be able to use again (remote registries'
// passwords): AES-256-GCM under a key kept in <root>/keys, so a copy of the database alone —
// a PostgreSQL dump, a backup of registry.sqlite — does not reveal them. Values stored before
// encryption existed have no prefix and are read as they are (and re-sealed at start-up).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const prefix = 'enc:v1:';
const ivBytes = 12, tagBytes = 16;

export class SecretBox {
  private readonly key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
    this.key = key;
  }

  static generateKey(): Buffer { return randomBytes(32); }

  static isSealed(value: string): boolean { return value.startsWith(prefix); }

  /** `context` (e.g. the column) is authenticated with the value, so a sealed value cannot be moved to another field. */
  seal(plain: string, context: string): string {
    if (plain === '') return ''; // "no secret" stays recognisable without the key
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return prefix + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  open(stored: string, context: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(prefix.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, ivBytes));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(ivBytes, ivBytes + tagBytes));
    return Buffer.concat([decipher.update(raw.subarray(ivBytes + tagBytes)), decipher.final()]).toString('utf8');
  }
}
