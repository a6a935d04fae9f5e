// A container's stdin exists from create on: clients attach and write before the VM is up (`docker run
// -i` pipes input right after attaching), so bytes are held until the process runs, then delivered.
import type { VmHandle } from '../backend.ts';

export class PendingStdin {
  private vm?: VmHandle;
  private held: Buffer[] = [];
  private closed = false;

  write(data: Buffer): void {
    if (this.closed) return;
    if (this.vm) this.vm.stdin(data);
    else this.held.push(data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.vm?.closeStdin();
  }

  attach(vm: VmHandle): void {
    this.vm = vm;
    for (const chunk of this.held) vm.stdin(chunk);
    this.held = [];
    if (this.closed) vm.closeStdin();
  }

  /** The process ended: a later start begins with a fresh, open stdin. */
  detach(): void {
    this.vm = undefined;
    this.held = [];
    this.closed = false;
  }
}
