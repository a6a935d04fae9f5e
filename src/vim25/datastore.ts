// Datastore files: FileManager (directories, deletes), HTTP transfers through /folder/<path>
// (?dcPath=&dsName=, the session cookie authorises them), VirtualDiskManager (create, copy disks).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { VimClient } from './session.ts';
import { runTask } from './tasks.ts';
import type { ManagedObjectReference } from './types.ts';

/** `[ds] a/b` from a datastore name and a path within it. */
export function datastorePath(datastore: string, path: string): string {
  return `[${datastore}] ${path.replace(/^\/+/, '')}`;
}

export async function makeDirectory(client: VimClient, datacenter: ManagedObjectReference, dsPath: string, createParents = true): Promise<void> {
  await client.invoke('MakeDirectory', client.manager('fileManager'), { name: dsPath, datacenter, createParentDirectories: createParents });
}

/** Deletes a file or a directory tree. */
export async function deleteDatastoreFile(client: VimClient, datacenter: ManagedObjectReference, dsPath: string): Promise<void> {
  await runTask(client, 'DeleteDatastoreFile_Task', client.manager('fileManager'), { name: dsPath, datacenter });
}

function folderUrl(datacenterPath: string, datastore: string, path: string): string {
  const encoded = path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
  return `/folder/${encoded}?dcPath=${encodeURIComponent(datacenterPath)}&dsName=${encodeURIComponent(datastore)}`;
}

export interface DatastoreFile {
  /** Inventory path of the datacenter, e.g. `DC0`. */
  datacenterPath: string;
  datastore: string;
  path: string;
}

/** Uploads bytes or a local file (streamed) to a datastore file (replacing it). */
export async function uploadFile(client: VimClient, target: DatastoreFile, source: Buffer | { localPath: string }): Promise<void> {
  const url = folderUrl(target.datacenterPath, target.datastore, target.path);
  let res;
  if (Buffer.isBuffer(source)) {
    res = await client.transport.request('PUT', url, source, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(source.length) });
  } else {
    const size = (await stat(source.localPath)).size;
    res = await client.transport.request('PUT', url, createReadStream(source.localPath), { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
  }
  if (res.status < 200 || res.status >= 300) throw new Error(`vim25: upload to [${target.datastore}] ${target.path}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`);
}

/** Downloads a datastore file; a missing file is an error naming it. */
export async function downloadFile(client: VimClient, source: DatastoreFile): Promise<Buffer> {
  const res = await client.transport.request('GET', folderUrl(source.datacenterPath, source.datastore, source.path));
  if (res.status === 404) throw new Error(`vim25: [${source.datastore}] ${source.path} does not exist`);
  if (res.status !== 200) throw new Error(`vim25: download of [${source.datastore}] ${source.path}: HTTP ${res.status}`);
  return res.body;
}

export async function createVirtualDisk(client: VimClient, datacenter: ManagedObjectReference, dsPath: string, capacityKB: number): Promise<void> {
  await runTask(client, 'CreateVirtualDisk_Task', client.manager('virtualDiskManager'), {
    name: dsPath,
    datacenter,
    spec: { $type: 'FileBackedVirtualDiskSpec', diskType: 'thin', adapterType: 'lsiLogic', capacityKb: capacityKB },
  });
}

export async function copyVirtualDisk(client: VimClient, datacenter: ManagedObjectReference, sourcePath: string, destPath: string): Promise<void> {
  await runTask(client, 'CopyVirtualDisk_Task', client.manager('virtualDiskManager'), {
    sourceName: sourcePath,
    sourceDatacenter: datacenter,
    destName: destPath,
    destDatacenter: datacenter,
    force: false,
  });
}

export async function deleteVirtualDisk(client: VimClient, datacenter: ManagedObjectReference, dsPath: string): Promise<void> {
  await runTask(client, 'DeleteVirtualDisk_Task', client.manager('virtualDiskManager'), { name: dsPath, datacenter });
}
