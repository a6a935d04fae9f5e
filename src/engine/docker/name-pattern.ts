// Docker's `name` filters are Go regular expressions (RE2: linear time). A client's pattern must not
// be able to freeze the engine with catastrophic backtracking ("(a+)+b"), so patterns run on V8's
// linear-time engine; constructs it cannot run in linear time (backreferences, lookaround) are not
// RE2 either and are refused as dockerd refuses an invalid pattern.
import { setFlagsFromString } from 'node:v8';
import { invalid } from '../../portlayer/errors.ts';

setFlagsFromString('--enable-experimental-regexp-engine');

/** Longest pattern accepted: far beyond any real name filter. */
const MAX_PATTERN = 1024;

/** Compiles a client's name pattern for linear-time matching; InvalidParameter if it is no such pattern. */
export function namePattern(pattern: string, filter = 'name'): RegExp {
  if (pattern.length > MAX_PATTERN) throw invalid(`invalid filter '${filter}': pattern longer than ${MAX_PATTERN} characters`);
  try {
    return new RegExp(pattern, 'l');
  } catch (err) {
    throw invalid(`invalid filter '${filter}=${pattern}': ${(err as Error).message}`);
  }
}
