// Tag immutability: a tag matching one of its project's rules may be created but never moved
// to another manifest or deleted.
import type { Metadata } from '../db/metadata.ts';
import { globMatch } from './glob.ts';

export async function isImmutableTag(db: Metadata, projectId: number, repository: string, tag: string): Promise<boolean> {
  const inProject = repository.slice(repository.indexOf('/') + 1);
  return (await db.immutableRules(projectId)).some((r) => globMatch(r.repoPattern, inProject) && globMatch(r.tagPattern, tag));
}
