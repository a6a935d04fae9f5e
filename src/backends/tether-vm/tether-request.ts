// One request to the tether answered by RESULT or ERROR (docs/tether-protocol.md), its ERROR turned
// into the port layer's error of the same kind.
import { PortLayerError } from '../../portlayer/errors.ts';
import type { ErrorKind } from '../../portlayer/errors.ts';
import { TetherError } from '../../tether/client.ts';
import type { TetherClient } from '../../tether/client.ts';

const KINDS = new Set<string>(['NotFound', 'InvalidParameter', 'Conflict', 'System']);

/** The tether's ERROR kinds are the port layer's; anything else (a lost connection) is a System error. */
export function portLayerError(err: unknown): Error {
  if (err instanceof TetherError) {
    const kind = (err.kind && KINDS.has(err.kind) ? err.kind : 'System') as ErrorKind;
    return new PortLayerError(kind, err.message, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Sends the request on `session` and parses the RESULT's JSON. */
export async function ask<T>(tether: TetherClient, session: number, type: number, body?: object): Promise<T> {
  try {
    return JSON.parse((await tether.request(session, type, body)).toString('utf8')) as T;
  } catch (err) {
    throw portLayerError(err);
  }
}
