// The vSphere backend at scale against vcsim: BENCH_VSPHERE_VMS container VMs (default 1,000) made
// through the Docker API (create + start, BENCH_VSPHERE_CONCURRENCY at a time), then
//  - the provisioning rate (containers per minute: each one a writable disk, a VM with its devices
//    and extraConfig, a power-on, all through vcsim's SOAP API);
//  - `docker ps -a` with every one of them there (the docker CLI, median of 5);
//  - an engine restart: the time until it answers and lists them all running again (re-adoption).
// vcsim runs no guests: these are inventory and power operations only, not guest boots. Next to it,
// in the same run and the same way, the QEMU backend's rate: BENCH_VSPHERE_QEMU_VMS (default 50;
// each a real microVM under TCG here, so far fewer) container VMs made and started.
// Run: node_modules/.bin/node bench/vsphere-scale.ts, or BENCH_SCALE=vsphere npm run bench.
import Docker from 'dockerode';
import { TestVch, runCommand, DOCKER } from '../test/helpers/vch.ts';
import { Vcsim } from '../test/helpers/vcsim.ts';
import { VimClient } from '../src/vim25/session.ts';
import { resolveTarget } from '../src/backends/vsphere/target.ts';
import { destroyVch, ensureVch } from '../src/backends/vsphere/vch-pool.ts';
import { median, pool } from './measure.ts';

const COUNT = Number(process.env.BENCH_VSPHERE_VMS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_VSPHERE_CONCURRENCY ?? 8);
const QEMU_COUNT = Number(process.env.BENCH_VSPHERE_QEMU_VMS ?? 50);
const VCH = 'vch-scale';

async function timePs(vch: TestVch): Promise<{ ms: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await runCommand(DOCKER, ['ps', '-a', '--format', '{{.ID}} {{.Status}}'], { env: { ...process.env, DOCKER_HOST: vch.dockerHost } });
    times.push(performance.now() - t0);
    if (r.code !== 0) throw new Error(`docker ps -a: ${r.stderr}`);
    rows = r.stdout.trim().split('\n').filter(Boolean).length;
  }
  return { ms: median(times), rows };
}

/** Creates and starts `count` busybox sleepers through the Docker API, `width` at a time: containers per minute. */
async function provision(vch: TestVch, count: number, width: number): Promise<{ seconds: number; perMinute: number }> {
  const docker = new Docker({ socketPath: vch.socket });
  let done = 0;
  const t0 = performance.now();
  await pool(Array.from({ length: count }, (_, i) => i), width, async (i) => {
    const c = await docker.createContainer({ name: `c${i}`, Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } });
    await c.start();
    done++;
    if (done % 100 === 0) console.error(`${done} running after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, perMinute: Math.round(count / seconds * 60) };
}

/** The QEMU backend's provisioning rate, measured as the vSphere one is. */
async function qemuRate(): Promise<{ containerVms: number; containersPerMinute: number; provisioningSeconds: number }> {
  const vch = new TestVch('scale-qemu', ['--memory', '128']);
  try {
    await vch.startWithBusybox();
    const r = await provision(vch, QEMU_COUNT, CONCURRENCY);
    return { containerVms: QEMU_COUNT, containersPerMinute: r.perMinute, provisioningSeconds: Number(r.seconds.toFixed(1)) };
  } finally {
    await vch.destroy();
  }
}

async function main(): Promise<void> {
  // The QEMU backend first, while the vCenter side does not yet take the host's cores.
  const qemu = await qemuRate();
  const sim = await Vcsim.start(['-vm', '0']);
  // vcsim logs every change; what matters when it fails is a panic, kept whole.
  let simLog = '';
  sim.proc.stderr!.on('data', (d: Buffer) => { if (simLog || d.includes('panic')) simLog = (simLog + d.toString()).slice(0, 6000); });
  process.on('exit', (code) => { if (code && simLog) console.error(`vcsim panicked:\n${simLog}`); });
  const client = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: sim.info.username, password: sim.info.password });
  const target = await resolveTarget(client, { datacenter: 'DC0', computeResource: 'DC0_C0', datastore: 'LocalDS_0', dvs: 'DVS0' });
  const placement = await ensureVch(client, target, VCH, {});
  const args = ['--backend', 'vsphere', '--target', sim.urlWithCredentials, '--thumbprint', sim.info.thumbprintSha256,
    '--compute-resource', '/DC0/host/DC0_C0', '--image-store', 'LocalDS_0', '--bridge-network', 'DC0_DVPG0', '--memory', '64',
    // Inventory and power operations only: no guest boots (no host agent), so no tether line.
    '--tether-uri', 'none'];
  let vch = new TestVch(VCH, args);
  try {
    await vch.startWithBusybox();
    const provisioned = await provision(vch, COUNT, CONCURRENCY);
    const provisionS = provisioned.seconds;
    const ps = await timePs(vch);

    await vch.killEngine();
    vch = new TestVch(VCH, args, vch.dir);
    const r0 = performance.now();
    await vch.start();
    const answeredS = (performance.now() - r0) / 1000;
    const after = await runCommand(DOCKER, ['ps', '-q'], { env: { ...process.env, DOCKER_HOST: vch.dockerHost } });
    const running = after.stdout.trim().split('\n').filter(Boolean).length;
    if (running < COUNT) {
      const exited = await runCommand(DOCKER, ['ps', '-a', '--filter', 'status=exited', '--format', '{{.ID}} {{.Status}}'], { env: { ...process.env, DOCKER_HOST: vch.dockerHost } });
      console.error(`not running after the restart:\n${exited.stdout}`);
      const ids = exited.stdout.trim().split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
      console.error(vch.engineLog.split('\n').filter((l) => ids.some((id) => l.includes(id)) || /adopt|vSphere/.test(l)).slice(0, 20).join('\n'));
      for (const id of ids.slice(0, 3)) console.error((await runCommand(DOCKER, ['inspect', '--format', '{{json .State}}', id], { env: { ...process.env, DOCKER_HOST: vch.dockerHost } })).stdout);
    }
    const readoptS = (performance.now() - r0) / 1000;
    const psAfter = await timePs(vch);

    console.log(JSON.stringify({
      containerVms: COUNT,
      concurrency: CONCURRENCY,
      provisioningSeconds: Number(provisionS.toFixed(1)),
      containersPerMinute: provisioned.perMinute,
      dockerPsAllMs: Math.round(ps.ms),
      dockerPsAllRows: ps.rows,
      restart: { answeredSeconds: Number(answeredS.toFixed(2)), runningAfterRestart: running, listedSeconds: Number(readoptS.toFixed(2)), dockerPsAllMs: Math.round(psAfter.ms) },
      qemuBackend: qemu,
    }, null, 2));
  } finally {
    await vch.destroy();
    await destroyVch(client, placement).catch(() => {});
    await client.logout().catch(() => {});
    await sim.stop();
  }
}

const wanted = process.env.BENCH_FROM_RUN ? (process.env.BENCH_SCALE ?? '').split(',').map((x) => x.trim()).includes('vsphere') : true;
if (wanted) await main();
