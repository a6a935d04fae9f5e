// The containers this engine knows, by id: finding one by id, unique id prefix or name, and keeping names unique.
import { conflict, invalid, notFound } from '../errors.ts';
import type { LiveContainer } from './live-container.ts';

export class LiveContainers {
  private readonly byId = new Map<string, LiveContainer>();

  all(): LiveContainer[] {
    return [...this.byId.values()];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** By full id only: O(1), for callers that ask once per container of a listing. */
  withId(id: string): LiveContainer | undefined {
    return this.byId.get(id);
  }

  add(entry: LiveContainer): void {
    this.byId.set(entry.record.id, entry);
  }

  /** False when it was not there (already removed). */
  delete(id: string): boolean {
    return this.byId.delete(id);
  }

  /** By full id, unique id prefix, or name (with or without the leading slash). */
  find(ref: string): LiveContainer {
    const exact = this.byId.get(ref) ?? this.byName(ref.startsWith('/') ? ref.slice(1) : ref);
    if (exact) return exact;
    const matches = ref.length > 0 && /^[0-9a-f]+$/.test(ref) ? this.all().filter((e) => e.record.id.startsWith(ref)) : [];
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw invalid(`multiple IDs found with provided prefix: ${ref}`);
    throw notFound(`No such container: ${ref}`);
  }

  byName(name: string): LiveContainer | undefined {
    for (const entry of this.byId.values()) if (entry.record.spec.name === name) return entry;
    return undefined;
  }

  refuseTakenName(name: string): void {
    const holder = this.byName(name);
    if (holder) {
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${holder.record.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
  }
}
