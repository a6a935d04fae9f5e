// `docker exec`: extra processes in running containers. Like dockerd, exec instances live in memory
// only: they are created, started once, and remembered until their container goes away.
import { randomBytes } from 'node:crypto';
import type { ExecProcessSpec, ExecSession } from '../backend.ts';
import { conflict, notFound } from '../errors.ts';
import type { EventLog } from '../events.ts';
import type { ContainerService } from './service.ts';

export interface ExecInstance {
  id: string;
  containerId: string;
  spec: ExecProcessSpec;
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** Opaque to the port layer: the API personality's create request. */
  personality: unknown;
  session?: ExecSession;
}

export class ExecService {
  private readonly containers: ContainerService;
  private readonly events: EventLog;
  private readonly instances = new Map<string, ExecInstance>();

  constructor(containers: ContainerService, events: EventLog) {
    this.containers = containers;
    this.events = events;
    containers.events.on('removed', (id: string) => {
      for (const [execId, instance] of this.instances) if (instance.containerId === id) this.instances.delete(execId);
    });
  }

  create(containerRef: string, spec: ExecProcessSpec, personality: unknown): ExecInstance {
    const { id: containerId } = this.containers.vmForExec(containerRef);
    const instance: ExecInstance = { id: randomBytes(32).toString('hex'), containerId, spec, running: false, exitCode: null, pid: 0, personality };
    this.instances.set(instance.id, instance);
    this.announce(instance, 'exec_create');
    return instance;
  }

  get(id: string): ExecInstance {
    const instance = this.instances.get(id);
    if (!instance) throw notFound(`No such exec instance: ${id}`);
    return instance;
  }

  /** Starts the process; the session carries its output, stdin and exit. */
  async start(id: string): Promise<ExecSession> {
    const instance = this.get(id);
    if (instance.running || instance.exitCode !== null || instance.session) throw conflict(`Error: Exec command ${id} has already run`);
    const { vm } = this.containers.vmForExec(instance.containerId);
    instance.running = true;
    let session: ExecSession;
    try {
      session = await vm.exec(instance.spec);
    } catch (err) {
      instance.running = false;
      instance.exitCode = (err as { code?: number }).code ?? 126;
      throw err;
    }
    instance.session = session;
    instance.pid = session.pid;
    this.announce(instance, 'exec_start');
    void session.exited.then((code) => {
      instance.running = false;
      instance.exitCode = code;
      this.announce(instance, 'exec_die', { exitCode: String(code) });
    });
    return session;
  }

  resize(id: string, rows: number, cols: number): void {
    const session = this.get(id).session;
    if (!session) throw conflict(`exec ${id} is not running`);
    session.resize(rows, cols);
  }

  private announce(instance: ExecInstance, action: string, extra: Record<string, string> = {}): void {
    const container = this.containers.get(instance.containerId).record.spec;
    this.events.record('container', `${action}: ${instance.spec.argv.join(' ')}`, instance.containerId,
      { execID: instance.id, image: container.imageReference, name: container.name, ...extra });
  }
}
