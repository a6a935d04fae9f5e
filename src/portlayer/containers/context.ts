// What the container modules share, passed to each explicitly (no module holds its own): the live
// containers, where their state is saved, how lifecycle events are announced — and, for those that boot,
// create or remove, the backend, the networks' hooks and the volumes.
import type { Backend } from '../backend.ts';
import type { ContainerNetworking } from '../networks/attachment.ts';
import type { ContainerDirectoryStore } from './store.ts';
import type { LiveContainers } from './registry.ts';
import type { Announce } from './announce.ts';
import type { ContainerVolumes } from './container-volumes.ts';

export interface ContainerContext {
  live: LiveContainers;
  store: ContainerDirectoryStore;
  announce: Announce;
}

export interface HostContext extends ContainerContext {
  backend: Backend;
  /** Absent: containers have loopback only. */
  networking?: ContainerNetworking;
  volumes: ContainerVolumes;
  /** Diagnostics (the engine's log): e.g. each container end's phases. */
  log?: (line: string) => void;
}
