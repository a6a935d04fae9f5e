// Go's path.Match, which dockerd uses for `reference` filters: `*` is any run of characters but `/`,
// `?` one character but `/`, `[...]` a class (`^` or `!` negates, `a-z` ranges), `\` escapes. Matched
// by the linear-time wildcard automaton (src/match/wildcard.ts), whatever stars a client sends (a
// backtracking glob took 38 s for "*a*a*a*a*a*ab" on 120 characters).
import { invalid } from '../../portlayer/errors.ts';
import { matchWildcard } from '../../match/wildcard.ts';
import type { WildcardToken } from '../../match/wildcard.ts';

const STAR: WildcardToken = { kind: 'any', crossesSlash: false };

const MAX_PATTERN = 1024;

function compile(pattern: string): WildcardToken[] {
  if (pattern.length > MAX_PATTERN) throw invalid(`invalid reference filter: pattern longer than ${MAX_PATTERN} characters`);
  const tokens: WildcardToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (tokens.at(-1) !== STAR) tokens.push(STAR);
    } else if (ch === '?') {
      tokens.push({ kind: 'one', test: (c) => c !== '/' });
    } else if (ch === '[') {
      const end = classEnd(pattern, i);
      tokens.push({ kind: 'one', test: classTest(pattern.slice(i + 1, end)) });
      i = end;
    } else {
      let literal = ch;
      if (ch === '\\') {
        if (i + 1 >= pattern.length) throw badPattern(pattern);
        literal = pattern[++i];
      }
      tokens.push({ kind: 'one', test: (c) => c === literal });
    }
  }
  return tokens;
}

function badPattern(pattern: string): Error {
  return invalid(`invalid reference filter '${pattern}': syntax error in pattern`);
}

/** Index of the `]` closing the class that opens at `start`. */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^' || pattern[i] === '!') i++;
  for (let first = true; i < pattern.length; i++, first = false) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']' && !first) return i;
  }
  throw badPattern(pattern);
}

function classTest(body: string): (ch: string) => boolean {
  const negated = body[0] === '^' || body[0] === '!';
  const ranges: Array<[string, string]> = [];
  for (let i = negated ? 1 : 0; i < body.length; i++) {
    let lo = body[i];
    if (lo === '\\') lo = body[++i];
    let hi = lo;
    if (body[i + 1] === '-' && i + 2 < body.length) {
      hi = body[i + 2] === '\\' ? body[i + 3] : body[i + 2];
      i += body[i + 2] === '\\' ? 3 : 2;
    }
    ranges.push([lo, hi]);
  }
  return (ch) => ch !== '/' && ranges.some(([lo, hi]) => lo <= ch && ch <= hi) !== negated;
}

/** Whether the whole of `name` matches `pattern`; InvalidParameter for a malformed pattern. */
export function pathMatch(pattern: string, name: string): boolean {
  return matchWildcard(compile(pattern), name);
}
