// `docker top`'s answer: the guest's raw process figures laid out like the `ps` output Docker would
// have run on its host. Only the formats the CLI's users commonly ask for exist (there is no `ps` to
// hand other options to); times are shown in the engine's time zone, as dockerd's ps would.
import type { GuestProcess, GuestProcessList } from '../../portlayer/backend.ts';
import { invalid } from '../../portlayer/errors.ts';

export interface PsTable {
  Titles: string[];
  Processes: string[][];
}

type Format = 'full' | 'default' | 'user' | 'bsd';

const COLUMNS: Record<Format, string[]> = {
  full: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
  default: ['PID', 'TTY', 'TIME', 'CMD'],
  user: ['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND'],
  bsd: ['PID', 'TTY', 'STAT', 'TIME', 'COMMAND'],
};

/** Which layout ps_args asks for; anything else is refused (400) rather than guessed. */
export function psFormat(psArgs: string): Format {
  const args = psArgs.trim().split(/\s+/).filter(Boolean);
  if (args.length === 0) return 'full'; // Docker's default is -ef
  if (args.every((a) => /^-[eAaf]+$/.test(a))) return args.some((a) => a.includes('f')) ? 'full' : 'default';
  if (args.length === 1 && /^-?[aux]+$/.test(args[0])) return args[0].includes('u') ? 'user' : 'bsd';
  throw invalid(`ps_args "${psArgs}" is not supported: processes are read from the container VM's /proc, which gives -ef (the default), -e, -f, aux and ax; -o and other ps options are not available`);
}

export function psTable(list: GuestProcessList, psArgs: string): PsTable {
  const format = psFormat(psArgs);
  const processes = [...list.processes].sort((a, b) => a.pid - b.pid);
  return { Titles: COLUMNS[format], Processes: processes.map((p) => row(format, p, list)) };
}

function row(format: Format, p: GuestProcess, list: GuestProcessList): string[] {
  const elapsed = list.now - p.startTime;
  const cpuPercent = elapsed > 0 ? (p.cpuSeconds / elapsed) * 100 : 0;
  const start = startTime(p.startTime, list.now);
  switch (format) {
    case 'full':
      return [p.user, String(p.pid), String(p.ppid), String(Math.min(99, Math.floor(cpuPercent))), start, p.tty, cpuTime(p.cpuSeconds), p.cmd];
    case 'default':
      return [String(p.pid), p.tty, cpuTime(p.cpuSeconds), p.cmd];
    case 'user': {
      const memPercent = list.memTotalKiB > 0 ? (p.rssKiB / list.memTotalKiB) * 100 : 0;
      return [p.user, String(p.pid), cpuPercent.toFixed(1), memPercent.toFixed(1), String(p.vszKiB), String(p.rssKiB), p.tty, stat(p), start, bsdTime(p.cpuSeconds), p.cmd];
    }
    case 'bsd':
      return [String(p.pid), p.tty, stat(p), bsdTime(p.cpuSeconds), p.cmd];
  }
}

/** ps's STIME/START: the time of day when started today, else month and day, else the year. */
export function startTime(startSeconds: number, nowSeconds: number): string {
  const started = new Date(startSeconds * 1000);
  const now = new Date(nowSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (started.toDateString() === now.toDateString()) return `${pad(started.getHours())}:${pad(started.getMinutes())}`;
  if (started.getFullYear() === now.getFullYear()) return `${started.toLocaleString('en-US', { month: 'short' })}${pad(started.getDate())}`;
  return String(started.getFullYear());
}

/** ps -f's TIME: [DD-]HH:MM:SS of CPU time. */
export function cpuTime(seconds: number): string {
  const total = Math.floor(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(total / 86400);
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `${days}-${clock}` : clock;
}

/** BSD ps's TIME: minutes:seconds. */
export function bsdTime(seconds: number): string {
  const total = Math.floor(seconds);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** BSD STAT: the state letter, then < or N (priority), s (session leader), l (threads), + (foreground). */
export function stat(p: GuestProcess): string {
  let s = p.state;
  if (p.nice < 0) s += '<';
  else if (p.nice > 0) s += 'N';
  if (p.session === p.pid) s += 's';
  if (p.threads > 1) s += 'l';
  if (p.tty !== '?' && p.tpgid === p.pgrp) s += '+';
  return s;
}
