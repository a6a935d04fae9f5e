// A container's changes (overlayfs `upper/`) as an OCI layer tarball: overlay whiteouts (char 0:0
// devices) become `.wh.NAME` files and opaque directories (trusted.overlay.opaque=y) get
// `.wh..wh..opq`, the forms every image tool understands.
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { runCommand } from '../../../portlayer/images/command.ts';

const run = promisify(execFile);
const OPAQUE_MARKER = '.wh..wh..opq';

interface OverlayMarkers {
  /** Paths (relative to upper, "./"-prefixed) of whiteout devices. */
  whiteouts: string[];
  /** Directories (relative, "./"-prefixed) marked opaque. */
  opaque: string[];
}

function findWhiteouts(root: string, dir = root, found: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isCharacterDevice() && stat.rdev === 0) found.push(`./${relative(root, path)}`);
    else if (stat.isDirectory()) findWhiteouts(root, path, found);
  }
  return found;
}

export async function findOpaqueDirs(root: string): Promise<string[]> {
  // getfattr prints only the files that carry the attribute (the rest go to stderr, ignored).
  const { stdout } = await run('getfattr', ['--recursive', '--physical', '--absolute-names', '-n', 'trusted.overlay.opaque', root], { maxBuffer: 64 * 1024 * 1024 })
    .catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const dirs: string[] = [];
  let file = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice('# file: '.length);
    else if (line === 'trusted.overlay.opaque="y"' && file) dirs.push(file === root ? '.' : `./${relative(root, file)}`);
  }
  return dirs;
}

async function overlayMarkers(upper: string): Promise<OverlayMarkers> {
  return { whiteouts: findWhiteouts(upper), opaque: await findOpaqueDirs(upper) };
}

/** Writes the layer tarball for `upper` (undefined: no changes, an empty layer) to `out`. */
export async function writeChangesLayer(upper: string | undefined, out: string, scratch: string): Promise<void> {
  const markersDir = join(scratch, 'whiteout-markers');
  mkdirSync(markersDir, { recursive: true });
  if (!upper) {
    await runCommand('tar', ['-cf', out, '--files-from=/dev/null']);
    return;
  }
  const { whiteouts, opaque } = await overlayMarkers(upper);
  const markers: string[] = [];
  for (const device of whiteouts) {
    const marker = join(dirname(device), `.wh.${device.slice(device.lastIndexOf('/') + 1)}`);
    markers.push(marker.startsWith('.') ? marker : `./${marker}`);
  }
  for (const dir of opaque) markers.push(`${dir}/${OPAQUE_MARKER}`);
  for (const marker of markers) {
    mkdirSync(dirname(join(markersDir, marker)), { recursive: true });
    writeFileSync(join(markersDir, marker), '');
  }
  const excludes = join(scratch, 'whiteout-devices');
  writeFileSync(excludes, whiteouts.map((w) => `${w}\n`).join(''));
  await runCommand('tar', [
    '-cf', out, '--numeric-owner', '--xattrs', '--xattrs-include=user.*', '--xattrs-include=security.capability',
    '--anchored', '--no-wildcards', `--exclude-from=${excludes}`, '-C', upper, '.',
    // tar refuses positional options with nothing after them: no markers, no second directory.
    ...(markers.length > 0 ? ['-C', markersDir, '--no-recursion', ...markers] : []),
  ]);
}
