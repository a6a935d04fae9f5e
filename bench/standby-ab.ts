// `node bench/standby-ab.ts`: `docker run --rm busybox true` through a VCH with 2 standby clones, one
// without, and Debian's dockerd, interleaved run by run so that a machine busy with other work slows
// all three alike; medians and ratios to dockerd. (Not part of `npm run bench`.)
import { TestVch, runCommand, DOCKER } from '../test/helpers/vch.ts';
import { buildTestImages } from '../test/fixtures/images.ts';
import { PeerDockerd } from './peer-dockerd.ts';
import { parsePhases } from '../src/backends/qemu/phase-timer.ts';
const images = await buildTestImages();
const a = new TestVch('ab-standby', ['--standby-clones', '2']);
const b = new TestVch('ab-plain');
const peer = new PeerDockerd();
const med = (v: number[]) => { const s = [...v].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
try {
  await a.startWithBusybox(); await b.startWithBusybox(); await peer.start();
  await runCommand(DOCKER, ['load', '-i', images.busybox], { env: { ...process.env, DOCKER_HOST: peer.dockerHost } });
  for (const v of [a, b]) for (let i = 0; i < 120; i++) { const s = (await v.docker(['info','--format','{{json .DriverStatus}}'])).stdout; if (/templates ready: 256m/.test(s) && (v === b || /2 ready/.test(s))) break; await new Promise(r=>setTimeout(r,1000)); }
  const t: Record<string, number[]> = { standby: [], plain: [], dockerd: [] };
  const run = async (name: string, host: string) => { const t0 = performance.now(); const r = await runCommand(DOCKER, ['run','--rm','busybox','true'], { env: { ...process.env, DOCKER_HOST: host } }); if (r.code) throw new Error(r.stderr); t[name].push(performance.now() - t0); };
  for (let i = 0; i < 9; i++) {
    await run('dockerd', peer.dockerHost); await run('standby', a.dockerHost); await run('plain', b.dockerHost);
    await new Promise(r=>setTimeout(r,1500));
  }
  const d = med(t.dockerd);
  for (const k of Object.keys(t)) console.log(`${k.padEnd(8)} median ${med(t[k]).toFixed(0)} ms  ratio to dockerd ${(med(t[k]) / d).toFixed(2)}x  [${t[k].map(Math.round).join(' ')}]`);
  for (const [name, v, kind] of [['standby', a, /started on a standby clone/], ['plain', b, /started as a clone/]] as const) {
    const all = new Map<string, number[]>();
    for (const line of v.engineLog.split('\n')) if (kind.test(line)) for (const [k, ms] of parsePhases(line) ?? []) all.set(k, [...(all.get(k) ?? []), ms]);
    console.log(`${name} phases: ${[...all].map(([k, ms]) => `${k} ${med(ms)}`).join(', ')}`);
  }
  console.log(`load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally { await a.destroy(); await b.destroy(); await peer.stop(); }
