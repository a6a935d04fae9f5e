// The on-disk layout under the registry's --root directory. This file is the only place
// that knows it; everything else asks for paths through these functions.
//
//   <root>/
//     blobs/<algorithm>/<first 2 hex>/<encoded>   content-addressed bytes: layers, configs and
//                                                 manifests alike. A file appears here only by an
//                                                 atomic rename of a fully written, verified upload,
//                                                 so a reader never sees a partial blob.
//     uploads/<uuid>                              bytes of an upload session in progress; never
//                                                 served. Left-overs (e.g. after kill -9) are
//                                                 removed at start-up and by GC.
//     registry.sqlite (+ -wal, -shm)              metadata (SQLite backend): users, projects,
//                                                 repositories, manifests, tags, links, audit log.
//     keys/token-signing.pem                      ES256 private key signing bearer tokens (0600).
//     keys/secrets.key                            AES-256 key sealing secrets kept in the database,
//                                                 e.g. remote registries' passwords (0600).
//     tls/ca.crt ca.key server.crt server.key     generated certificate authority + server cert
//                                                 (only when no certificate was supplied).
//
// Several registry processes may share one <root> (e.g. on a shared volume with PostgreSQL
// metadata, `--database postgres://…`): every write is rename-into-place, so they never conflict;
// an upload session is its file here plus its database row, so any process can continue it (an
// in-memory running hash is only a shortcut, dropped when another process appended); the first
// process creates keys/ and tls/ and the others read them.

import { join } from 'node:path';
import { parseDigest } from '../distribution/digest.ts';

export function blobPath(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return join('blobs', algorithm, encoded.slice(0, 2), encoded);
}

export const blobsDir = 'blobs';
export const uploadsDir = 'uploads';
export const uploadPath = (id: string): string => join('uploads', id);
export const sqlitePath = 'registry.sqlite';
/** The generated admin password, readable by the registry's user only. */
export const adminPasswordPath = 'admin.password';
export const signingKeyPath = join('keys', 'token-signing.pem');
export const secretKeyPath = join('keys', 'secrets.key');
export const tlsDir = 'tls';
/** Names inside tlsDir of the generated CA and server certificate (src/pki makes them). */
export const tlsCaFiles = { cert: 'ca.crt', key: 'ca.key' };
export const tlsServerFiles = { cert: 'server.crt', key: 'server.key' };
