// Wildcard patterns matched by simulating their automaton over the text: a set of token positions,
// advanced one character at a time. Work is at most (tokens + 1) × (text length + 1) steps whatever
// the pattern — translating such patterns to backtracking regular expressions let a client's
// `*a*a*a…b` stall the process for minutes. The engine's Go-style `path.Match` filters and the
// registry's doublestar tag rules are both token lists over this one matcher.

export type WildcardToken =
  /** Any run of characters, possibly empty; `/` only when `crossesSlash`. */
  | { kind: 'any'; crossesSlash: boolean }
  /** Exactly one character that passes the test. */
  | { kind: 'one'; test: (ch: string) => boolean };

/** Counts the steps of matches (tests check the work stays linear). */
export interface MatchStats {
  steps: number;
}

/** Whether the whole of `text` matches the tokens. */
export function matchWildcard(tokens: WildcardToken[], text: string, stats?: MatchStats): boolean {
  const n = tokens.length;
  let current = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  // An `any` may match nothing: a position before one also stands after it.
  const close = (states: Uint8Array) => {
    for (let i = 0; i < n; i++) if (states[i] && tokens[i].kind === 'any') states[i + 1] = 1;
  };
  current[0] = 1;
  close(current);
  for (const ch of text) {
    next.fill(0);
    let alive = false;
    for (let i = 0; i < n; i++) {
      if (stats) stats.steps++;
      if (!current[i]) continue;
      const token = tokens[i];
      if (token.kind === 'any') {
        if (token.crossesSlash || ch !== '/') { next[i] = 1; alive = true; }
      } else if (token.test(ch)) {
        next[i + 1] = 1;
        alive = true;
      }
    }
    if (!alive) return false;
    close(next);
    [current, next] = [next, current];
  }
  return current[n] === 1;
}
