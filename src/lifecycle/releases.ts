// Releases: the code a VCH's engine runs, kept per version under <home>/releases/<version>/, so that
// `rollback` runs the earlier version's code even after a newer Bonneville replaced the installed tree
// (vic-machine kept the previous appliance ISO for the same reason). A release is a snapshot of the
// installed tree's runtime parts, made when a VCH first moves to that version, and removed when no
// VCH (nor any VCH's rollback target) uses it any more.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { repoRoot } from './engine-command.ts';
import type { VchSettings } from './settings.ts';

const run = promisify(execFile);

/** What an engine needs to run: its code, its npm packages (Node itself included), the guest it boots. */
const COPIED = ['package.json', 'src', 'build/guest'];
/** Hard links where the file system allows: npm replaces files rather than rewriting them in place. */
const LINKED = ['node_modules'];

/** The file in a release naming its version (the engine reports it; see version.ts). */
export const RELEASE_FILE = 'RELEASE';

export function releasesDir(home: string): string {
  return join(home, 'releases');
}

export function releaseDir(home: string, version: string): string {
  if (!/^[\w.+-]+$/.test(version)) throw new Error(`unusable version string ${JSON.stringify(version)}`);
  return join(releasesDir(home), version);
}

/**
 * The release for `version`, made from the installed tree when missing (which must then be that
 * version). Made in a temporary directory and renamed into place: a crash leaves no half release.
 */
export async function keepRelease(home: string, version: string): Promise<string> {
  const dir = releaseDir(home, version);
  if (existsSync(dir)) return dir;
  mkdirSync(releasesDir(home), { recursive: true, mode: 0o700 });
  const tmp = join(releasesDir(home), `.tmp-${version}-${randomBytes(4).toString('hex')}`);
  try {
    for (const part of [...COPIED, ...LINKED]) {
      const from = join(repoRoot, part);
      if (!existsSync(from)) throw new Error(`the installed tree has no ${part} (${from}): run scripts/setup.sh`);
      const to = join(tmp, part);
      mkdirSync(join(to, '..'), { recursive: true });
      if (LINKED.includes(part)) {
        // Another file system than the install's: hard links fail, a copy does.
        await run('cp', ['-al', from, to]).catch(() => run('cp', ['-a', from, to]));
      } else {
        await run('cp', ['-a', from, to]);
      }
    }
    writeFileSync(join(tmp, RELEASE_FILE), `${version}\n`);
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(dir)) return dir; // made meanwhile by another verb
    throw err;
  }
  return dir;
}

/** Removes releases (and leftovers of interrupted snapshots) that no VCH runs or can roll back to. */
export function pruneReleases(home: string, vchs: VchSettings[]): void {
  const dir = releasesDir(home);
  if (!existsSync(dir)) return;
  const used = new Set(vchs.flatMap((s) => [s.release, s.previous?.release]).filter((r): r is string => !!r));
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (!used.has(path)) rmSync(path, { recursive: true, force: true });
  }
}
