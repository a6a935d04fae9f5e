// What the container lifecycle asks of networking, step by step. ContainerService depends on this
// narrow interface only; NetworkService implements it.
import type { VmDns, VmNic } from '../backend.ts';
import type { ContainerRecord } from '../containers/model.ts';
import type { PortBinding } from './model.ts';

/** What a VM needs of its networks at boot. */
export interface StartNetworking {
  nics: VmNic[];
  /** Lines of /etc/hosts. */
  hosts: string[];
  /** Its resolv.conf; absent: the image's own. */
  dns?: VmDns;
  /** Variables added to the process's environment (legacy links); its own win. */
  env?: string[];
  /** The ports published for this start (ContainerVmSpec.ports). */
  ports?: PortBinding[];
}

export interface ContainerNetworking {
  /** After the record is saved: joins the networks the container asked for (throws: the create fails). */
  created(record: ContainerRecord): Promise<void>;
  /** Before the VM boots: its NICs, /etc/hosts and resolver; publishes its ports (throws: the start fails). */
  beforeStart(record: ContainerRecord): Promise<StartNetworking>;
  /** The VM runs. */
  started(containerId: string): Promise<void>;
  /** The VM is gone (or never came up): ports are unpublished. */
  stopped(containerId: string): void;
  /** The container is gone: it leaves its networks. */
  removed(containerId: string): Promise<void>;
  /** A running VM was adopted after an engine restart. */
  resumed(record: ContainerRecord): Promise<void>;
  renamed(containerId: string): Promise<void>;
}
