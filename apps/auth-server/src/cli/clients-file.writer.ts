import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

import { hashSecret, parseCertificate } from '@countersign/security';

import { parseClientsFile } from '../clients/client-registry.js';
import type { ClientAuthMethod } from '../clients/clients-file.schema.js';

/** What `clients add` was asked to register. */
export interface NewClient {
  readonly clientId?: string;
  readonly method: ClientAuthMethod;
  readonly scope: string;
  readonly audience: string;
  readonly tokenTtlSeconds?: number;
  readonly boundTokens: boolean;
  readonly subject?: Partial<
    Record<
      | 'tls_client_auth_subject_dn'
      | 'tls_client_auth_san_dns'
      | 'tls_client_auth_san_uri'
      | 'tls_client_auth_san_ip'
      | 'tls_client_auth_san_email',
      string
    >
  >;
  /** PEM of the self-signed certificate(s) to register for self_signed_tls_client_auth. */
  readonly certificatePem?: string;
}

/**
 * Adds a client to the clients file (created if absent). The whole new file is validated before
 * it replaces the old one. Secret clients get a generated secret, returned once and stored only
 * as its hash; secrets use `[A-Za-z0-9_-]` so unencoded Basic clients cannot break on them.
 */
export async function addClient(
  path: string,
  request: NewClient,
): Promise<{ clientId: string; secret?: string }> {
  const file = readClientsFileOrEmpty(path);
  const clientId = request.clientId ?? `cs-${randomBytes(12).toString('base64url')}`;
  const entry: Record<string, unknown> = {
    client_id: clientId,
    token_endpoint_auth_method: request.method,
    scope: request.scope,
    audience: request.audience,
    tls_client_certificate_bound_access_tokens: request.boundTokens,
    ...(request.tokenTtlSeconds === undefined
      ? {}
      : { token_ttl_seconds: request.tokenTtlSeconds }),
    ...request.subject,
  };

  let secret: string | undefined;
  if (request.method === 'client_secret_basic' || request.method === 'client_secret_post') {
    secret = randomBytes(32).toString('base64url');
    entry.client_secret_hash = await hashSecret(secret);
  }
  if (request.method === 'self_signed_tls_client_auth') {
    entry.jwks = { keys: [jwkForCertificate(request.certificatePem)] };
  }

  const next = { ...file, clients: [...file.clients, entry] };
  parseClientsFile(next, path);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, path);
  return { clientId, secret };
}

function readClientsFileOrEmpty(path: string): { clients: unknown[] } & Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { clients: [] };
    throw error;
  }
  let parsed: { clients?: unknown };
  try {
    parsed = JSON.parse(text) as { clients?: unknown };
  } catch {
    // the parser's message quotes the file, hashes included: name the file only
    throw new Error(`${path} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.clients)) {
    throw new Error(`${path} has no "clients" array`);
  }
  return parsed as { clients: unknown[] };
}

function jwkForCertificate(pem: string | undefined): Record<string, unknown> {
  if (pem === undefined) {
    throw new Error('self_signed_tls_client_auth needs --cert <file>');
  }
  const cert = parseCertificate(pem);
  if (!cert.ok) {
    throw new Error('--cert is not a PEM certificate');
  }
  const jwk = cert.evidence.publicKey.export({ format: 'jwk' });
  return { ...jwk, x5c: [cert.evidence.raw.toString('base64')] };
}
