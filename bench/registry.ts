// Push/pull throughput of a multi-layer image via skopeo: Bonneville's registry vs Debian's
// docker-registry (distribution 2.8), measured in the same run on the same machine. Both serve
// from processes of their own (ours through src/registry/main.ts, as deployed): a registry inside
// this process would pay for the garbage the image generation below leaves behind.
//   node bench/registry.ts [--layers 4] [--layer-mib 16] [--rounds 5]
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_PASSWORD, createProject, makeOciLayout, run } from '../test/registry/helpers.ts';
import { spawnRegistry } from '../test/registry/processes.ts';

const { values } = parseArgs({ options: { layers: { type: 'string', default: '4' }, 'layer-mib': { type: 'string', default: '16' }, rounds: { type: 'string', default: '5' } } });
const layers = Number(values.layers), layerMiB = Number(values['layer-mib']), rounds = Number(values.rounds);

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
});

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += (await stat(join(e.parentPath, e.name))).size;
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bonneville-registry-bench-'));
  const ours = await spawnRegistry(join(work, 'ours'));
  const theirsPort = await freePort();
  const theirsRoot = join(work, 'docker-registry');
  const config = join(work, 'config.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${theirsRoot}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${theirsPort}\n`);
  const theirs = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      try { if ((await fetch(`http://127.0.0.1:${theirsPort}/v2/`)).ok) break; } catch { /* not up yet */ }
      if (i > 100) throw new Error('docker-registry did not start');
      await sleep(100);
    }
    await createProject(ours.url, 'bench');
    // Fresh random layers per round and target: skopeo's blob-info cache (kept outside HOME for
    // root) would otherwise turn repeated pushes of known blobs into cross-repository mounts.
    const layoutFor = async (label: string) => {
      const dir = join(work, `layout-${label}`);
      await makeOciLayout(dir, 'latest', Array.from({ length: layers }, () => layerMiB * 1024 * 1024));
      return dir;
    };
    let bytes = 0;
    const policy = join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));

    const targets = {
      ours: { host: new URL(ours.url).host, creds: ['--dest-creds', `admin:${ADMIN_PASSWORD}`], srcCreds: ['--src-creds', `admin:${ADMIN_PASSWORD}`], prefix: 'bench/' },
      'docker-registry': { host: `127.0.0.1:${theirsPort}`, creds: [], srcCreds: [], prefix: 'bench/' },
    };
    const results: Record<string, { push: number[]; pull: number[] }> = { ours: { push: [], pull: [] }, 'docker-registry': { push: [], pull: [] } };
    for (let round = 0; round < rounds; round++) {
      // Alternating who goes first, so neither always runs right after the other's disk writes.
      const order = Object.entries(targets);
      if (round % 2 === 1) order.reverse();
      for (const [name, tgt] of order) {
        // A fresh HOME per copy: skopeo's blob-info cache would otherwise turn pushes into mounts.
        const home = join(work, `home-${name}-${round}`);
        await mkdir(home);
        const env = { ...process.env, HOME: home };
        const layout = await layoutFor(`${name}-${round}`);
        bytes = await dirBytes(join(layout, 'blobs'));
        const ref = `docker://${tgt.host}/${tgt.prefix}img${round}:latest`;
        let t0 = performance.now();
        await run('skopeo', ['--policy', policy, 'copy', '--dest-tls-verify=false', ...tgt.creds, `oci:${layout}:latest`, ref], { env, timeout: 600_000 });
        results[name].push.push((performance.now() - t0) / 1000);
        const out = join(work, `out-${name}-${round}`);
        t0 = performance.now();
        await run('skopeo', ['--policy', policy, 'copy', '--src-tls-verify=false', ...tgt.srcCreds, ref, `oci:${out}:latest`], { env, timeout: 600_000 });
        results[name].pull.push((performance.now() - t0) / 1000);
        await rm(out, { recursive: true, force: true });
        await rm(layout, { recursive: true, force: true });
      }
    }
    const mbps = (s: number) => bytes / 1024 / 1024 / s;
    console.log(`image: ${layers + 1} layers, ${(bytes / 1024 / 1024).toFixed(1)} MiB; ${rounds} rounds; medians; plain HTTP on loopback`);
    for (const [name, r] of Object.entries(results)) {
      console.log(`${name.padEnd(16)} push ${mbps(median(r.push)).toFixed(1)} MiB/s (${median(r.push).toFixed(2)} s)   pull ${mbps(median(r.pull)).toFixed(1)} MiB/s (${median(r.pull).toFixed(2)} s)`);
    }
    // Each round's ratio compares two copies made seconds apart, so load from elsewhere on the
    // machine (which comes and goes over a run) mostly cancels out; the median of those is the result.
    const ratio = (k: 'push' | 'pull') => median(results.ours[k].map((t, i) => results['docker-registry'][k][i] / t));
    const all = (r: number[]) => r.map((x) => x.toFixed(2)).join(' ');
    for (const [name, r] of Object.entries(results)) console.log(`${name.padEnd(16)} push s: ${all(r.push)}   pull s: ${all(r.pull)}`);
    console.log(`throughput ratio ours/docker-registry (median of per-round ratios): push ${ratio('push').toFixed(2)}, pull ${ratio('pull').toFixed(2)}`);
  } finally {
    theirs.kill('SIGTERM');
    const exited = new Promise((resolve) => ours.child.once('exit', resolve));
    ours.child.kill('SIGTERM');
    await exited;
    await rm(work, { recursive: true, force: true });
  }
}

await main();
