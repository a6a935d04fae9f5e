// vcsim with guests: the simulator, the test host agent (host-agent.ts) running each Bonneville VM it
// powers on in QEMU, and a free loopback port for the VCH's tether listener — what a vSphere test that
// needs a process inside its container VMs starts.
import net from 'node:net';
import { VimClient } from '../../src/vim25/session.ts';
import { resolveTarget } from '../../src/backends/vsphere/target.ts';
import { destroyVch, ensureVch, type VchPlacement } from '../../src/backends/vsphere/vch-pool.ts';
import { HostAgent } from './host-agent.ts';
import { TestVch } from './vch.ts';
import { Vcsim } from './vcsim.ts';

/** A loopback TCP port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class VcsimWithGuests {
  readonly sim: Vcsim;
  readonly client: VimClient;
  readonly agent: HostAgent;
  /** Where container VMs' serial ports connect: the VCH listens there (`--tether-uri`). */
  readonly tetherURI: string;

  private constructor(sim: Vcsim, client: VimClient, agent: HostAgent, tetherURI: string) {
    this.sim = sim;
    this.client = client;
    this.agent = agent;
    this.tetherURI = tetherURI;
  }

  static async start(): Promise<VcsimWithGuests> {
    const sim = await Vcsim.start();
    let client: VimClient | undefined;
    try {
      client = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: sim.info.username, password: sim.info.password });
      const agent = await HostAgent.start(sim.info);
      return new VcsimWithGuests(sim, client, agent, `tcp://127.0.0.1:${await freePort()}`);
    } catch (err) {
      await client?.logout().catch(() => {});
      await sim.stop();
      throw err;
    }
  }

  /** `vch serve` flags for a VCH on this simulator whose container VMs run (placed on DC0_C0, its pool made by ensureVch), and `extra`. */
  engineArgs(extra: string[] = []): string[] {
    return ['--backend', 'vsphere', '--target', this.sim.urlWithCredentials, '--thumbprint', this.sim.info.thumbprintSha256,
      '--compute-resource', '/DC0/host/DC0_C0', '--image-store', 'LocalDS_0/bonneville', '--volume-store', 'LocalDS_1/volumes:default',
      '--bridge-network', 'DC0_DVPG0', '--tether-uri', this.tetherURI, ...extra];
  }

  /** A VCH on DC0_C0 (its pool and folder made), serving with engineArgs(extra), busybox loaded. */
  async startVch(name: string, extra: string[] = []): Promise<{ vch: TestVch; placement: VchPlacement }> {
    const target = await resolveTarget(this.client, { datacenter: 'DC0', computeResource: 'DC0_C0', datastore: 'LocalDS_0', dvs: 'DVS0' });
    const placement = await ensureVch(this.client, target, name, {});
    const vch = new TestVch(name, this.engineArgs(extra));
    await vch.startWithBusybox();
    return { vch, placement };
  }

  /** Undoes startVch: the engine, then the VCH's pool and folder. */
  async stopVch(vch: TestVch | undefined, placement: VchPlacement | undefined): Promise<void> {
    await vch?.destroy();
    if (placement) await destroyVch(this.client, placement).catch(() => {});
  }

  /** What to look at when a step fails: the agent's troubles and the guests' consoles. */
  context(): string {
    return `agent: ${JSON.stringify(this.agent.problems)}\nconsoles:\n${this.agent.consoleTails()}`;
  }

  /** Stops the agent (killing any QEMU left) and the simulator (which removes its datastores' directories). */
  async stop(): Promise<void> {
    await this.agent.stop();
    await this.client.logout().catch(() => {});
    await this.sim.stop();
  }
}
