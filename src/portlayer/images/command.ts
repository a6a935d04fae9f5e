// Runs the few host tools the store needs (tar, setfattr, mknod; the qemu disk store's mke2fs and debugfs) and reports their stderr on failure.

import { spawn } from 'node:child_process';

export class CommandError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(command: string, exitCode: number | null, stderr: string) {
    super(`${command} failed (exit ${exitCode}): ${stderr.trim() || 'no output'}`);
    this.name = 'CommandError';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Runs `command`; `input`, when given, is its whole standard input. */
export function runCommand(command: string, args: string[], input?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    if (input) {
      child.stdin!.on('error', () => {}); // a tool that exits early says why on stderr
      child.stdin!.end(input);
    }
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (stderr.length < 64 * 1024) stderr += text;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new CommandError(command, code, stderr))));
  });
}
