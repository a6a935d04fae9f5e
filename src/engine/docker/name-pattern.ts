// Docker's `name` filters are Go regular expressions (RE2: linear time). A client's pattern must not
// be able to freeze the engine with catastrophic backtracking ("(a+)+b"), so patterns run on V8's
// linear-time engine; constructs it cannot run in linear time (backreferences, lookaround) are not
// RE2 either and are refused as dockerd refuses an invalid pattern.
import { setFlagsFromString } from 'node:v8';
import { invalid } from '../../portlayer/errors.ts';

setFlagsFromString('--enable-experimental-regexp-engine');

/** Longest pattern accepted: far beyond any real name filter. */
const MAX_PATTERN = 1024;

/** Patterns compiled lately: a listing tests one pattern against every container. */
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 64;

/** Compiles a client's name pattern for linear-time matching; InvalidParameter if it is no such pattern. */
export function namePattern(pattern: string, filter = 'name'): RegExp {
  if (pattern.length > MAX_PATTERN) throw invalid(`invalid filter '${filter}': pattern longer than ${MAX_PATTERN} characters`);
  const known = compiled.get(pattern);
  if (known) return known;
  let regexp: RegExp;
  try {
    regexp = new RegExp(pattern, 'l'); // no `g` or `y`: test() keeps no state, so one object serves every call
  } catch (err) {
    throw invalid(`invalid filter '${filter}=${pattern}': ${(err as Error).message}`);
  }
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(pattern, regexp);
  return regexp;
}
