// Docker's word rules for Dockerfile arguments: splitting `NAME=VALUE` lists the way dockerd's parser
// does (quotes kept, whitespace outside quotes separates), and expanding a word the way its shell
// lexer does ($VAR, ${VAR}, ${VAR:-x}, ${VAR:+x}, quotes and escapes removed). The Dockerfile itself
// is parsed by dockerfile-ast; this is only the evaluation of one argument.
import { invalid } from '../../portlayer/errors.ts';

export type Lookup = (name: string) => string | undefined;

/** Splits on whitespace outside quotes; quotes and escapes stay in the words (expandWord removes them). */
export function splitWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (!quote && /\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === escape && i + 1 < text.length && quote !== "'") {
      word += ch + text[++i];
      continue;
    }
    if (quote && ch === quote) quote = '';
    else if (!quote && (ch === '"' || ch === "'")) quote = ch;
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}

/** One word with its variables expanded and its quotes and escapes removed. */
export function expandWord(word: string, lookup: Lookup, escape = '\\'): string {
  let out = '';
  let i = 0;
  const variable = (): string => {
    // at '$'
    i++;
    if (word[i] === '{') {
      const close = matchingBrace(word, i);
      if (close < 0) throw invalid(`missing '}' in '${word}'`);
      const body = word.slice(i + 1, close);
      i = close + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9])(?:(:?[-+?])([\s\S]*))?$/.exec(body);
      if (!m) throw invalid(`bad substitution: \${${body}}`);
      const [, name, op, arg] = m;
      const value = lookup(name);
      const set = op?.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
      switch (op?.replace(':', '')) {
        case undefined: return value ?? '';
        case '-': return set ? value! : expandWord(arg, lookup, escape);
        case '+': return set ? expandWord(arg, lookup, escape) : '';
        default: // '?'
          if (!set) throw invalid(`${name}: ${arg ? expandWord(arg, lookup, escape) : 'is not allowed to be unset'}`);
          return value!;
      }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]/.exec(word.slice(i));
    if (!m) return '$';
    i += m[0].length;
    return lookup(m[0]) ?? '';
  };
  while (i < word.length) {
    const ch = word[i];
    if (ch === escape) {
      if (i + 1 < word.length) out += word[i + 1];
      i += 2;
    } else if (ch === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw invalid(`unexpected end of statement while looking for matching single-quote in '${word}'`);
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      i++;
      for (;;) {
        if (i >= word.length) throw invalid(`unexpected end of statement while looking for matching double-quote in '${word}'`);
        const c = word[i];
        if (c === '"') { i++; break; }
        if (c === escape && i + 1 < word.length && ['"', '$', escape].includes(word[i + 1])) {
          out += word[i + 1];
          i += 2;
        } else if (c === '$') out += variable();
        else { out += c; i++; }
      }
    } else if (ch === '$') out += variable();
    else { out += ch; i++; }
  }
  return out;
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/**
 * ENV, LABEL and ARG arguments: `a=1 b="x y"` pairs, or the legacy `NAME value with spaces` (one pair).
 * Values stay unexpanded (quotes included) for the caller to expand. ARG may name a key without a value.
 */
export function nameValuePairs(text: string, keyword: string, escape = '\\', valueOptional = false): Array<[string, string | undefined]> {
  const words = splitWords(text, escape);
  if (words.length === 0) throw invalid(`${keyword} requires at least one argument`);
  if (!words[0].includes('=') && !valueOptional) {
    // Legacy form: the first word is the name, the rest of the text (as written) the value.
    const rest = text.trim().slice(words[0].length).trim();
    if (!rest) throw invalid(`${keyword} names can not be blank`);
    return [[words[0], rest]];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) {
      if (valueOptional) return [word, undefined];
      throw invalid(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    }
    if (eq === 0) throw invalid(`${keyword} names can not be blank`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}
