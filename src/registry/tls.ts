// A certificate authority and a server certificate made with the openssl CLI on first start,
// so HTTPS works out of the box; clients trust <root>/tls/ca.crt.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { access, mkdir, writeFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';

const run = promisify(execFile);

export interface TlsFiles { caCert: string; cert: string; key: string }

export async function ensureTlsFiles(dir: string, hostnames: string[]): Promise<TlsFiles> {
  const files = { caCert: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
  try {
    await access(files.cert);
    await access(files.key);
    return files;
  } catch { /* not generated yet */ }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caKey = join(dir, 'ca.key');
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  const names = [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...hostnames].filter(Boolean))];
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', files.caCert, '-days', '3650', '-subj', '/CN=Bonneville Registry CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', ...ec, '-keyout', files.key, '-out', csr, '-subj', `/CN=${names[0]}`]);
  await writeFile(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', files.caCert, '-CAkey', caKey, '-CAcreateserial', '-out', files.cert, '-days', '825', '-extfile', ext]);
  await rm(csr, { force: true });
  await rm(ext, { force: true });
  return files;
}
