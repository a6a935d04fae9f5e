// Where the guest kernel and initramfs are, and which kernel they are (guest/build.sh makes them).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface GuestArtifacts {
  kernel: string;
  initrd: string;
  kernelVersion: string;
}

export function findGuestArtifacts(dir: string): GuestArtifacts {
  const root = resolve(dir);
  const kernel = join(root, 'vmlinux');
  const initrd = join(root, 'initramfs.cpio');
  for (const path of [kernel, initrd]) {
    if (!existsSync(path)) throw new Error(`guest artefact missing: ${path} (run: bash guest/build.sh)`);
  }
  const versionFile = join(root, 'kernel-version');
  const kernelVersion = existsSync(versionFile) ? readFileSync(versionFile, 'utf8').trim() : 'unknown';
  return { kernel, initrd, kernelVersion };
}
