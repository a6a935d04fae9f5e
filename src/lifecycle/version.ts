// The version of the installed Bonneville: what `bonneville upgrade` moves a VCH to and what a freshly
// started engine reports. Tests fake an installed upgrade through BONNEVILLE_TEST_VERSION_FILE: when the
// file it names exists, its content is the installed version (read at each call, so a running supervisor
// sees a "newly installed" version as a new install would be seen).
import { readFileSync } from 'node:fs';
import { ENGINE_VERSION } from '../engine/engine.ts';

export function installedVersion(): string {
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
