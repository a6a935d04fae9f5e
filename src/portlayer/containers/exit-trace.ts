// Where a container's end spends its time, from its start's return until its waiters are answered:
// the backend's steps (VmHandle.exitMarks) and the port layer's, logged as "exit phases: name Nms, …"
// (the bench reads these lines). Timing only: nothing here changes what happens.
import type { ExitMark } from '../backend.ts';

export class ExitTrace {
  private readonly marks: ExitMark[];
  private readonly guestSteps: Array<[string, number]>;

  /**
   * `runningSince`: performance.now() when the container was recorded running (or re-adopted).
   * `guestSteps`: the guest's own steps (VmHandle.exitGuestSteps), logged as guest-<name>: they
   * detail the first phase, they do not add to the total.
   */
  constructor(runningSince: number, backendMarks: ExitMark[] = [], guestSteps: Array<[string, number]> = []) {
    this.marks = [['running', runningSince], ...backendMarks];
    this.guestSteps = guestSteps;
  }

  mark(name: string): void {
    this.marks.push([name, performance.now()]);
  }

  /** "exit-frame 300ms, qemu-closed 20ms": each step reached, with the time since the one before. */
  describe(): string {
    return [
      ...this.marks.slice(1).map(([name, at], i) => `${name} ${Math.max(0, Math.round(at - this.marks[i][1]))}ms`),
      ...this.guestSteps.map(([name, ms]) => `guest-${name} ${ms}ms`),
    ].join(', ');
  }
}
