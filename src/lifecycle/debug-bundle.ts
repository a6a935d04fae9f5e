// `bonneville debug --bundle FILE`: one tar.gz with what a support request needs — the engine's log,
// every container VM's console log, the VCH's settings and versions. Keys and certificates stay out.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { create } from 'tar';
import type { VchSettings } from './settings.ts';
import { installedVersion } from './version.ts';
import { poolStats } from './resource-pool.ts';

export async function writeDebugBundle(settings: VchSettings, file: string, extra: Record<string, unknown>): Promise<string[]> {
  const staging = mkdtempSync(join(tmpdir(), 'bonneville-bundle-'));
  const top = join(staging, `vch-${settings.name}`);
  try {
    mkdirSync(top, { mode: 0o700 });
    const copy = (from: string, to: string) => {
      if (!existsSync(from)) return;
      mkdirSync(join(top, to, '..'), { recursive: true });
      copyFileSync(from, join(top, to));
    };
    copy(join(settings.datastore, 'engine.log'), 'engine.log');
    const containers = join(settings.datastore, 'containers');
    if (existsSync(containers)) {
      for (const id of readdirSync(containers)) {
        copy(join(containers, id, 'console.log'), `containers/${id}/console.log`);
        copy(join(containers, id, 'state.json'), `containers/${id}/state.json`);
      }
    }
    writeFileSync(join(top, 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
    writeFileSync(join(top, 'versions.json'), JSON.stringify({
      vch: settings.version,
      installed: installedVersion(),
      previous: settings.previous?.version ?? null,
      upgrade: settings.upgrade ?? null,
      node: process.version,
      resourcePool: { ...settings.resourcePool, stats: poolStats(settings.resourcePool) },
      ...extra,
    }, null, 2) + '\n');
    const out = resolve(file);
    await create({ gzip: true, file: out, cwd: staging, portable: true }, [`vch-${settings.name}`]);
    return listFiles(top).map((f) => f.slice(top.length + 1));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
