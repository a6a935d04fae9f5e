// Errors the image store throws. The engine maps `kind` to an HTTP status once, at its edge.

export type ImageErrorKind = 'InvalidParameter' | 'NotFound';

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
