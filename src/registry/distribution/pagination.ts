import { RegistryError } from '../http/errors.ts';

export const maxPageSize = 1000;

/** Reads `n` and `last`; n defaults to (and is capped at) maxPageSize. */
export function pageParams(query: URLSearchParams): { n: number; last: string } {
  const raw = query.get('n');
  let n = maxPageSize;
  if (raw !== null) {
    if (!/^\d{1,9}$/.test(raw)) throw new RegistryError(400, 'PAGINATION_NUMBER_INVALID', `invalid number of results requested: n=${raw.slice(0, 50)}`);
    n = Math.min(Number(raw), maxPageSize);
  }
  return { n, last: query.get('last') ?? '' };
}

/** RFC 5988 next link for list endpoints. */
export function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}
