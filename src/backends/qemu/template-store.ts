// Where instant-clone templates live: <root>/<memory>m-<cpus>c-<fingerprint>/{memory,state,meta.json}.
// A template is only ever seen complete: it is made in a `.tmp-*` directory and renamed into place
// once meta.json is written, so a crash while saving leaves a temp directory (swept at the next
// start), never half a template in use. The fingerprint covers everything a saved VM state depends
// on, so a new guest kernel, initramfs, QEMU or accelerator simply finds no template.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { isOurVm } from './process-identity.ts';

export interface TemplateShape {
  memoryMiB: number;
  cpus: number;
}

export interface TemplateFiles {
  dir: string;
  /** The guest RAM file the template ran on; clones map it privately. */
  memory: string;
  /** The device and CPU state (`migrate` stream, RAM excluded). */
  state: string;
  meta: string;
}

/** A complete template as found in the store: its files and the identity of this one save. */
export interface ReadyTemplate extends TemplateFiles {
  /** Tells this template from a later one of the same shape (a discard must not hit its successor). */
  id: string;
}

export interface TemplateMeta {
  shape: TemplateShape;
  fingerprint: string;
  created: string;
  id?: string;
  /** What the saved files were, so that a failed restore can tell a damaged template from a slow host. */
  stateSha256?: string;
  memoryBytes?: number;
}

/** Bumped whenever the command line layout or the save recipe changes incompatibly. */
const LAYOUT_VERSION = 'scsi-1-nic-4';

export function templateFiles(dir: string): TemplateFiles {
  return { dir, memory: join(dir, 'memory'), state: join(dir, 'state'), meta: join(dir, 'meta.json') };
}

export function shapeKey(shape: TemplateShape): string {
  return `${shape.memoryMiB}m-${shape.cpus}c`;
}

/** Hash of what a saved VM depends on: guest kernel and initramfs contents, the QEMU binary, the
 * accelerator and the TSC rate baked into the guest's command line. */
export async function templateFingerprint(inputs: { kernel: string; initrd: string; qemuBinary: string; accel: string; tscKhz: number }): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${LAYOUT_VERSION}\n${inputs.accel}\n${Math.round(inputs.tscKhz)}\n`);
  for (const file of [inputs.kernel, inputs.initrd]) {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  hash.update(qemuIdentity(inputs.qemuBinary));
  return hash.digest('hex').slice(0, 16);
}

/** Size and mtime of the QEMU binary (found on PATH when not absolute): an upgrade changes them. */
function qemuIdentity(binary: string): string {
  const candidates = binary.includes('/') ? [binary] : (process.env.PATH ?? '').split(':').map((d) => join(d, binary));
  for (const path of candidates) {
    try {
      const st = statSync(path);
      return `${path} ${st.size} ${st.mtimeMs}`;
    } catch {
      // not here
    }
  }
  return binary;
}

export class TemplateStore {
  readonly root: string;
  readonly fingerprint: string;

  constructor(root: string, fingerprint: string) {
    this.root = root;
    this.fingerprint = fingerprint;
  }

  private dirOf(shape: TemplateShape): string {
    return join(this.root, `${shapeKey(shape)}-${this.fingerprint}`);
  }

  /** The complete template for this shape and guest, if one exists. */
  find(shape: TemplateShape): ReadyTemplate | undefined {
    const files = templateFiles(this.dirOf(shape));
    if (!existsSync(files.state) || !existsSync(files.memory)) return undefined;
    const meta = readMeta(files.meta);
    if (!meta) return undefined;
    return { ...files, id: meta.id ?? meta.created };
  }

  /** Whether the template's files are still what was saved (a template saved without sums counts as intact). */
  intact(template: ReadyTemplate): boolean {
    const meta = readMeta(template.meta);
    if (!meta) return false;
    try {
      if (meta.stateSha256 !== undefined && sha256Of(template.state) !== meta.stateSha256) return false;
      if (meta.memoryBytes !== undefined && statSync(template.memory).size !== meta.memoryBytes) return false;
      return true;
    } catch {
      return false;
    }
  }

  /** A fresh temp directory to make a template in. */
  begin(shape: TemplateShape): TemplateFiles {
    // A template's memory is a booted guest's: root only (QEMU writes its files under umask 077).
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const dir = join(this.root, `.tmp-${shapeKey(shape)}-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    return templateFiles(dir);
  }

  /** Moves a finished temp template into place; false if one appeared meanwhile (the temp is dropped). */
  publish(tmp: TemplateFiles, shape: TemplateShape): boolean {
    const meta: TemplateMeta = {
      shape, fingerprint: this.fingerprint, created: new Date().toISOString(), id: randomBytes(8).toString('hex'),
      stateSha256: sha256Of(tmp.state), memoryBytes: statSync(tmp.memory).size,
    };
    writeJsonAtomic(tmp.meta, meta);
    try {
      renameSync(tmp.dir, this.dirOf(shape));
      return true;
    } catch {
      rmSync(tmp.dir, { recursive: true, force: true });
      return false;
    }
  }

  /** Drops a temp directory whose template could not be made. */
  discardTemp(tmp: TemplateFiles): void {
    rmSync(tmp.dir, { recursive: true, force: true });
  }

  /** Shape keys ("256m-1c") of the complete templates for this guest. */
  readyShapes(): string[] {
    if (!existsSync(this.root)) return [];
    const suffix = `-${this.fingerprint}`;
    return readdirSync(this.root)
      .filter((e) => !e.startsWith('.') && e.endsWith(suffix) && existsSync(join(this.root, e, 'meta.json')))
      .map((e) => e.slice(0, -suffix.length))
      .sort();
  }

  /**
   * Removes a template — only the given one (id), never a successor made meanwhile. Clones running
   * from it keep working: they map the memory file privately and an unlinked file lives on while
   * mapped (it is never truncated or rewritten in place).
   */
  discard(shape: TemplateShape, id?: string): void {
    if (id !== undefined && this.find(shape)?.id !== id) return;
    const dir = this.dirOf(shape);
    const doomed = `${dir}.discarded-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(dir, doomed); // out of sight first, so no start picks up a half-deleted template
    } catch {
      return;
    }
    rmSync(doomed, { recursive: true, force: true });
  }

  /**
   * At engine start: removes leftovers of interrupted saves (killing their QEMU if it still runs) and
   * templates of other guests/QEMUs, which can never be restored again.
   */
  sweep(): void {
    if (!existsSync(this.root)) return;
    for (const entry of readdirSync(this.root)) {
      const dir = join(this.root, entry);
      const current = entry.endsWith(`-${this.fingerprint}`) && !entry.startsWith('.');
      if (current) continue;
      if (entry.startsWith('.tmp-')) killLeftover(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function readMeta(path: string): TemplateMeta | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TemplateMeta;
  } catch {
    return undefined;
  }
}

/** The device state is small (the RAM is not in it): hashed in one read. */
function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function killLeftover(dir: string): void {
  try {
    const pid = Number(readFileSync(join(dir, 'qemu.pid'), 'utf8').trim());
    const meta = JSON.parse(readFileSync(join(dir, 'maker.json'), 'utf8')) as { vmName: string };
    if (isOurVm(pid, meta.vmName)) process.kill(pid, 'SIGKILL');
  } catch {
    // nothing running, or nothing we can prove is ours
  }
}
