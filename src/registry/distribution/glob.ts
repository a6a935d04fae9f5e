// Doublestar globs (`**` any text, `*` any text without '/', `?` one character) over the linear-time
// wildcard matcher (src/match/wildcard.ts). (Translating them to backtracking regexes let a rule like
// `**********a` freeze the event loop for minutes on one push.) Patterns are bounded in length where
// they are accepted.
import { badRequest } from '../http/errors.ts';
import { matchWildcard } from '../../match/wildcard.ts';
import type { MatchStats, WildcardToken } from '../../match/wildcard.ts';

/** Longest pattern accepted from an API body (Harbor's own fields stop at 255). */
export const MAX_PATTERN_LENGTH = 255;

const ANY_TEXT: WildcardToken = { kind: 'any', crossesSlash: true };
const ANY_SEGMENT_TEXT: WildcardToken = { kind: 'any', crossesSlash: false };
const ANY_CHAR: WildcardToken = { kind: 'one', test: () => true };

function tokens(pattern: string): WildcardToken[] {
  const out: WildcardToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '*') {
      const ch = pattern[i];
      out.push(ch === '?' ? ANY_CHAR : { kind: 'one', test: (c) => c === ch });
      continue;
    }
    let run = 1;
    while (pattern[i + 1] === '*') { run++; i++; }
    // Any run of two or more stars means "anything"; stars next to `**` add nothing.
    const star = run >= 2 ? ANY_TEXT : ANY_SEGMENT_TEXT;
    const prev = out[out.length - 1];
    if (prev === ANY_TEXT) continue;
    if (prev === ANY_SEGMENT_TEXT) { out[out.length - 1] = star; continue; }
    out.push(star);
  }
  return out;
}

/** Counts the work of the last matches (tests check it stays linear). */
export const globStats: MatchStats = { steps: 0 };

export function globMatch(pattern: string, text: string): boolean {
  return matchWildcard(tokens(pattern), text, globStats);
}

/** Validates a pattern from an API body. */
export function checkPattern(v: unknown, what: string): string {
  if (typeof v !== 'string') throw badRequest(`${what} must be a string pattern`);
  if (v.length > MAX_PATTERN_LENGTH) throw badRequest(`${what} is longer than ${MAX_PATTERN_LENGTH} characters`);
  return v;
}
