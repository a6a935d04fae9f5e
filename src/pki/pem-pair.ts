// Publishing a private key and its certificate so that processes racing to create the same
// files (several registries starting on one root) always end up with a matching pair. Each file
// is made in a private temporary directory beside the target and published with link(), which
// fails instead of replacing: the first key published is the key, and whoever loses reads it.
// A certificate is then checked against that key (and by `accepts`, e.g. signed by the current
// CA); when it is missing or does not fit — a race lost, or a crash between the two files — a
// new one is made for the published key. Any certificate made for the published key is as good
// as another, so it no longer matters who wins the certificate's race.
import { createPrivateKey, generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import { link, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface PairPaths { cert: string; key: string }

export interface PairRecipe {
  /** Writes a certificate for the private key in `keyFile` to `certOut`. */
  makeCert(keyFile: string, certOut: string, work: string): Promise<void>;
  /** Further checks on an existing certificate (e.g. who signed it); default: any. */
  accepts?(cert: X509Certificate): boolean;
}

const isExists = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'EEXIST';
const isMissing = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

async function readOrNull(path: string): Promise<Buffer | null> {
  try { return await readFile(path); } catch (e) { if (isMissing(e)) return null; throw e; }
}

/** Links `from` to `to` unless `to` exists; true when this call published it. */
async function publishOnce(from: string, to: string): Promise<boolean> {
  try { await link(from, to); return true; } catch (e) { if (isExists(e)) return false; throw e; }
}

function fits(certPem: Buffer | null, keyPem: Buffer, recipe: PairRecipe): boolean {
  if (!certPem) return false;
  try {
    const cert = new X509Certificate(certPem);
    return cert.checkPrivateKey(createPrivateKey(keyPem)) && (recipe.accepts?.(cert) ?? true);
  } catch {
    return false; // unreadable (e.g. truncated by a crash of an older version): replace it
  }
}

/** Makes sure `paths` hold a private key (EC P-256) and a certificate for it that the recipe accepts. */
export async function ensurePair(paths: PairPaths, recipe: PairRecipe): Promise<void> {
  const dir = dirname(paths.cert);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await mkdir(dirname(paths.key), { recursive: true, mode: 0o700 });
  let keyPem = await readOrNull(paths.key);
  let certPem = await readOrNull(paths.cert);
  if (keyPem && fits(certPem, keyPem, recipe)) return;

  // Same filesystem as the targets, so link() works; private to this call, so nothing collides.
  const work = await mkdtemp(join(dir, `.${basename(paths.cert)}-`));
  try {
    if (!keyPem) {
      const tmpKey = join(work, 'key.pem');
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      await writeFile(tmpKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      await publishOnce(tmpKey, paths.key);
      keyPem = await readFile(paths.key); // ours, or the winner's
      certPem = await readOrNull(paths.cert);
      if (fits(certPem, keyPem, recipe)) return;
    }
    const tmpCert = join(work, `cert-${randomUUID()}.pem`);
    await recipe.makeCert(paths.key, tmpCert, work);
    if (!certPem) {
      if (await publishOnce(tmpCert, paths.cert)) return;
      // Someone else published one meanwhile; theirs was made for the same key unless it is stale.
      if (fits(await readOrNull(paths.cert), keyPem, recipe)) return;
    }
    // A certificate that does not fit the key: replace it (every replacement fits, whoever is last).
    await rename(tmpCert, paths.cert);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
