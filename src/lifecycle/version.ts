// The version of the installed Bonneville: what `bonneville upgrade` moves a VCH to and what a freshly
// started engine reports. Code running from a release (a snapshot under <home>/releases, see
// releases.ts) is that release's version, whatever is installed now. Tests fake an installed upgrade through BONNEVILLE_TEST_VERSION_FILE: when the
// file it names exists, its content is the installed version (read at each call, so a running supervisor
// sees a "newly installed" version as a new install would be seen).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINE_VERSION } from '../engine/engine.ts';
import { repoRoot } from './engine-command.ts';
import { RELEASE_FILE } from './releases.ts';

export function installedVersion(): string {
  try {
    return readFileSync(join(repoRoot, RELEASE_FILE), 'utf8').trim();
  } catch {
    // the installed tree, not a release
  }
  const override = process.env.BONNEVILLE_TEST_VERSION_FILE;
  if (override) {
    try {
      const text = readFileSync(override, 'utf8').trim();
      if (text) return text;
    } catch {
      // no override installed
    }
  }
  return ENGINE_VERSION;
}
