// vCenter's faults as the port layer's error classes, so Docker clients get a clear message and a
// fitting status: a name taken or a VM in the wrong power state is a conflict (409), a lost session or
// a VCH placement gone is the service being unavailable (503), the rest is the system's (500).
import { PortLayerError, type ErrorKind } from '../../portlayer/errors.ts';
import {
  DuplicateNameFault, FileAlreadyExistsFault, InsufficientResourcesFault, InvalidLoginFault, InvalidPowerStateFault,
  InvalidStateFault, ManagedObjectNotFoundFault, NotAuthenticatedFault, VimFault,
} from '../../vim25/faults.ts';
import { ManagedObjectReference } from '../../vim25/types.ts';

function kindOf(fault: VimFault): ErrorKind {
  if (fault instanceof DuplicateNameFault || fault instanceof FileAlreadyExistsFault) return 'Conflict';
  if (fault instanceof InvalidPowerStateFault || fault instanceof InvalidStateFault) return 'Conflict';
  if (fault instanceof InsufficientResourcesFault) return 'Conflict';
  if (fault instanceof NotAuthenticatedFault || fault instanceof InvalidLoginFault) return 'Unavailable';
  if (fault instanceof ManagedObjectNotFoundFault) return 'Unavailable';
  return 'System';
}

/** `what` failed: a vSphere fault becomes a classified error saying so; other errors pass unchanged. */
export function vsphereError(what: string, err: unknown): Error {
  if (err instanceof PortLayerError) return err;
  if (err instanceof VimFault) {
    // A fault without a message of its own gets its type only; a missing object is named.
    const own = err.message.startsWith('vSphere fault') ? '' : `${err.message} `;
    const obj = err.detail.obj instanceof ManagedObjectReference ? `: ${err.detail.obj.type} ${err.detail.obj.value} no longer exists` : '';
    return new PortLayerError(kindOf(err), `vSphere: ${what}: ${own}(${err.faultType}${obj})`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}
