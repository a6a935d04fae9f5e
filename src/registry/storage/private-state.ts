// Tightens the modes of a registry root that may have been made by hand (`mkdir -p`, 0755) or by
// an older version: the root and its directories 0700, the database (and its -wal/-shm, which
// SQLite creates with the database file's mode), keys and private TLS keys 0600. Certificates stay
// as they are: they are public. Blobs need no walk: nobody else can pass the 0700 root.
import { chmodSync, closeSync, existsSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dirMode, fileMode } from './driver.ts';

const isCertificate = (name: string) => name.endsWith('.crt');

export function makeStatePrivate(root: string, sqliteFile: string | null): void {
  chmodSync(root, dirMode);
  // Created empty before SQLite opens it, so SQLite's files are born private.
  if (sqliteFile && !existsSync(join(root, sqliteFile))) closeSync(openSync(join(root, sqliteFile), 'a', fileMode));
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) {
      chmodSync(path, dirMode);
      if (name === 'keys' || name === 'tls') {
        for (const inner of readdirSync(path)) if (!isCertificate(inner)) chmodSync(join(path, inner), fileMode);
      }
    } else if (!isCertificate(name)) {
      chmodSync(path, fileMode);
    }
  }
}
