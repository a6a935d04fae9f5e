// Tag retention rules (Harbor's templates) and their evaluation: a tag survives when any rule
// whose repository selector covers its repository retains it; the others of those repositories go.
import { checkPattern, globMatch } from '../distribution/glob.ts';
import { badRequest } from '../http/errors.ts';

export type Template = 'latestPushedK' | 'nDaysSinceLastPush' | 'always';
export interface Selector { pattern: string; exclude: boolean }
export interface RetentionRule { template: Template; n: number; tags: Selector; repositories: Selector; disabled: boolean }
export interface TagInfo { name: string; pushedAt: number }

const dayMs = 86400_000;
const templates: Record<string, string | null> = { latestPushedK: 'latestPushedK', nDaysSinceLastPush: 'nDaysSinceLastPush', always: null };

const selects = (s: Selector, text: string) => globMatch(s.pattern, text) !== s.exclude;

export function ruleCovers(rule: RetentionRule, repository: string): boolean {
  return !rule.disabled && selects(rule.repositories, repository);
}

/** Names of the tags `rule` keeps among `tags` of a repository it covers. */
function retainedBy(rule: RetentionRule, tags: TagInfo[], now: number): string[] {
  const matching = tags.filter((t) => selects(rule.tags, t.name));
  switch (rule.template) {
    case 'always': return matching.map((t) => t.name);
    case 'nDaysSinceLastPush': return matching.filter((t) => t.pushedAt >= now - rule.n * dayMs).map((t) => t.name);
    case 'latestPushedK':
      return [...matching].sort((a, b) => b.pushedAt - a.pushedAt || a.name.localeCompare(b.name)).slice(0, rule.n).map((t) => t.name);
  }
}

/** Splits a repository's tags into kept and deleted; null when no rule covers the repository. */
export function evaluate(rules: RetentionRule[], repository: string, tags: TagInfo[], now: number): { retained: string[]; deleted: string[] } | null {
  const covering = rules.filter((r) => ruleCovers(r, repository));
  if (covering.length === 0) return null;
  const keep = new Set(covering.flatMap((r) => retainedBy(r, tags, now)));
  return { retained: tags.filter((t) => keep.has(t.name)).map((t) => t.name), deleted: tags.filter((t) => !keep.has(t.name)).map((t) => t.name) };
}

function selector(v: any, matches: string, excludes: string, what: string): Selector {
  if (v === undefined) return { pattern: '**', exclude: false };
  if (typeof v?.pattern !== 'string' || ![matches, excludes].includes(v.decoration ?? matches)) throw badRequest(`${what} wants {decoration: ${matches}|${excludes}, pattern}`);
  return { pattern: checkPattern(v.pattern, `${what}.pattern`), exclude: v.decoration === excludes };
}

/** Parses Harbor's rule JSON. */
export function parseRule(raw: any): RetentionRule {
  if ((raw?.action ?? 'retain') !== 'retain') throw badRequest('retention rules retain');
  const template = raw?.template;
  if (!(template in templates)) throw badRequest(`template must be one of ${Object.keys(templates).join(', ')}`);
  const param = templates[template];
  const n = param ? Number(raw.params?.[param]) : 0;
  if (param && (!Number.isInteger(n) || n < 0)) throw badRequest(`params.${param} must be a whole number`);
  return {
    template, n, disabled: raw.disabled === true,
    tags: selector(raw.tag_selectors?.[0], 'matches', 'excludes', 'tag_selectors'),
    repositories: selector(raw.scope_selectors?.repository?.[0], 'repoMatches', 'repoExcludes', 'scope_selectors.repository'),
  };
}

/** Harbor's JSON of a rule. */
export function ruleView(r: RetentionRule, id: number) {
  const param = templates[r.template];
  return {
    id, priority: id, disabled: r.disabled, action: 'retain', template: r.template, params: param ? { [param]: r.n } : {},
    tag_selectors: [{ kind: 'doublestar', decoration: r.tags.exclude ? 'excludes' : 'matches', pattern: r.tags.pattern }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: r.repositories.exclude ? 'repoExcludes' : 'repoMatches', pattern: r.repositories.pattern }] },
  };
}
