// Real peers for the remote-image tests: Debian's docker-registry (distribution 2.8) in plain HTTP,
// TLS, htpasswd and token-auth variants, a CA made with the openssl CLI, skopeo to fill registries,
// and a small raw client for content skopeo would refuse to push (indexes by hand, hostile blobs).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runCommand } from '../helpers/vch.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl CLI. */
export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'bonneville-ca-'));
  readonly caCert = join(this.dir, 'ca.crt');
  readonly caKey = join(this.dir, 'ca.key');

  constructor(name = 'Bonneville test CA') {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.caKey, '-out', this.caCert, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], { stdio: 'ignore' });
  }

  /** A leaf certificate (and key) signed by this CA; `ip` puts 127.0.0.1 in its subjectAltName. */
  issue(name: string, options: { ip?: boolean } = {}): { cert: string; key: string } {
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}.crt`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, options.ip ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'keyUsage=critical,digitalSignature\n');
    execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', this.caCert, '-CAkey', this.caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], { stdio: 'ignore' });
    return { cert, key };
  }

  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RegistryOptions {
  tls?: { cert: string; key: string };
  htpasswd?: { user: string; password: string };
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

/** Debian's docker-registry on 127.0.0.1:<free port>, storing in a temp dir. */
export class TestRegistry {
  readonly dir = mkdtempSync(join(tmpdir(), 'bonneville-registry-'));
  readonly storage = join(this.dir, 'storage');
  port = 0;
  private process?: ChildProcess;
  private log = '';
  private readonly options: RegistryOptions;

  constructor(options: RegistryOptions = {}) {
    this.options = options;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://${this.host}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const lines = [
      'version: 0.1',
      'log:', '  level: error', '  accesslog:', '    disabled: true',
      'storage:', '  filesystem:', `    rootdirectory: ${this.storage}`, '  delete:', '    enabled: true',
      'http:', `  addr: 127.0.0.1:${this.port}`,
    ];
    if (this.options.tls) lines.push('  tls:', `    certificate: ${this.options.tls.cert}`, `    key: ${this.options.tls.key}`);
    if (this.options.htpasswd) {
      const file = join(this.dir, 'htpasswd');
      execFileSync('htpasswd', ['-Bbc', file, this.options.htpasswd.user, this.options.htpasswd.password], { stdio: 'ignore' });
      lines.push('auth:', '  htpasswd:', '    realm: bonneville-test', `    path: ${file}`);
    }
    if (this.options.token) {
      const t = this.options.token;
      lines.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootCertBundle}`);
    }
    const config = join(this.dir, 'config.yml');
    writeFileSync(config, `${lines.join('\n')}\n`);
    this.process = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process.stdout!.on('data', (d: Buffer) => { this.log += d.toString(); });
    this.process.stderr!.on('data', (d: Buffer) => { this.log += d.toString(); });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) throw new Error(`docker-registry exited: ${this.log}`);
      const probe = await runCommand('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', `${this.url}/v2/`], { timeoutMs: 5000 });
      if (/^(200|401)$/.test(probe.stdout)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`docker-registry did not answer: ${this.log}`);
  }

  /** Files under the storage dir holding blob `digest`. */
  blobFile(digest: string): string {
    const hex = digest.replace(/^sha256:/, '');
    return join(this.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** skopeo copy into a registry (`source` like docker-archive:/x.tar or oci-archive:/x.tar). */
export async function skopeoCopy(source: string, destination: string, options: { creds?: string; certDir?: string; all?: boolean } = {}): Promise<void> {
  const args = ['copy', '--quiet', '--dest-tls-verify=false'];
  if (options.creds) args.push('--dest-creds', options.creds);
  if (options.all) args.push('--all');
  args.push(source, destination);
  const result = await runCommand('skopeo', args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`skopeo ${args.join(' ')}: ${result.stderr}`);
}

/** skopeo inspect --raw: the manifest bytes a registry serves. */
export async function skopeoRawManifest(reference: string, options: { creds?: string } = {}): Promise<Buffer> {
  const args = ['inspect', '--raw', '--tls-verify=false'];
  if (options.creds) args.push('--creds', options.creds);
  args.push(reference);
  const result = await runCommand('skopeo', args, { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`skopeo inspect: ${result.stderr}`);
  return Buffer.from(result.stdout);
}

/** A raw push over plain HTTP, for content skopeo would not produce. */
export async function rawPushBlob(base: string, repository: string, bytes: Buffer, digest = sha256(bytes)): Promise<string> {
  const start = await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const done = await fetch(location, { method: 'PUT', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  if (done.status !== 201) throw new Error(`upload: ${done.status} ${await done.text()}`);
  return digest;
}

export async function rawPushManifest(base: string, repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
  const res = await fetch(`${base}/v2/${repository}/manifests/${reference}`, { method: 'PUT', body: bytes, headers: { 'Content-Type': mediaType } });
  if (res.status !== 201) throw new Error(`manifest put: ${res.status} ${await res.text()}`);
  return sha256(bytes);
}

/** Every file under a directory (for "nothing left behind" checks). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(dir);
  return out;
}

