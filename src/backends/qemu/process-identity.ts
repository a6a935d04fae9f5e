// A pid from a file is only trusted while /proc says it is still our VM: pids get reused.
import { readFileSync } from 'node:fs';

export function isOurVm(pid: number, vmName: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && argv.some((arg, i) => argv[i - 1] === '-name' && arg.split(',')[0] === vmName);
  } catch {
    return false;
  }
}

export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** SIGKILL, where a process that already went away is no error. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
