// Docker's bind mounts: a directory of the VCH host seen inside the container. Checked at create
// (the source must be a directory, or missing where Docker creates it), created at start when the
// request allows it (`-v` does, `--mount` does not), as dockerd does.
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { invalid } from '../errors.ts';
import type { VmHostDirectory } from '../backend.ts';

/** A host directory at a path in the container, as asked for and as the container keeps it. */
export interface HostBind {
  /** Absolute host path. */
  source: string;
  /** Absolute, normalised path inside the container. */
  target: string;
  readOnly: boolean;
  /** Opaque to the port layer: the mode string the user gave ("ro", "z" …), for inspect. */
  mode: string;
  /** A missing source is created at start (`-v`); otherwise it is an error (`--mount`). */
  createSource: boolean;
}

/** The checks a create makes: an absolute source that is a directory, or missing where it may be created. */
export function checkHostBinds(binds: HostBind[]): void {
  for (const bind of binds) {
    if (!posix.isAbsolute(bind.source)) {
      throw invalid(`invalid mount config for type "bind": invalid mount path: '${bind.source}' mount path must be absolute`);
    }
    const stat = statOrUndefined(bind.source);
    if (!stat) {
      if (!bind.createSource) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${bind.source}`);
      continue;
    }
    if (!stat.isDirectory()) throw notADirectory(bind);
  }
}

/**
 * The binds as the VM gets them, at start: missing sources created where allowed, every source
 * resolved to the directory it is now (a symlink is followed, as the kernel's bind mount would).
 */
export function hostDirectoriesOf(binds: HostBind[]): VmHostDirectory[] {
  return binds.map((bind) => {
    let stat = statOrUndefined(bind.source);
    if (!stat && bind.createSource) {
      mkdirSync(bind.source, { recursive: true, mode: 0o755 });
      stat = statOrUndefined(bind.source);
    }
    if (!stat) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${bind.source}`);
    if (!stat.isDirectory()) throw notADirectory(bind);
    return { source: realpathSync(bind.source), target: bind.target, readOnly: bind.readOnly };
  });
}

function notADirectory(bind: HostBind) {
  return invalid(`bind source path ${bind.source} is not a directory: only host directories can be bound into a container here (each container is its own VM, and directories are what is shared into it); bind its parent directory instead`);
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalid(`bind source path ${path}: ${(err as Error).message}`);
  }
}
