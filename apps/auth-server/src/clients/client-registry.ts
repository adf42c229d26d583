import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { ConfigurationError, validateConfig } from '@countersign/common';
import {
  parseCertificate,
  parseDistinguishedName,
  thumbprintS256,
  type SubjectRule,
} from '@countersign/security';

import {
  ClientsFile,
  TLS_SUBJECT_FIELDS,
  type ClientAuthMethod,
  type ClientEntry,
} from './clients-file.schema.js';

/** A client as the token endpoint sees it, after the clients file was validated. */
export interface RegisteredClient {
  readonly clientId: string;
  readonly authMethod: ClientAuthMethod;
  readonly secretHash?: string;
  readonly subjectRule?: SubjectRule;
  /** x5t#S256 of each certificate registered for self_signed_tls_client_auth. */
  readonly pinnedThumbprints: readonly string[];
  readonly grantTypes: readonly string[];
  readonly scopes: readonly string[];
  readonly audience: string;
  readonly tokenTtlSeconds?: number;
  readonly boundTokensRequired: boolean;
}

const SECRET_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post'];
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** The registered clients, looked up by `client_id` only (never by certificate). */
export class ClientRegistry {
  private readonly byId: Map<string, RegisteredClient>;

  constructor(clients: readonly RegisteredClient[]) {
    this.byId = new Map(clients.map((client) => [client.clientId, client]));
  }

  find(clientId: string): RegisteredClient | undefined {
    return this.byId.get(clientId);
  }

  all(): RegisteredClient[] {
    return [...this.byId.values()];
  }

  /** Every scope some client may ask for (published as `scopes_supported`). */
  scopes(): string[] {
    return [...new Set(this.all().flatMap((client) => client.scopes))].sort();
  }
}

/** Reads and validates the clients file; a broken file stops start-up with a ConfigurationError. */
export function loadClientsFile(path: string): ClientRegistry {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigurationError(path, [`cannot read the clients file (${code})`]);
  }
  let plain: unknown;
  try {
    plain = JSON.parse(text);
  } catch {
    // the parser's message quotes the file, hashes included: say only what is wrong
    throw new ConfigurationError(path, ['the clients file is not valid JSON']);
  }
  return parseClientsFile(plain, path);
}

/** Validates a parsed clients file (schema, then the rules that span several fields). */
export function parseClientsFile(plain: unknown, source: string): ClientRegistry {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    throw new ConfigurationError(source, ['the clients file must be a JSON object with "clients"']);
  }
  const file = validateConfig(ClientsFile, plain as Record<string, unknown>, {
    source,
    forbidUnknown: true,
  });

  const problems: string[] = [];
  const clients: RegisteredClient[] = [];
  const seen = new Set<string>();
  file.clients.forEach((entry, index) => {
    const where = `clients.${index} (${entry.client_id})`;
    if (seen.has(entry.client_id)) {
      problems.push(`${where}: client_id is registered twice`);
    }
    seen.add(entry.client_id);
    const client = toRegisteredClient(entry, where, problems);
    if (client !== undefined) clients.push(client);
  });

  if (problems.length > 0) {
    throw new ConfigurationError(source, problems);
  }
  return new ClientRegistry(clients);
}

function toRegisteredClient(
  entry: ClientEntry,
  where: string,
  problems: string[],
): RegisteredClient | undefined {
  const before = problems.length;
  const method = entry.token_endpoint_auth_method;
  const subjectFields = TLS_SUBJECT_FIELDS.filter((field) => entry[field] !== undefined);

  if (SECRET_METHODS.includes(method) && entry.client_secret_hash === undefined) {
    problems.push(`${where}: ${method} needs client_secret_hash`);
  }
  if (!SECRET_METHODS.includes(method) && entry.client_secret_hash !== undefined) {
    problems.push(`${where}: client_secret_hash is only for client_secret_basic/_post`);
  }
  if (method === 'tls_client_auth' && subjectFields.length !== 1) {
    problems.push(
      `${where}: tls_client_auth needs exactly one of ${TLS_SUBJECT_FIELDS.join(', ')}`,
    );
  }
  if (method !== 'tls_client_auth' && subjectFields.length > 0) {
    problems.push(`${where}: ${subjectFields.join(', ')} only apply to tls_client_auth`);
  }
  if (method === 'self_signed_tls_client_auth' && entry.jwks === undefined) {
    problems.push(`${where}: self_signed_tls_client_auth needs jwks with x5c certificates`);
  }
  if (method !== 'self_signed_tls_client_auth' && entry.jwks !== undefined) {
    problems.push(`${where}: jwks only applies to self_signed_tls_client_auth`);
  }

  const subjectRule =
    method === 'tls_client_auth' ? subjectRuleOf(entry, where, problems) : undefined;
  const pinnedThumbprints =
    method === 'self_signed_tls_client_auth' && entry.jwks !== undefined
      ? entry.jwks.keys.map((jwk, index) =>
          registeredThumbprint(jwk, `${where}.jwks.keys.${index}`, problems),
        )
      : [];

  if (problems.length > before) return undefined;
  return {
    clientId: entry.client_id,
    authMethod: method,
    secretHash: entry.client_secret_hash,
    subjectRule,
    pinnedThumbprints: pinnedThumbprints.filter((value): value is string => value !== undefined),
    grantTypes: entry.grant_types ?? ['client_credentials'],
    scopes: [...new Set(entry.scope.split(' '))],
    audience: entry.audience,
    tokenTtlSeconds: entry.token_ttl_seconds,
    boundTokensRequired: entry.tls_client_certificate_bound_access_tokens,
  };
}

function subjectRuleOf(
  entry: ClientEntry,
  where: string,
  problems: string[],
): SubjectRule | undefined {
  if (entry.tls_client_auth_subject_dn !== undefined) {
    const parsed = parseDistinguishedName(entry.tls_client_auth_subject_dn);
    if (!parsed.ok || parsed.evidence.length === 0) {
      problems.push(`${where}: tls_client_auth_subject_dn is not an RFC 4514 distinguished name`);
      return undefined;
    }
    return { subjectDn: entry.tls_client_auth_subject_dn };
  }
  if (entry.tls_client_auth_san_dns !== undefined) return { sanDns: entry.tls_client_auth_san_dns };
  if (entry.tls_client_auth_san_uri !== undefined) return { sanUri: entry.tls_client_auth_san_uri };
  if (entry.tls_client_auth_san_ip !== undefined) return { sanIp: entry.tls_client_auth_san_ip };
  if (entry.tls_client_auth_san_email !== undefined) {
    return { sanEmail: entry.tls_client_auth_san_email };
  }
  return undefined;
}

// RFC 8705 §2.2.2 with RFC 7517 §4.7: the JWK's key must be the key of x5c[0]
function registeredThumbprint(
  jwk: Record<string, unknown>,
  where: string,
  problems: string[],
): string | undefined {
  const x5c = jwk.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || typeof x5c[0] !== 'string') {
    problems.push(`${where}: x5c must be a non-empty array of base64 DER certificates`);
    return undefined;
  }
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    problems.push(`${where}: holds private key members; register the public key only`);
    return undefined;
  }
  if (!STRICT_BASE64.test(x5c[0])) {
    problems.push(`${where}: x5c[0] is not standard base64`);
    return undefined;
  }
  const cert = parseCertificate(Buffer.from(x5c[0], 'base64'));
  if (!cert.ok) {
    problems.push(`${where}: x5c[0] is not an X.509 certificate`);
    return undefined;
  }

  try {
    const publicMembers: Record<string, unknown> = { ...jwk };
    delete publicMembers.x5c;
    const fromJwk = createPublicKey({ key: publicMembers as JsonWebKey, format: 'jwk' });
    const spki = (key: typeof fromJwk) => key.export({ type: 'spki', format: 'der' });
    if (!spki(fromJwk).equals(spki(cert.evidence.publicKey))) {
      problems.push(`${where}: the JWK's public key is not the key of x5c[0]`);
      return undefined;
    }
  } catch {
    problems.push(`${where}: the JWK is not a usable public key`);
    return undefined;
  }
  return thumbprintS256(cert.evidence);
}
