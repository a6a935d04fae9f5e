// SOAP faults as typed errors. A fault's detail element carries its vim type (xsi:type, e.g.
// `DuplicateName`); a failed task's info.error carries the same as a LocalizedMethodFault. Both become
// one of the classes below, each a VimFault with the type name and the decoded fault fields.
import { toValue, type XmlElement } from './xml.ts';

export class VimFault extends Error {
  /** vim fault type name, e.g. `InvalidPowerState` (the `Fault` suffix of the detail element dropped). */
  readonly faultType: string;
  readonly detail: Record<string, unknown>;
  constructor(faultType: string, message: string, detail: Record<string, unknown> = {}) {
    super(message || faultType);
    this.name = `${faultType}Fault`;
    this.faultType = faultType;
    this.detail = detail;
  }
}
export class NotFoundFault extends VimFault {}
export class ManagedObjectNotFoundFault extends VimFault {}
export class DuplicateNameFault extends VimFault {}
export class InvalidPowerStateFault extends VimFault {}
export class InsufficientResourcesFault extends VimFault {}
export class NotAuthenticatedFault extends VimFault {}
export class InvalidLoginFault extends VimFault {}
export class InvalidArgumentFault extends VimFault {}
export class FileNotFoundFault extends VimFault {}
export class FileAlreadyExistsFault extends VimFault {}
export class InvalidStateFault extends VimFault {}
export class RequestCanceledFault extends VimFault {}

type FaultClass = new (faultType: string, message: string, detail?: Record<string, unknown>) => VimFault;

const byType: Record<string, FaultClass> = {
  NotFound: NotFoundFault,
  ManagedObjectNotFound: ManagedObjectNotFoundFault,
  DuplicateName: DuplicateNameFault,
  InvalidPowerState: InvalidPowerStateFault,
  InsufficientResourcesFault: InsufficientResourcesFault,
  InsufficientCpuResourcesFault: InsufficientResourcesFault,
  InsufficientMemoryResourcesFault: InsufficientResourcesFault,
  InsufficientHostCapacityFault: InsufficientResourcesFault,
  NotAuthenticated: NotAuthenticatedFault,
  InvalidLogin: InvalidLoginFault,
  InvalidArgument: InvalidArgumentFault,
  InvalidRequest: InvalidArgumentFault,
  FileNotFound: FileNotFoundFault,
  FileAlreadyExists: FileAlreadyExistsFault,
  InvalidState: InvalidStateFault,
  InvalidDatastorePath: FileNotFoundFault,
  RequestCanceled: RequestCanceledFault,
};

export function makeFault(faultType: string, message: string, detail: Record<string, unknown> = {}): VimFault {
  const Cls = byType[faultType] ?? VimFault;
  return new Cls(faultType, message || describe(faultType, detail), detail);
}

function describe(faultType: string, detail: Record<string, unknown>): string {
  const name = typeof detail.name === 'string' ? ` (${detail.name})` : '';
  const state = typeof detail.existingState === 'string' ? ` (state ${detail.existingState})` : '';
  return `vSphere fault ${faultType}${name}${state}`;
}

/** From a SOAP `<Fault>` element. */
export function faultFromSoap(fault: XmlElement): VimFault {
  const faultstring = fault.children.find((c) => c.name === 'faultstring')?.text ?? '';
  const detail = fault.children.find((c) => c.name === 'detail')?.children[0];
  if (!detail) return new VimFault('SoapFault', faultstring || 'SOAP fault without detail');
  const faultType = detail.xsiType ?? detail.name.replace(/Fault$/, '');
  const fields = toValue(detail);
  return makeFault(faultType, faultstring, typeof fields === 'object' && fields !== null ? (fields as Record<string, unknown>) : {});
}

/** From a decoded LocalizedMethodFault (a task's info.error). */
export function faultFromLocalized(value: unknown): VimFault {
  const v = (value ?? {}) as Record<string, unknown>;
  const fault = (v.fault ?? {}) as Record<string, unknown>;
  const faultType = typeof fault.$type === 'string' ? fault.$type : 'VimFault';
  const message = typeof v.localizedMessage === 'string' ? v.localizedMessage : '';
  return makeFault(faultType, message, fault);
}
