// The container VMs' boot medium on vSphere (VIC's bootstrap ISO): ESXi cannot boot a bare kernel, so
// the guest's kernel and initramfs go on a bootable CD (guest/build-iso.sh) that every container VM
// mounts from the image store. Uploaded once per image store, named by its content hash: a new guest
// build is a new file, and VMs running the old one keep it. A small `.sha256` file beside it is
// written last and marks the upload complete.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { VimClient } from '../../vim25/session.ts';
import { datastorePath, downloadFile, makeDirectory, uploadFile } from '../../vim25/datastore.ts';
import type { Target } from './target.ts';

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Uploads the ISO unless the image store has it; returns its datastore path, `[ds] <store>/bootstrap/bootstrap-<hash>.iso`. */
export async function ensureBootIso(client: VimClient, target: Target, imageStorePath: string, localIso: string): Promise<string> {
  const hash = await sha256(localIso);
  const folder = [...imageStorePath.split('/').filter(Boolean), 'bootstrap'].join('/');
  const name = `${folder}/bootstrap-${hash.slice(0, 16)}.iso`;
  const file = (path: string) => ({ datacenterPath: target.config.datacenter, datastore: target.config.datastore, path });
  const done = await downloadFile(client, file(`${name}.sha256`)).then((b) => b.toString('utf8').trim() === hash, () => false);
  if (!done) {
    await makeDirectory(client, target.datacenter, datastorePath(target.config.datastore, folder));
    await uploadFile(client, file(name), { localPath: localIso });
    await uploadFile(client, file(`${name}.sha256`), Buffer.from(`${hash}\n`));
  }
  return datastorePath(target.config.datastore, name);
}
