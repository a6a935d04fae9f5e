// Every failure the registry reports is a RegistryError; one function (sendError in
// respond.ts) turns it into the OCI/Harbor JSON body `{"errors":[{code,message,detail}]}`.

export type ErrorCode =
  // OCI distribution spec codes
  | 'BLOB_UNKNOWN' | 'BLOB_UPLOAD_INVALID' | 'BLOB_UPLOAD_UNKNOWN' | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN' | 'MANIFEST_INVALID' | 'MANIFEST_UNKNOWN' | 'NAME_INVALID'
  | 'NAME_UNKNOWN' | 'SIZE_INVALID' | 'UNAUTHORIZED' | 'DENIED' | 'UNSUPPORTED' | 'TOOMANYREQUESTS'
  // management API codes (Harbor style)
  | 'PAGINATION_NUMBER_INVALID'
  | 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'PRECONDITION' | 'PAYLOAD_TOO_LARGE';

export class RegistryError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, code: ErrorCode, message: string, detail?: unknown, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.headers = headers;
  }
}

export const blobUnknown = (digest: string) => new RegistryError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest });
export const blobUploadInvalid = (why: string) => new RegistryError(400, 'BLOB_UPLOAD_INVALID', `blob upload invalid: ${why}`);
export const blobUploadUnknown = () => new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
export const digestInvalid = (why: string) => new RegistryError(400, 'DIGEST_INVALID', `provided digest did not match uploaded content: ${why}`);
export const manifestBlobUnknown = (digests: string[]) =>
  new RegistryError(400, 'MANIFEST_BLOB_UNKNOWN', 'manifest references a manifest or blob unknown to registry', { digests });
export const manifestInvalid = (why: string) => new RegistryError(400, 'MANIFEST_INVALID', `manifest invalid: ${why}`);
export const manifestUnknown = (reference: string) => new RegistryError(404, 'MANIFEST_UNKNOWN', 'manifest unknown to registry', { reference });
export const nameInvalid = (why: string) => new RegistryError(400, 'NAME_INVALID', `invalid repository name: ${why}`);
export const nameUnknown = (name: string) => new RegistryError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
export const sizeInvalid = (why: string, status = 400) => new RegistryError(status, 'SIZE_INVALID', `provided length did not match content length: ${why}`);
export const unauthorized = (challenge: string, why = 'authentication required') =>
  new RegistryError(401, 'UNAUTHORIZED', why, undefined, { 'WWW-Authenticate': challenge });
export const denied = (why = 'requested access to the resource is denied') => new RegistryError(403, 'DENIED', why);
export const unsupported = (why = 'the operation is unsupported', status = 405) => new RegistryError(status, 'UNSUPPORTED', why);
export const rangeInvalid = (why: string) => new RegistryError(416, 'BLOB_UPLOAD_INVALID', `range not satisfiable: ${why}`);

export const badRequest = (why: string) => new RegistryError(400, 'BAD_REQUEST', why);
export const notFound = (what: string) => new RegistryError(404, 'NOT_FOUND', `${what} not found`);
export const conflict = (why: string) => new RegistryError(409, 'CONFLICT', why);
export const forbidden = (why = 'forbidden') => new RegistryError(403, 'FORBIDDEN', why);
export const payloadTooLarge = (why: string) => new RegistryError(413, 'PAYLOAD_TOO_LARGE', why);
export const tooManyRequests = (retryAfterSeconds: number) => new RegistryError(429, 'TOOMANYREQUESTS', 'too many failed logins; try again later',
  undefined, { 'Retry-After': String(retryAfterSeconds) });

/** decodeURIComponent that reports a malformed escape (`%ZZ`) as the client's error, not a crash. */
export function decodePathPart(text: string, bad: (why: string) => RegistryError): string {
  try { return decodeURIComponent(text); } catch { throw bad(`malformed percent-encoding in ${JSON.stringify(text.slice(0, 100))}`); }
}

export const precondition = (why: string) => new RegistryError(412, 'PRECONDITION', why);
