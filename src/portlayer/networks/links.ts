// Docker's legacy links (`--link name:alias`). On the default bridge, dockerd gives the linking
// container an /etc/hosts entry for the linked one (alias, hostname, name) and environment variables
// describing it (ALIAS_NAME, ALIAS_PORT_…, ALIAS_ENV_…); the linked container must be running at start.
// On user-defined networks a link is only one more name for the linked container, seen by the
// linking container alone.

export interface LinkRequest {
  /** The linked container's name (or id). */
  container: string;
  alias: string;
}

/** What the link variables are made of. */
export interface LinkTarget {
  /** "/parent/alias": what ALIAS_NAME says. */
  linkName: string;
  alias: string;
  ip: string;
  /** "80/tcp" … as the linked container exposes them. */
  exposed: string[];
  /** The linked container's own environment (ALIAS_ENV_…), PATH and HOME left out as dockerd does. */
  env: string[];
}

/** The variables dockerd sets for one link (daemon/links: ToEnv), in its order. */
export function linkEnv(link: LinkTarget): string[] {
  const alias = link.alias.toUpperCase().replaceAll('-', '_');
  const ports = link.exposed.map((e) => {
    const [port, proto = 'tcp'] = e.split('/');
    return { port: Number(port), proto };
  }).filter((p) => Number.isInteger(p.port)).sort((a, b) => a.port - b.port || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : 0));
  const env: string[] = [];
  if (ports.length > 0) env.push(`${alias}_PORT=${ports[0].proto}://${link.ip}:${ports[0].port}`);
  for (let i = 0; i < ports.length;) {
    const first = ports[i];
    const j = lastContiguous(ports, i);
    const key = (p: { port: number; proto: string }) => `${alias}_PORT_${first.port}_${p.proto.toUpperCase()}`;
    if (j > i + 1) {
      const last = ports[j];
      env.push(`${key(first)}_START=${first.proto}://${link.ip}:${first.port}`);
      env.push(`${key(first)}_ADDR=${link.ip}`);
      env.push(`${key(first)}_PROTO=${first.proto}`);
      env.push(`${key(first)}_PORT_START=${first.port}`);
      env.push(`${key(last)}_END=${last.proto}://${link.ip}:${last.port}`);
      env.push(`${key(last)}_PORT_END=${last.port}`);
    }
    for (let k = i; k <= j; k++) {
      const p = ports[k];
      const name = `${alias}_PORT_${p.port}_${p.proto.toUpperCase()}`;
      env.push(`${name}=${p.proto}://${link.ip}:${p.port}`, `${name}_ADDR=${link.ip}`, `${name}_PORT=${p.port}`, `${name}_PROTO=${p.proto}`);
    }
    i = j + 1;
  }
  env.push(`${alias}_NAME=${link.linkName}`);
  for (const entry of link.env) {
    const eq = entry.indexOf('=');
    if (eq < 0) continue;
    const name = entry.slice(0, eq);
    if (name === 'HOME' || name === 'PATH') continue;
    env.push(`${alias}_ENV_${name}=${entry.slice(eq + 1)}`);
  }
  return env;
}

/** The index of the last port in the run of consecutive port numbers starting at i. */
function lastContiguous(ports: Array<{ port: number }>, i: number): number {
  let value = ports[i].port;
  for (let k = i + 1; k < ports.length; k++) {
    if (ports[k].port > value + 1) return k - 1;
    value++;
  }
  return ports.length - 1;
}

/** "name", "name:alias" or the API's "/name:/parent/alias". */
export function parseLink(spec: string): LinkRequest | undefined {
  const [name, alias = name] = spec.split(':');
  const container = name.replace(/^\//, '');
  const short = alias.split('/').filter(Boolean).pop() ?? '';
  if (!container || !short || spec.split(':').length > 2) return undefined;
  return { container, alias: short };
}
