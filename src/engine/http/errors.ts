// The one place where an error's kind becomes an HTTP status and Docker's JSON error body.
import type { ServerResponse } from 'node:http';
import { errorKind } from '../../portlayer/errors.ts';
import type { ErrorKind } from '../../portlayer/errors.ts';

const STATUS: Record<ErrorKind, number> = {
  InvalidParameter: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  NotModified: 304,
  System: 500,
  NotImplemented: 501,
  Unavailable: 503,
};

/** A request refused for its size: HTTP has a status of its own for that, which Docker's clients show as is. */
export class RequestTooLarge extends Error {
  readonly httpStatus = 413;
}

export function statusOf(err: unknown): number {
  if (err instanceof RequestTooLarge) return err.httpStatus;
  return STATUS[errorKind(err)] ?? 500;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const status = statusOf(err);
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  if (status === 304) {
    res.writeHead(304).end();
    return;
  }
  const body = JSON.stringify({ message: messageOf(err) }) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
