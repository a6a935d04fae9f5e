// references.json: which images the store holds, and the tags and repo digests naming them.
// Small, so it lives in memory and every change rewrites it whole: written to tmp/, flushed,
// then renamed over the old file — a reader (or a crash) sees the old or the new file, never half.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isSha256Digest } from './digest.ts';

interface ReferencesDocument {
  version: 1;
  /**
   * image id → when it was stored (ISO 8601), and for a commit the image it was made on (Docker's
   * `Parent`: local knowledge, so here and not in the config, whose digest is the id).
   */
  images: Record<string, { stored: string; parent?: string }>;
  /** "name:tag" (familiar form) → image id. */
  tags: Record<string, string>;
  /** "name@sha256:…" (manifest digest) → image id. */
  digests: Record<string, string>;
}

export interface TagMove {
  tag: string;
  previousId: string;
}

export class ReferenceIndex {
  private readonly file: string;
  private readonly tmpDir: string;
  private document: ReferencesDocument;

  constructor(file: string, tmpDir: string) {
    this.file = file;
    this.tmpDir = tmpDir;
    this.document = readDocument(file);
  }

  imageIds(): string[] {
    return Object.keys(this.document.images);
  }

  has(id: string): boolean {
    return Object.hasOwn(this.document.images, id);
  }

  storedAt(id: string): string | undefined {
    return this.document.images[id]?.stored;
  }

  parentOf(id: string): string | undefined {
    return this.document.images[id]?.parent;
  }

  tagsOf(id: string): string[] {
    return Object.keys(this.document.tags).filter((tag) => this.document.tags[tag] === id).sort();
  }

  digestsOf(id: string): string[] {
    return Object.keys(this.document.digests).filter((ref) => this.document.digests[ref] === id).sort();
  }

  byTag(tag: string): string | undefined {
    return Object.hasOwn(this.document.tags, tag) ? this.document.tags[tag] : undefined;
  }

  byDigest(reference: string): string | undefined {
    return Object.hasOwn(this.document.digests, reference) ? this.document.digests[reference] : undefined;
  }

  /** Records an image (if new) with its names, in one atomic write. Returns tags taken from other images. */
  addImage(id: string, tags: string[], digests: string[], parent?: string): TagMove[] {
    const next = structuredClone(this.document);
    next.images[id] ??= { stored: new Date().toISOString() };
    if (parent !== undefined) next.images[id].parent = parent;
    const moves = assignTags(next, tags, id);
    for (const reference of digests) next.digests[reference] = id;
    this.commit(next);
    return moves;
  }

  /** Points `tag` at an existing image. Returns the move when the tag named another image. */
  setTag(tag: string, id: string): TagMove | undefined {
    const next = structuredClone(this.document);
    const [move] = assignTags(next, [tag], id);
    this.commit(next);
    return move;
  }

  /** Removes a tag; returns whether it existed. */
  removeTag(tag: string): boolean {
    if (!Object.hasOwn(this.document.tags, tag)) return false;
    const next = structuredClone(this.document);
    delete next.tags[tag];
    this.commit(next);
    return true;
  }

  /** Removes a repo digest ("name@sha256:…"); returns whether it existed. */
  removeDigest(reference: string): boolean {
    if (!Object.hasOwn(this.document.digests, reference)) return false;
    const next = structuredClone(this.document);
    delete next.digests[reference];
    this.commit(next);
    return true;
  }

  /** Forgets an image and every name pointing at it, in one atomic write. */
  removeImage(id: string): void {
    if (!this.has(id)) return;
    const next = structuredClone(this.document);
    delete next.images[id];
    for (const table of [next.tags, next.digests]) {
      for (const [name, target] of Object.entries(table)) if (target === id) delete table[name];
    }
    this.commit(next);
  }

  /** Records a repo digest for an existing image (after a push). */
  addDigest(reference: string, id: string): void {
    if (this.document.digests[reference] === id) return;
    const next = structuredClone(this.document);
    next.digests[reference] = id;
    this.commit(next);
  }

  private commit(next: ReferencesDocument): void {
    const temporary = join(this.tmpDir, `references-${randomBytes(6).toString('hex')}.json`);
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(next, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.file);
    this.document = next;
  }
}

function assignTags(document: ReferencesDocument, tags: string[], id: string): TagMove[] {
  const moves: TagMove[] = [];
  for (const tag of tags) {
    const previousId = document.tags[tag];
    if (previousId !== undefined && previousId !== id) moves.push({ tag, previousId });
    document.tags[tag] = id;
  }
  return moves;
}

function readDocument(file: string): ReferencesDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {}, tags: {}, digests: {} };
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<ReferencesDocument>;
  if (parsed.version !== 1 || typeof parsed.images !== 'object' || parsed.images === null) {
    throw new Error(`${file}: not a version 1 references file`);
  }
  const document: ReferencesDocument = { version: 1, images: parsed.images, tags: parsed.tags ?? {}, digests: parsed.digests ?? {} };
  // Names pointing at images the file does not hold would resolve to nothing; drop them on read.
  for (const table of [document.tags, document.digests]) {
    for (const [name, id] of Object.entries(table)) {
      if (!isSha256Digest(id) || !Object.hasOwn(document.images, id)) delete table[name];
    }
  }
  return document;
}
