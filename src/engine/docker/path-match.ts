// Go's path.Match, which dockerd uses for `reference` filters: `*` is any run of characters but `/`,
// `?` one character but `/`, `[...]` a class (`^` or `!` negates, `a-z` ranges), `\` escapes. Matched by
// simulating the pattern's automaton over the name — O(name × pattern), never exponential, whatever
// stars a client sends (a backtracking glob took 38 s for "*a*a*a*a*a*ab" on 120 characters).
import { invalid } from '../../portlayer/errors.ts';

type Token =
  | { kind: 'star' }
  | { kind: 'one'; test: (ch: string) => boolean };

const MAX_PATTERN = 1024;

function compile(pattern: string): Token[] {
  if (pattern.length > MAX_PATTERN) throw invalid(`invalid reference filter: pattern longer than ${MAX_PATTERN} characters`);
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
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
  const tokens = compile(pattern);
  // states[k]: the first k tokens have consumed the name read so far.
  let states = closure(tokens, new Set([0]));
  for (const ch of name) {
    const next = new Set<number>();
    for (const k of states) {
      const token = tokens[k];
      if (!token) continue;
      if (token.kind === 'star') { if (ch !== '/') next.add(k); } else if (token.test(ch)) next.add(k + 1);
    }
    if (next.size === 0) return false;
    states = closure(tokens, next);
  }
  return states.has(tokens.length);
}

/** A star may also match nothing: every state before a star reaches the state after it. */
function closure(tokens: Token[], states: Set<number>): Set<number> {
  for (const k of [...states].sort((a, b) => a - b)) {
    let j = k;
    while (tokens[j]?.kind === 'star') states.add(++j);
  }
  return states;
}
