// HostConfig.LogConfig. A container's output is always kept in its datastore directory (the port
// layer's output log, which attach and restarts need too); the log driver decides only whether
// `docker logs` may read it, as with dockerd: json-file and local read, none does not. Drivers that
// ship logs elsewhere (syslog, fluentd …) are not registered here and are refused at create.
import { invalid, PortLayerError } from '../../portlayer/errors.ts';
import type { DockerPersonality } from './create-request.ts';

const READABLE = new Set(['json-file', 'local']);
const DRIVERS = new Set([...READABLE, 'none']);

export interface DockerLogConfig {
  Type?: string;
  Config?: Record<string, string> | null;
}

/** The effective log config of a create request (json-file unless asked otherwise); 400 for unknown drivers. */
export function dockerLogConfig(asked: DockerLogConfig | null | undefined): { Type: string; Config: Record<string, string> } {
  const type = asked?.Type || 'json-file';
  if (!DRIVERS.has(type)) throw invalid(`logger: no log driver named '${type}' is registered`);
  return { Type: type, Config: asked?.Config ?? {} };
}

/** Refuses `docker logs` for a container whose driver keeps nothing to read. */
export function assertLogsReadable(personality: unknown): void {
  const type = (personality as DockerPersonality).hostConfig.LogConfig as DockerLogConfig | undefined;
  if (type?.Type && !READABLE.has(type.Type)) {
    throw new PortLayerError('NotImplemented', 'configured logging driver does not support reading');
  }
}
