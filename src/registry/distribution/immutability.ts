// Tag immutability: a tag matching one of its project's rules may be created but never moved
// to another manifest or deleted.
import type { Metadata } from '../db/metadata.ts';

/** Glob match: `**` any text, `*` any text without '/', `?` one character. */
export function globMatch(pattern: string, text: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') { re += '.*'; i++; }
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(text);
}

export async function isImmutableTag(db: Metadata, projectId: number, repository: string, tag: string): Promise<boolean> {
  const inProject = repository.slice(repository.indexOf('/') + 1);
  return (await db.immutableRules(projectId)).some((r) => globMatch(r.repoPattern, inProject) && globMatch(r.tagPattern, tag));
}
