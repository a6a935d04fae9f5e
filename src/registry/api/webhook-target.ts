// Where webhooks may point. A project admin must not make the registry POST to its own host or to
// link-local services (cloud metadata at 169.254.169.254 and the like), so loopback, link-local
// and unspecified addresses are refused unless the operator allows them (`--allow-internal-webhooks`).
// The check runs when a policy is saved and again on the address each delivery actually connects
// to, so a hostname that later resolves to loopback is caught too.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { promises as dns } from 'node:dns';
import { badRequest } from '../http/errors.ts';

export function isInternalAddress(ip: string): boolean {
  const v4 = isIP(ip) === 4 ? ip : mappedV4(ip);
  if (v4) {
    const [a, b] = v4.split('.').map(Number);
    return a === 127 || a === 0 || (a === 169 && b === 254);
  }
  const v6 = ip.toLowerCase();
  return v6 === '::1' || v6 === '::' || /^fe[89ab][0-9a-f]:/.test(v6);
}

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`, which URLs write `::ffff:7f00:1`). */
function mappedV4(ip: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (!hex) return undefined;
  const hi = parseInt(hex[1], 16), lo = parseInt(hex[2], 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/** Refuses (400) a target whose host is, or resolves to, an internal address. */
export async function checkWebhookTarget(url: URL, allowInternal: boolean): Promise<void> {
  if (allowInternal) return;
  const host = hostOf(url);
  const addresses = isIP(host) ? [host] : await dns.lookup(host, { all: true }).then((a) => a.map((x) => x.address), () => [] as string[]);
  if (host.toLowerCase() === 'localhost' || addresses.some(isInternalAddress)) {
    throw badRequest(`webhook target ${host} is a loopback or link-local address (the registry's operator may allow it with --allow-internal-webhooks)`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http(s).request that fails connections to internal addresses (checked on the address used). */
export function guardedLookup(allowInternal: boolean) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) { callback(err, ''); return; }
      const list = addresses as LookupAddress[];
      const allowed = allowInternal ? list : list.filter((a) => !isInternalAddress(a.address));
      if (allowed.length === 0) {
        callback(Object.assign(new Error(`webhook target ${hostname} resolves to an internal address`), { code: 'EINTERNAL' }), '');
        return;
      }
      if ((options as LookupAllOptions).all) callback(null, allowed);
      else callback(null, allowed[0].address, allowed[0].family);
    });
  };
}
