// Registry authentication: the credentials a client sends (X-Registry-Auth), the server's
// WWW-Authenticate challenge, and the token exchange for Bearer challenges.

import { unauthorized } from '../errors.ts';
import { readBody, type Transport } from './transport.ts';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A refresh token from an earlier login (OAuth2). */
  identitytoken?: string;
  /** A bearer token to send as is. */
  registrytoken?: string;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Decodes the X-Registry-Auth header: base64url (or plain base64) JSON; empty or "{}" means anonymous. */
export function decodeAuthHeader(header: string | undefined): RegistryCredentials {
  if (!header) return {};
  try {
    const json = Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const parsed = JSON.parse(json) as Record<string, unknown>;
    const text = (key: string) => (typeof parsed[key] === 'string' && parsed[key] !== '' ? parsed[key] as string : undefined);
    return { username: text('username'), password: text('password'), identitytoken: text('identitytoken'), registrytoken: text('registrytoken') };
  } catch {
    return {};
  }
}

export function hasCredentials(credentials: RegistryCredentials): boolean {
  return Boolean(credentials.username || credentials.identitytoken || credentials.registrytoken);
}

/** Parses `Bearer realm="…",service="…",scope="…"` / `Basic realm="…"`. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(text);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const pair of match[2].matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[pair[1].toLowerCase()] = pair[2] !== undefined ? pair[2].replace(/\\(.)/g, '$1') : pair[3];
  }
  return { scheme, params };
}

export function basicAuthorization(credentials: RegistryCredentials): string | undefined {
  if (!credentials.username) return undefined;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`;
}

/** Asks the challenge's realm for a token covering `scopes`. */
export async function fetchToken(transport: Transport, challenge: Challenge, credentials: RegistryCredentials, scopes: string[]): Promise<string> {
  if (credentials.registrytoken) return credentials.registrytoken;
  const realm = challenge.params.realm;
  if (!realm) throw unauthorized('the registry asked for a bearer token but named no realm to get it from');
  const url = new URL(realm);
  const service = challenge.params.service;
  let res;
  if (credentials.identitytoken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identitytoken, client_id: 'bonneville' });
    if (service) form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    const body = Buffer.from(form.toString());
    res = await transport.send({ method: 'POST', url, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length }, body });
  } else {
    if (service) url.searchParams.set('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const authorization = basicAuthorization(credentials);
    url.searchParams.set('client_id', 'bonneville');
    res = await transport.send({ method: 'GET', url, headers: authorization ? { Authorization: authorization } : {} });
  }
  const body = await readBody(res, 1024 * 1024);
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw unauthorized(hasCredentials(credentials) ? 'unauthorized: incorrect username or password' : 'unauthorized: authentication required');
  }
  if (res.statusCode !== 200) throw unauthorized(`the token server at ${url.origin} answered ${res.statusCode}`);
  let parsed: { token?: unknown; access_token?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw unauthorized(`the token server at ${url.origin} sent no JSON`);
  }
  const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
  if (typeof token !== 'string' || token === '') throw unauthorized(`the token server at ${url.origin} sent no token`);
  return token;
}
