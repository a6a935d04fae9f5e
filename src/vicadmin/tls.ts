// The admin page's TLS: a server certificate from the VCH's CA for the admin address (the engine's
// own server certificate when it already names it), and that CA to check client certificates by.
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ensureCa, issueClientCertificate, issueServerCertificate, subjectAltNames } from '../pki/certificates.ts';

export interface AdminTls {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** The name a browser uses for a listen address (a wildcard address is reached by the host's name). */
export function publicHost(listenHost: string): string {
  return listenHost === '0.0.0.0' || listenHost === '::' ? hostname() : listenHost;
}

function covers(certFile: string, host: string): boolean {
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    return isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
  } catch {
    return false;
  }
}

/** The engine's own server certificate and client CA (vch serve --tls-cert/--tls-key/--tls-ca). */
export interface GivenTls {
  cert: string;
  key: string;
  ca: string;
}

export async function adminTls(datastore: string, listenHost: string, given?: GivenTls): Promise<AdminTls> {
  // A VCH made by `bonneville create` keeps its certificates beside its settings: the page uses the engine's.
  if (given) return { cert: readFileSync(given.cert), key: readFileSync(given.key), ca: readFileSync(given.ca) };
  const certs = join(datastore, 'certs');
  const ca = await ensureCa(certs, 'Bonneville VCH CA');
  // The certificate an operator logs in with (the same one docker clients use).
  await issueClientCertificate(ca, join(certs, 'client'), 'bonneville-client');
  const host = publicHost(listenHost);
  const engineCert = join(certs, 'server-cert.pem');
  let pair = { cert: engineCert, key: join(certs, 'server-key.pem') };
  if (!existsSync(engineCert) || !covers(engineCert, host)) {
    const files = { cert: 'admin-cert.pem', key: 'admin-key.pem' };
    // One made for an earlier admin address is replaced.
    if (existsSync(join(certs, files.cert)) && !covers(join(certs, files.cert), host)) rmSync(join(certs, files.cert));
    pair = await issueServerCertificate(ca, certs, subjectAltNames([host]), files);
  }
  return { cert: readFileSync(pair.cert), key: readFileSync(pair.key), ca: readFileSync(ca.cert) };
}
