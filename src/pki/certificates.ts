// A small PKI for endpoints Bonneville serves: a CA per endpoint, server certificates for its names,
// client certificates for mutual TLS. Made with the openssl CLI (no hand-written ASN.1). Files are
// published atomically (pem-pair.ts), so processes creating them at once agree on one key per
// certificate and every certificate fits its key.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ensurePair } from './pem-pair.ts';

const run = promisify(execFile);

export interface CertificateAuthority {
  cert: string;
  key: string;
}

export interface IssuedCertificate {
  cert: string;
  key: string;
  /** The CA certificate that signed it, for the peer to trust. */
  ca: string;
}

/** File names (inside the directory given alongside) of a certificate and its private key. */
export interface PemFileNames {
  cert: string;
  key: string;
}

/**
 * The CA in `dir`, created on first use. Files are ca.pem and ca-key.pem unless `files` names
 * others (the registry keeps the ca.crt/ca.key its existing roots already hold).
 */
export async function ensureCa(dir: string, commonName: string, files: PemFileNames = { cert: 'ca.pem', key: 'ca-key.pem' }): Promise<CertificateAuthority> {
  const ca = { cert: join(dir, files.cert), key: join(dir, files.key) };
  await ensurePair(ca, {
    makeCert: async (keyFile, certOut) => {
      await run('openssl', ['req', '-new', '-x509', '-key', keyFile, '-out', certOut, '-days', '3650', '-subj', `/CN=${commonName}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    },
  });
  return ca;
}

export function subjectAltNames(extra: string[]): string[] {
  return [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...extra].filter(Boolean))];
}

async function issue(ca: CertificateAuthority, outDir: string, files: PemFileNames, commonName: string, extensions: string): Promise<IssuedCertificate> {
  const issued = { cert: join(outDir, files.cert), key: join(outDir, files.key), ca: ca.cert };
  const caCert = new X509Certificate(readFileSync(ca.cert));
  await ensurePair(issued, {
    // One signed by another CA (say, a CA that lost a creation race) is replaced.
    accepts: (cert) => cert.checkIssued(caCert) && cert.verify(caCert.publicKey),
    makeCert: async (keyFile, certOut, work) => {
      const csr = join(work, 'req.csr');
      const ext = join(work, 'ext.cnf');
      await run('openssl', ['req', '-new', '-key', keyFile, '-out', csr, '-subj', `/CN=${commonName}`]);
      writeFileSync(ext, extensions);
      // A random serial instead of -CAcreateserial: no shared serial file for racing processes to rewrite.
      await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
        '-out', certOut, '-days', '825', '-extfile', ext]);
    },
  });
  return issued;
}

/** A server certificate for `names` (the first is its common name); server-cert.pem and server-key.pem unless `files` says otherwise. */
export function issueServerCertificate(ca: CertificateAuthority, outDir: string, names: string[],
  files: PemFileNames = { cert: 'server-cert.pem', key: 'server-key.pem' }): Promise<IssuedCertificate> {
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  return issue(ca, outDir, files, names[0], `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
}

/** A client certificate in the layout the docker CLI reads from DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem). */
export async function issueClientCertificate(ca: CertificateAuthority, outDir: string, commonName: string): Promise<IssuedCertificate> {
  const issued = await issue(ca, outDir, { cert: 'cert.pem', key: 'key.pem' }, commonName, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  const tmp = join(outDir, `.ca.pem.${randomUUID()}`);
  writeFileSync(tmp, readFileSync(ca.cert));
  renameSync(tmp, join(outDir, 'ca.pem')); // readers never see it half-written

  return issued;
}
