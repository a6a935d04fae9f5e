// PropertyCollector: bulk reads (RetrievePropertiesEx + ContinueRetrievePropertiesEx), container views
// for "every X under Y", and change feeds (a private collector + filter, WaitForUpdatesEx in a loop)
// as an async iterator.
import type { VimClient } from './session.ts';
import { child, childText, children, toRef, toValue, type XmlElement } from './xml.ts';
import { ManagedObjectReference, type ObjectChange, type ObjectUpdate } from './types.ts';
import { RequestCanceledFault } from './faults.ts';

export interface ObjectContent {
  obj: ManagedObjectReference;
  props: Record<string, unknown>;
}

export interface ObjectSpec {
  obj: ManagedObjectReference;
  skip?: boolean;
  /** TraversalSpecs (as Typed objects) to walk from obj. */
  selectSet?: unknown[];
}

export interface PropertyFilterSpec {
  propSet: { type: string; all?: boolean; pathSet?: string[] }[];
  objectSet: ObjectSpec[];
}

function encodeSpec(spec: PropertyFilterSpec): Record<string, unknown> {
  return {
    propSet: spec.propSet.map((p) => ({ type: p.type, all: p.all ?? false, pathSet: p.pathSet })),
    objectSet: spec.objectSet.map((o) => ({ obj: o.obj, skip: o.skip, selectSet: o.selectSet })),
  };
}

function objectContent(el: XmlElement): ObjectContent {
  const props: Record<string, unknown> = {};
  for (const p of children(el, 'propSet')) {
    const val = child(p, 'val');
    props[childText(p, 'name') ?? ''] = val ? toValue(val) : undefined;
  }
  return { obj: toRef(child(el, 'obj')!), props };
}

/** Retrieves all matching objects, following continuation tokens (`maxObjects` per page, server's default if unset). */
export async function retrieveProperties(client: VimClient, specs: PropertyFilterSpec[], maxObjects?: number): Promise<ObjectContent[]> {
  const pc = client.content.propertyCollector;
  const out: ObjectContent[] = [];
  let ret = await client.invoke('RetrievePropertiesEx', pc, { specSet: specs.map(encodeSpec), options: { maxObjects } });
  for (;;) {
    if (!ret) return out;
    for (const o of children(ret, 'objects')) out.push(objectContent(o));
    const token = childText(ret, 'token');
    if (!token) return out;
    ret = await client.invoke('ContinueRetrievePropertiesEx', pc, { token });
  }
}

/** Properties of one object (missing ones absent). */
export async function retrieveOne(client: VimClient, obj: ManagedObjectReference, pathSet: string[]): Promise<Record<string, unknown>> {
  const got = await retrieveProperties(client, [{ propSet: [{ type: obj.type, pathSet }], objectSet: [{ obj }] }]);
  return got[0]?.props ?? {};
}

/** Every object of `type` below `root` (recursively), with the given properties, via a container view. */
export async function retrieveContained(client: VimClient, root: ManagedObjectReference, type: string, pathSet: string[], maxObjects?: number): Promise<ObjectContent[]> {
  const viewManager = client.manager('viewManager');
  const view = await client.invokeRef('CreateContainerView', viewManager, { container: root, type: [type], recursive: true });
  try {
    return await retrieveProperties(client, [
      {
        propSet: [{ type, pathSet }],
        objectSet: [{ obj: view, skip: true, selectSet: [{ $type: 'TraversalSpec', name: 'view', type: 'ContainerView', path: 'view', skip: false }] }],
      },
    ], maxObjects);
  } finally {
    await client.invoke('DestroyView', view).catch(() => {});
  }
}

function objectUpdate(el: XmlElement): ObjectUpdate {
  const changes: ObjectChange[] = children(el, 'changeSet').map((c) => {
    const val = child(c, 'val');
    return { name: childText(c, 'name') ?? '', op: (childText(c, 'op') ?? 'assign') as ObjectChange['op'], value: val ? toValue(val) : undefined };
  });
  return { kind: (childText(el, 'kind') ?? 'modify') as ObjectUpdate['kind'], obj: toRef(child(el, 'obj')!), changes };
}

export interface WatchOptions {
  /** Seconds each WaitForUpdatesEx may block before returning empty (then the loop asks again). */
  maxWaitSeconds?: number;
}

/**
 * A change feed over a private PropertyCollector: the first batch is the filter's objects as they are
 * (kind `enter`), then each batch is what changed. `close()` cancels a pending wait and destroys the
 * collector; iteration ends then.
 */
export class PropertyWatch implements AsyncIterable<ObjectUpdate[]> {
  readonly client: VimClient;
  readonly collector: ManagedObjectReference;
  readonly maxWaitSeconds: number;
  private version = '';
  private closed = false;

  private constructor(client: VimClient, collector: ManagedObjectReference, maxWaitSeconds: number) {
    this.client = client;
    this.collector = collector;
    this.maxWaitSeconds = maxWaitSeconds;
  }

  static async create(client: VimClient, specs: PropertyFilterSpec[], options: WatchOptions = {}): Promise<PropertyWatch> {
    const collector = await client.invokeRef('CreatePropertyCollector', client.content.propertyCollector);
    const watch = new PropertyWatch(client, collector, options.maxWaitSeconds ?? 30);
    try {
      for (const spec of specs) await client.invoke('CreateFilter', collector, { spec: encodeSpec(spec), partialUpdates: false });
    } catch (err) {
      await watch.close();
      throw err;
    }
    return watch;
  }

  /** The next batch of updates; [] when the wait ran out with nothing new; undefined once closed. */
  async next(): Promise<ObjectUpdate[] | undefined> {
    if (this.closed) return undefined;
    let ret: XmlElement | undefined;
    try {
      ret = await this.client.invoke('WaitForUpdatesEx', this.collector, { version: this.version, options: { maxWaitSeconds: this.maxWaitSeconds } }, (this.maxWaitSeconds + 30) * 1000);
    } catch (err) {
      if (this.closed || err instanceof RequestCanceledFault) return undefined;
      throw err;
    }
    if (!ret) return [];
    this.version = childText(ret, 'version') ?? this.version;
    const updates: ObjectUpdate[] = [];
    for (const f of children(ret, 'filterSet')) for (const o of children(f, 'objectSet')) updates.push(objectUpdate(o));
    return updates;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ObjectUpdate[]> {
    try {
      for (;;) {
        const batch = await this.next();
        if (batch === undefined) return;
        if (batch.length) yield batch;
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.invoke('CancelWaitForUpdates', this.collector).catch(() => {});
    await this.client.invoke('DestroyPropertyCollector', this.collector).catch(() => {});
  }
}

/** Watches properties of the given objects. */
export function watchObjects(client: VimClient, objs: ManagedObjectReference[], type: string, pathSet: string[], options?: WatchOptions): Promise<PropertyWatch> {
  return PropertyWatch.create(client, [{ propSet: [{ type, pathSet }], objectSet: objs.map((obj) => ({ obj })) }], options);
}
