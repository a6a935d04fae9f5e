// Doublestar globs (`**` any text, `*` any text without '/', `?` one character) matched by a
// set-of-states simulation: time is at most (pattern tokens + 1) x (text length + 1) steps, whatever
// the pattern. (Translating them to backtracking regexes let a rule like `**********a` freeze the
// event loop for minutes on one push.) Patterns are bounded in length where they are accepted.
import { badRequest } from '../http/errors.ts';

/** Longest pattern accepted from an API body (Harbor's own fields stop at 255). */
export const MAX_PATTERN_LENGTH = 255;

type Token = '**' | '*' | '?' | { ch: string };

function tokens(pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '*') { out.push(pattern[i] === '?' ? '?' : { ch: pattern[i] }); continue; }
    let run = 1;
    while (pattern[i + 1] === '*') { run++; i++; }
    // Any run of two or more stars means "anything"; a star after `**` adds nothing.
    const star: Token = run >= 2 ? '**' : '*';
    const prev = out[out.length - 1];
    if (prev === '**') continue;
    if (prev === '*' && star === '**') { out[out.length - 1] = '**'; continue; }
    if (prev === '*' && star === '*') continue;
    out.push(star);
  }
  return out;
}

/** Counts the work of the last matches (tests check it stays linear). */
export const globStats = { steps: 0 };

export function globMatch(pattern: string, text: string): boolean {
  const toks = tokens(pattern);
  const n = toks.length;
  let cur = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  // A star may match nothing: a state before a star also stands after it.
  const close = (s: Uint8Array) => { for (let i = 0; i < n; i++) if (s[i] && (toks[i] === '*' || toks[i] === '**')) s[i + 1] = 1; };
  cur[0] = 1;
  close(cur);
  for (let j = 0; j < text.length; j++) {
    const c = text[j];
    next.fill(0);
    let alive = false;
    for (let i = 0; i < n; i++) {
      globStats.steps++;
      if (!cur[i]) continue;
      const t = toks[i];
      if (t === '**' || (t === '*' && c !== '/')) { next[i] = 1; alive = true; }
      else if (t === '?' || (typeof t === 'object' && t.ch === c)) { next[i + 1] = 1; alive = true; }
    }
    if (!alive) return false;
    close(next);
    [cur, next] = [next, cur];
  }
  return cur[n] === 1;
}

/** Validates a pattern from an API body. */
export function checkPattern(v: unknown, what: string): string {
  if (typeof v !== 'string') throw badRequest(`${what} must be a string pattern`);
  if (v.length > MAX_PATTERN_LENGTH) throw badRequest(`${what} is longer than ${MAX_PATTERN_LENGTH} characters`);
  return v;
}
