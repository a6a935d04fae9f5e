// Pull of a multi-layer image from a local Debian docker-registry, through Bonneville and through
// Debian's dockerd in the same run, as a ratio (dockerd's time / Bonneville's: above 1 means faster).
// The image is made of local files (several real directories of this machine, one layer each),
// cached under build/bench-pull/; each round removes the image first so every pull is cold.
// After the rounds, one more pull runs in this process against a scratch store, to print where
// Bonneville's time goes, layer by layer and phase by phase (see src/portlayer/images/phase-times.ts).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ext4DiskStore } from '../src/backends/qemu/disks/ext4-disk-store.ts';
import { DiskImageStore, parseReference } from '../src/portlayer/images/index.ts';
import type { Phase } from '../src/portlayer/images/phase-times.ts';
import { DEFAULT_REGISTRY_ACCESS } from '../src/portlayer/images/registry/access.ts';
import { TestVch, runCommand, DOCKER, repoRoot } from '../test/helpers/vch.ts';
import { imageConfig } from '../test/fixtures/images.ts';
import { sha256File, writeDockerArchive } from '../test/fixtures/image-tarballs.ts';
import { TestRegistry, skopeoCopy } from '../test/images-remote/peers.ts';
import { PeerDockerd } from './peer-dockerd.ts';

const RUNS = Number(process.env.BENCH_PULL_RUNS ?? 3);
const PER_ROUND = 1;
const SOURCES = ['/usr/lib/python3.11', '/usr/share/perl', '/usr/share/i18n', '/usr/lib/x86_64-linux-gnu/perl-base', '/usr/share/zoneinfo'].filter(existsSync);
const CACHE = join(repoRoot, 'build/bench-pull');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function benchImage(): Promise<string> {
  const archive = join(CACHE, 'multilayer.tar');
  const stamp = join(CACHE, 'stamp');
  const wanted = `1 ${SOURCES.join(' ')}\n`;
  if (existsSync(archive) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return archive;
  mkdirSync(CACHE, { recursive: true });
  const layers: string[] = [];
  for (const [index, source] of SOURCES.entries()) {
    const layer = join(CACHE, `layer${index}.tar`);
    const result = await runCommand('tar', ['--sort=name', '--mtime=2024-01-01', '--numeric-owner', '-cf', layer, source]);
    if (result.code !== 0) throw new Error(`tar ${source}: ${result.stderr}`);
    layers.push(layer);
  }
  const diffIds = await Promise.all(layers.map(sha256File));
  const config = imageConfig(diffIds, SOURCES.map((s) => `COPY ${s}`));
  await writeDockerArchive(archive, [{ config, layers, repoTags: ['bench/multilayer:latest'] }]);
  writeFileSync(stamp, wanted);
  return archive;
}

async function timePulls(dockerHost: string, reference: string, runs: number): Promise<number[]> {
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await runCommand(DOCKER, ['rmi', '-f', reference], { env });
    await runCommand(DOCKER, ['image', 'prune', '-af'], { env });
    const t0 = performance.now();
    const result = await runCommand(DOCKER, ['pull', '-q', reference], { env });
    const elapsed = performance.now() - t0;
    if (result.code !== 0) throw new Error(`docker pull failed against ${dockerHost}: ${result.stderr}`);
    times.push(elapsed);
  }
  return times;
}

const PHASES: Phase[] = ['download', 'queued', 'unpack', 'nodes', 'verify', 'mke2fs', 'debugfs', 'commit', 'cleanup'];

/** One pull in this process with the store's phase recorder on: a table of ms per layer and phase. */
async function phaseBreakdown(reference: string, registryHost: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bonneville-bench-phases-'));
  const layers = new Map<string, Map<Phase, number>>();
  try {
    const store = new DiskImageStore({ disks: new Ext4DiskStore(),
      root,
      phases: (layer, phase, ms) => {
        const row = layers.get(layer) ?? new Map<Phase, number>();
        row.set(phase, (row.get(phase) ?? 0) + ms);
        layers.set(layer, row);
      },
    });
    const t0 = performance.now();
    await store.pull({ reference: parseReference(reference), credentials: {}, access: { ...DEFAULT_REGISTRY_ACCESS, insecure: [registryHost] }, progress: () => {} });
    const wall = performance.now() - t0;
    const sizes = new Map(store.resolve(reference)!.layers.map((l) => [l.diffId, l.size]));
    console.log(`where the time goes (one pull in-process, wall ${(wall / 1000).toFixed(2)} s; ms per phase, layers run side by side; download overlaps unpack):`);
    console.log(['layer'.padEnd(12), 'MB'.padStart(6), ...PHASES.map((p) => p.padStart(8))].join(' '));
    const totals = new Map<Phase, number>();
    for (const [layer, row] of layers) {
      for (const [phase, ms] of row) totals.set(phase, (totals.get(phase) ?? 0) + ms);
      const mb = ((sizes.get(layer) ?? 0) / 1e6).toFixed(1);
      console.log([layer.slice(7, 19), mb.padStart(6), ...PHASES.map((p) => (row.get(p) ?? 0).toFixed(0).padStart(8))].join(' '));
    }
    console.log(['sum'.padEnd(12), ''.padStart(6), ...PHASES.map((p) => (totals.get(p) ?? 0).toFixed(0).padStart(8))].join(' '));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const archive = await benchImage();
  const registry = new TestRegistry();
  const vch = new TestVch('bench-pull');
  const peer = new PeerDockerd();
  try {
    await registry.start();
    const reference = `${registry.host}/bench/multilayer:latest`;
    await skopeoCopy(`docker-archive:${archive}`, `docker://${reference}`);
    mkdirSync(vch.datastore, { recursive: true });
    writeFileSync(join(vch.datastore, 'registries.json'), JSON.stringify({ insecureRegistries: [registry.host] }));
    await vch.start();
    await peer.start(); // dockerd treats 127.0.0.0/8 registries as insecure by default
    // Alternate so neither side always gets the warmer page cache.
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 0; round < RUNS; round++) {
      ours.push(...(await timePulls(vch.dockerHost, reference, PER_ROUND)));
      theirs.push(...(await timePulls(peer.dockerHost, reference, PER_ROUND)));
    }
    const b = median(ours);
    const d = median(theirs);
    console.log(`image: ${SOURCES.length} layers (${SOURCES.join(', ')})`);
    console.log(`docker pull, median of ${RUNS}: bonneville ${(b / 1000).toFixed(2)} s, dockerd ${(d / 1000).toFixed(2)} s`);
    console.log(`pull ratio (dockerd time / bonneville time, >= 1.0 means at least as fast): ${(d / b).toFixed(2)}x`);
    await phaseBreakdown(reference, registry.host);
  } finally {
    await vch.destroy();
    await peer.stop();
    await registry.stop();
  }
}

await main();
