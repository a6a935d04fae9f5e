// Facts about the host that the guest's kernel command line needs.
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';

export interface TscReading {
  khz: number;
  /** Where the figure came from, for logs and `docker info`. */
  source: 'sysfs' | 'kernel-log' | 'cpuinfo';
}

let cached: TscReading | undefined;

/**
 * The host's TSC frequency in kHz, for the guest's `tsc_early_khz=` (under TCG the guest's TSC runs at
 * the host's rate, and a microvm guest hangs trying to calibrate it). Read once, then cached.
 */
export function readTscKhz(): number {
  return readTsc().khz;
}

/** readTscKhz with its source. Sources, most exact first: a kernel that exports tsc_freq_khz; the
 * kernel's own calibration in its log; /proc/cpuinfo's "cpu MHz" (the current clock, which equals
 * the TSC only when the CPU does not scale its frequency). */
export function readTsc(): TscReading {
  cached ??= fromSysfs() ?? fromKernelLog() ?? fromCpuinfo();
  return cached;
}

function fromSysfs(): TscReading | undefined {
  const text = readOptional('/sys/devices/system/cpu/cpu0/tsc_freq_khz');
  const khz = text === undefined ? NaN : Number(text.trim());
  return khz > 0 ? { khz: Math.round(khz), source: 'sysfs' } : undefined;
}

function fromKernelLog(): TscReading | undefined {
  const khz = parseKernelLogTscKhz(readKernelLog());
  return khz === undefined ? undefined : { khz, source: 'kernel-log' };
}

function fromCpuinfo(): TscReading {
  const khz = parseCpuinfoKhz(readOptional('/proc/cpuinfo') ?? '');
  if (khz === undefined) throw new Error('cannot determine the host TSC frequency (no tsc_freq_khz, kernel log or cpu MHz)');
  return { khz, source: 'cpuinfo' };
}

/** The refined calibration wins over the early estimate ("Detected … MHz processor"). */
export function parseKernelLogTscKhz(log: string): number | undefined {
  const refined = /tsc: Refined TSC clocksource calibration: (\d+(?:\.\d+)?) MHz/.exec(log);
  const detected = /tsc: Detected (\d+(?:\.\d+)?) MHz (?:processor|TSC)/.exec(log);
  const mhz = refined?.[1] ?? detected?.[1];
  return mhz === undefined ? undefined : Math.round(Number(mhz) * 1000);
}

export function parseCpuinfoKhz(cpuinfo: string): number | undefined {
  const mhz = /^cpu MHz\s*:\s*(\d+(?:\.\d+)?)/m.exec(cpuinfo)?.[1];
  return mhz === undefined ? undefined : Math.round(Number(mhz) * 1000);
}

/** The kernel's ring buffer through /dev/kmsg (root, or dmesg_restrict=0): one record per read. */
function readKernelLog(): string {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  const lines: string[] = [];
  const record = Buffer.alloc(8192);
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, record, 0, record.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue; // the oldest records were overwritten while reading
        break; // EAGAIN: the end of the buffer
      }
      if (n <= 0) break;
      const text = record.toString('utf8', 0, n);
      lines.push(text.slice(text.indexOf(';') + 1));
    }
  } finally {
    closeSync(fd);
  }
  return lines.join('');
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
