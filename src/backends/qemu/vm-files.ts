// The files a container VM keeps in its container directory, named in one place.
import { join } from 'node:path';

export interface VmFiles {
  /** The guest's log port: the main process's output and exit, in tether frames. */
  log: string;
  /** The guest's serial console (kernel and tether diagnostics). */
  console: string;
  /** QEMU's own stdout/stderr. */
  qemuOutput: string;
  pid: string;
  /** What the running VM is (pid, socket names): lets a later engine adopt it. */
  runtime: string;
}

export function vmFiles(dir: string): VmFiles {
  return {
    log: join(dir, 'output.log'),
    console: join(dir, 'console.log'),
    qemuOutput: join(dir, 'qemu.log'),
    pid: join(dir, 'qemu.pid'),
    runtime: join(dir, 'vm.json'),
  };
}

/** Abstract unix socket names: datastore paths are too long for sun_path, and nothing is left on disk. */
export function socketNames(id: string): { control: string; qmp: string } {
  return { control: `bonneville/${id}/control`, qmp: `bonneville/${id}/qmp` };
}
