// Errors the image store throws. The engine maps `kind` to an HTTP status once, at its edge.

export type ImageErrorKind = 'InvalidParameter' | 'NotFound' | 'Conflict' | 'Unauthorized' | 'Forbidden' | 'Unavailable' | 'System';

export class ImageStoreError extends Error {
  readonly kind: ImageErrorKind;

  constructor(kind: ImageErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageStoreError';
    this.kind = kind;
  }
}

/** Bad input: a malformed tarball, a digest that does not match, an invalid reference. */
export function invalidParameter(message: string, cause?: unknown): ImageStoreError {
  return new ImageStoreError('InvalidParameter', message, cause === undefined ? undefined : { cause });
}

export function notFound(message: string): ImageStoreError {
  return new ImageStoreError('NotFound', message);
}

export function conflict(message: string): ImageStoreError {
  return new ImageStoreError('Conflict', message);
}

export function unauthorized(message: string): ImageStoreError {
  return new ImageStoreError('Unauthorized', message);
}

export function forbidden(message: string): ImageStoreError {
  return new ImageStoreError('Forbidden', message);
}

/** The registry could not be reached, stalled, or answered with a server error. */
export function unavailable(message: string, cause?: unknown): ImageStoreError {
  return new ImageStoreError('Unavailable', message, cause === undefined ? undefined : { cause });
}
