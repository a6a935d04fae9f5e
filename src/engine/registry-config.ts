// A VCH's registry settings, as its admin sets them: flags given to `bonneville vch serve`, plus
// <datastore>/registries.json and <datastore>/certs.d/<host:port>/*.crt (dockerd's layout), both
// read again whenever they change, so an admin can edit them without restarting the engine.
//
// registries.json:
//   { "insecureRegistries": ["127.0.0.1:5000"],       HTTP or unverified HTTPS allowed there
//     "allowedRegistries": ["registry.example.com"],  empty or absent: every registry
//     "caCertificates": ["/etc/ssl/my-ca.pem"],      extra CAs trusted for every registry
//     "stallTimeoutSeconds": 60 }                     a silent registry is abandoned after this

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_REGISTRY_ACCESS, type RegistryAccess } from '../portlayer/images/registry/access.ts';

export interface RegistrySettings {
  insecureRegistries: string[];
  allowedRegistries: string[];
  /** Paths of PEM files. */
  caCertificates: string[];
  stallTimeoutSeconds?: number;
}

export const REGISTRIES_FILE = 'registries.json';
export const CERTS_DIR = 'certs.d';

export class RegistryConfig {
  private readonly datastore: string;
  private readonly flags: RegistrySettings;
  private cached?: { mtimeMs: number; access: RegistryAccess };

  constructor(datastore: string, flags: Partial<RegistrySettings> = {}) {
    this.datastore = datastore;
    this.flags = { insecureRegistries: flags.insecureRegistries ?? [], allowedRegistries: flags.allowedRegistries ?? [], caCertificates: flags.caCertificates ?? [], stallTimeoutSeconds: flags.stallTimeoutSeconds };
  }

  get file(): string {
    return join(this.datastore, REGISTRIES_FILE);
  }

  /** The settings in force now: the flags and the file together. */
  access(): RegistryAccess {
    let mtimeMs = -1;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch {
      // no file: the flags alone
    }
    if (this.cached && this.cached.mtimeMs === mtimeMs) return this.cached.access;
    const file = mtimeMs >= 0 ? readSettings(this.file) : { insecureRegistries: [], allowedRegistries: [], caCertificates: [] };
    const stall = file.stallTimeoutSeconds ?? this.flags.stallTimeoutSeconds;
    const access: RegistryAccess = {
      insecure: [...this.flags.insecureRegistries, ...file.insecureRegistries],
      allowed: [...this.flags.allowedRegistries, ...file.allowedRegistries],
      caCertificates: [...this.flags.caCertificates, ...file.caCertificates].map((path) => readFileSync(path, 'utf8')),
      certsDir: join(this.datastore, CERTS_DIR),
      stallTimeoutMs: stall !== undefined && stall > 0 ? stall * 1000 : DEFAULT_REGISTRY_ACCESS.stallTimeoutMs,
    };
    this.cached = { mtimeMs, access };
    return access;
  }
}

function readSettings(path: string): RegistrySettings {
  let parsed: Partial<Record<keyof RegistrySettings, unknown>>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as typeof parsed;
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
  const strings = (key: keyof RegistrySettings): string[] => {
    const value = parsed[key];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${path}: "${key}" must be a list of strings`);
    return value;
  };
  const stall = parsed.stallTimeoutSeconds;
  return {
    insecureRegistries: strings('insecureRegistries'),
    allowedRegistries: strings('allowedRegistries'),
    caCertificates: strings('caCertificates'),
    stallTimeoutSeconds: typeof stall === 'number' ? stall : undefined,
  };
}
