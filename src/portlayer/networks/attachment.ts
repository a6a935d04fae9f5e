// What the container lifecycle asks of networking, step by step. ContainerService depends on this
// narrow interface only; NetworkService implements it.
import type { VmNic } from '../backend.ts';
import type { ContainerRecord } from '../containers/model.ts';

export interface ContainerNetworking {
  /** After the record is saved: joins the networks the container asked for (throws: the create fails). */
  created(record: ContainerRecord): Promise<void>;
  /** Before the VM boots: its NICs and /etc/hosts; publishes its ports (throws: the start fails). */
  beforeStart(record: ContainerRecord): Promise<{ nics: VmNic[]; hosts: string[] }>;
  /** The VM runs. */
  started(containerId: string): void;
  /** The VM is gone (or never came up): ports are unpublished. */
  stopped(containerId: string): void;
  /** The container is gone: it leaves its networks. */
  removed(containerId: string): void;
  /** A running VM was adopted after an engine restart. */
  resumed(record: ContainerRecord): Promise<void>;
  renamed(containerId: string): void;
}
