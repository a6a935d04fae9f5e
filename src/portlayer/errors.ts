// Errors are classified once, where they happen; the engine maps the class to an HTTP status once.
export type ErrorKind =
  | 'InvalidParameter'
  | 'NotFound'
  | 'Conflict'
  | 'NotModified'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Unavailable'
  | 'NotImplemented'
  | 'System';

export class PortLayerError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

export const notFound = (message: string) => new PortLayerError('NotFound', message);
export const invalid = (message: string) => new PortLayerError('InvalidParameter', message);
export const conflict = (message: string) => new PortLayerError('Conflict', message);
export const notModified = (message = '') => new PortLayerError('NotModified', message);
export const unavailable = (message: string) => new PortLayerError('Unavailable', message);

/** Reads the kind of any error: ours, or one from a module that tags errors with a `kind` string. */
export function errorKind(err: unknown): ErrorKind {
  const kind = (err as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' ? (kind as ErrorKind) : 'System';
}
