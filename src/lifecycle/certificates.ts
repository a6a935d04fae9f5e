// The TLS material of a VCH's endpoint, in <vch>/certs: generated mutual TLS (a CA, the server's
// certificate for its names, one client certificate for DOCKER_CERT_PATH), or the admin's own files;
// and the env file beside the certs that the docker CLI's variables are read from.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCa, issueClientCertificate, issueServerCertificate, subjectAltNames } from '../pki/certificates.ts';
import { writeFileAtomic } from '../portlayer/atomic-file.ts';
import type { VchSettings } from './settings.ts';

export async function generateMutualTls(certsDir: string, names: string[]): Promise<VchSettings['tls']> {
  mkdirSync(certsDir, { recursive: true, mode: 0o700 });
  const ca = await ensureCa(certsDir, 'Bonneville VCH CA');
  const server = await issueServerCertificate(ca, certsDir, subjectAltNames(names));
  const clientDir = join(certsDir, 'client');
  await issueClientCertificate(ca, clientDir, 'bonneville-client');
  return { cert: server.cert, key: server.key, ca: ca.cert, clientCertPath: clientDir, generated: true, verify: true };
}

/** New CA, server and client certificates (the old ones stop working once the engine restarts). */
export async function rotateMutualTls(certsDir: string, names: string[]): Promise<VchSettings['tls']> {
  rmSync(certsDir, { recursive: true, force: true });
  return generateMutualTls(certsDir, names);
}

export function dockerEnv(s: VchSettings): Record<string, string> {
  const host = s.endpoint.host.includes(':') ? `[${s.endpoint.host}]` : s.endpoint.host;
  const env: Record<string, string> = { DOCKER_HOST: `tcp://${host}:${s.endpoint.port}` };
  if (s.tls.verify) env.DOCKER_TLS_VERIFY = '1';
  else env.DOCKER_TLS = '1';
  if (s.tls.clientCertPath) env.DOCKER_CERT_PATH = s.tls.clientCertPath;
  return env;
}

export function envLines(s: VchSettings): string {
  return Object.entries(dockerEnv(s)).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

/** <vch>/<name>.env, as vic-machine leaves one beside the certificates. */
export function writeEnvFile(vchDir: string, s: VchSettings): string {
  const path = join(vchDir, `${s.name}.env`);
  writeFileAtomic(path, envLines(s));
  return path;
}
