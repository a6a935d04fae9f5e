// What a volume create may ask for: a name Docker would accept, a driver we can stand in for, and the
// driver options we understand (only `size`). Anything else is refused rather than silently ignored.
import { randomBytes } from 'node:crypto';
import { invalid, notFound } from '../errors.ts';

/** Docker's rule for local volume names; it also keeps names clear of our `.creating-` files. */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** Every one of these is the same thing here: a disk of the backend's disk store. */
const DRIVERS = new Set(['local', 'vsphere', 'vm-disk']);

export const DEFAULT_VOLUME_BYTES = 8 * 1024 ** 3;
const MIN_VOLUME_BYTES = 16 * 1024 ** 2;
const MAX_VOLUME_BYTES = 16 * 1024 ** 4;

export function validateVolumeName(name: string): string {
  if (!NAME.test(name) || name.length > 200) {
    throw invalid(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
  return name;
}

export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

export function validateDriver(driver: string | undefined): string {
  const name = driver || 'local';
  if (!DRIVERS.has(name)) throw notFound(`error looking up volume plugin ${name}: plugin "${name}" not found`);
  return name;
}

/** The disk size the options ask for; unknown options are refused. */
export function sizeFromOptions(options: Record<string, string>): number {
  let size = DEFAULT_VOLUME_BYTES;
  for (const [key, value] of Object.entries(options)) {
    if (key.toLowerCase() !== 'size') throw invalid(`invalid option: "${key}" (a volume here is a disk; the only option is size, e.g. size=2G)`);
    size = parseSize(value);
  }
  if (size < MIN_VOLUME_BYTES || size > MAX_VOLUME_BYTES) throw invalid(`invalid volume size ${options.size ?? options.Size}: it must be between 16M and 16T`);
  return size;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "2G", "512m", "1.5GiB", "1073741824": binary units, like Docker's memory sizes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw invalid(`invalid size: "${text}" (use e.g. 512M, 2G)`);
  return Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}
