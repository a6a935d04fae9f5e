// Container processes on the vSphere backend: `vch serve --backend vsphere` against vcsim, with the
// test host agent (test/helpers/host-agent.ts) playing ESXi — each container VM vcsim powers on runs in
// QEMU (TCG) from its datastore files, booting the bootstrap ISO, its serial port connected out to the
// VCH's tether listener. Driven by the real docker CLI: output, exit codes, exec, logs, stop, a volume
// shared by two containers in turn, and an engine killed and restarted while a container runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Vcsim } from '../../helpers/vcsim.ts';
import { HostAgent } from '../../helpers/host-agent.ts';
import { TestVch } from '../../helpers/vch.ts';
import { VimClient } from '../../../src/vim25/session.ts';
import { resolveTarget } from '../../../src/backends/vsphere/target.ts';
import { destroyVch, ensureVch, type VchPlacement } from '../../../src/backends/vsphere/vch-pool.ts';

const VCH = 'vch-guest';
let sim: Vcsim;
let agent: HostAgent;
let client: VimClient;
let placement: VchPlacement;
let vch: TestVch;
let tetherPort: number;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function engineArgs(): string[] {
  return ['--backend', 'vsphere', '--target', sim.urlWithCredentials, '--thumbprint', sim.info.thumbprintSha256,
    '--compute-resource', '/DC0/host/DC0_C0', '--image-store', 'LocalDS_0/bonneville', '--volume-store', 'LocalDS_1/volumes:default',
    '--bridge-network', 'DC0_DVPG0', '--tether-uri', `tcp://127.0.0.1:${tetherPort}`];
}

/** What to look at when a step fails: the agent's troubles and the engine's log. */
function context(): string {
  return `agent: ${JSON.stringify(agent.problems)}\nengine: ${vch.engineLog.slice(-3000)}\nconsoles:\n${agent.consoleTails()}`;
}

before(async () => {
  sim = await Vcsim.start();
  client = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: sim.info.username, password: sim.info.password });
  const target = await resolveTarget(client, { datacenter: 'DC0', computeResource: 'DC0_C0', datastore: 'LocalDS_0', dvs: 'DVS0' });
  placement = await ensureVch(client, target, VCH, {});
  agent = await HostAgent.start(sim.info);
  tetherPort = await freePort();
  vch = new TestVch(VCH, engineArgs());
  await vch.startWithBusybox();
});

after(async () => {
  await vch?.destroy();
  await agent?.stop();
  if (placement) await destroyVch(client, placement).catch(() => {});
  await client?.logout().catch(() => {});
  await sim?.stop();
});

test('docker run --rm busybox echo hi prints hi; an exit code comes back', { timeout: 600_000 }, async () => {
  const run = await vch.docker(['run', '--rm', 'busybox', 'echo', 'hi'], { timeoutMs: 300_000 });
  assert.equal(run.code, 0, `${run.stderr}\n${context()}`);
  assert.equal(run.stdout, 'hi\n');
  const three = await vch.docker(['run', '--name', 'three', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 300_000 });
  assert.equal(three.code, 3, `${three.stderr}\n${context()}`);
  assert.equal(three.stdout, 'out\n');
  assert.equal(three.stderr, 'err\n');
  assert.equal((await vch.ok(['inspect', '--format', '{{.State.ExitCode}}', 'three'])).trim(), '3');
  assert.equal(await vch.ok(['logs', 'three']), 'out\n');
  await vch.ok(['rm', 'three']);
  assert.equal(agent.running, 0, 'every QEMU the agent ran has ended');
});
