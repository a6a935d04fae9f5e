// Can the VCH reach the registries it is configured for? One GET /v2/ each (the distribution API's
// version check), with the same trust the engine's pulls use, and a short timeout: any HTTP answer
// (200, or 401 asking for credentials) means the registry is there.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readdirSync } from 'node:fs';
import { caCertificatesFor, isInsecure, registryHost, type RegistryAccess } from '../portlayer/images/registry/access.ts';

export interface RegistryReachability {
  registry: string;
  url: string;
  reachable: boolean;
  /** The HTTP status of GET /v2/, when there was an answer. */
  status?: number;
  /** Why it is unreachable. */
  error?: string;
}

const DEFAULT_TIMEOUT_MS = 3000;

/** The registries this VCH names: Docker Hub (unless an allow-list leaves it out), the insecure and allowed lists, certs.d/. */
export function configuredRegistries(access: RegistryAccess): string[] {
  const names = new Set<string>();
  if (access.allowed.length === 0 || access.allowed.some((a) => a === 'docker.io' || a === 'registry-1.docker.io')) names.add('docker.io');
  for (const name of [...access.insecure, ...access.allowed]) names.add(name);
  if (access.certsDir) {
    try {
      for (const entry of readdirSync(access.certsDir, { withFileTypes: true })) if (entry.isDirectory()) names.add(entry.name);
    } catch {
      // no certs.d
    }
  }
  if (names.has('registry-1.docker.io')) names.delete('registry-1.docker.io');
  return [...names].filter((n) => !n.includes('*'));
}

function getV2(url: URL, options: { ca?: string[]; verify: boolean; timeoutMs: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'GET',
      timeout: options.timeoutMs,
      ...(url.protocol === 'https:' ? { ca: options.ca?.length ? options.ca : undefined, rejectUnauthorized: options.verify } : {}),
    }, (res) => {
      clearTimeout(deadline);
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The socket's timeout counts idle time only; this bounds the whole exchange, name lookup included.
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error) => { clearTimeout(deadline); reject(error); });
    req.end();
  });
}

export async function probeRegistry(access: RegistryAccess, registry: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RegistryReachability> {
  const host = registryHost(registry);
  const insecure = isInsecure(access, registry);
  const https = new URL(`https://${host}/v2/`);
  try {
    const status = await getV2(https, { ca: caCertificatesFor(access, registry), verify: !insecure, timeoutMs });
    return { registry, url: https.href, reachable: true, status };
  } catch (error) {
    if (!insecure) return { registry, url: https.href, reachable: false, error: (error as Error).message };
    // An insecure registry may speak plain HTTP, as the engine's pulls allow.
    const http = new URL(`http://${host}/v2/`);
    try {
      const status = await getV2(http, { verify: false, timeoutMs });
      return { registry, url: http.href, reachable: true, status };
    } catch (httpError) {
      return { registry, url: http.href, reachable: false, error: `${(error as Error).message}; over HTTP: ${(httpError as Error).message}` };
    }
  }
}

export function probeRegistries(access: RegistryAccess, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RegistryReachability[]> {
  return Promise.all(configuredRegistries(access).map((r) => probeRegistry(access, r, timeoutMs)));
}
