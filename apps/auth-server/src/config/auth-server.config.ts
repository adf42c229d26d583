import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

import { ConfigurationError, parseHostPortList, validateConfig } from '@countersign/common';
import { parseCertificateChain } from '@countersign/security';

import { loadClientsFile, type ClientRegistry } from '../clients/client-registry.js';
import { AuthServerEnv, type SigningAlgorithm } from './auth-server.env.js';

/** Injection token of the validated AuthServerConfig. */
export const AUTH_SERVER_CONFIG = Symbol('AUTH_SERVER_CONFIG');

/** Everything the auth-server needs, validated once at start-up. */
export interface AuthServerConfig {
  readonly port: number;
  readonly host: string;
  readonly issuer: string;
  readonly tls: {
    readonly cert: string;
    readonly key: string;
    /** The dedicated client CA bundle; absent means no client can use tls_client_auth. */
    readonly clientCa?: string;
    readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  };
  readonly clientsFile: string;
  readonly clients: ClientRegistry;
  readonly keys: {
    readonly dir: string;
    readonly algorithm: SigningAlgorithm;
    readonly reloadSeconds: number;
  };
  readonly tokenTtlSeconds: number;
  /** The longest lifetime any client's token can have; old keys stay published this long. */
  readonly maxTokenTtlSeconds: number;
  readonly rateLimit: { readonly maxFailures: number; readonly windowSeconds: number };
  readonly logLevel: AuthServerEnv['AUTH_LOG_LEVEL'];
  readonly redisUrl: string;
  /** The seed nodes of a Redis Cluster; when set, REDIS_URL is not used. */
  readonly redisClusterNodes?: readonly { readonly host: string; readonly port: number }[];
  readonly keyPrefix: string;
}

/** Validates the environment, then reads the TLS material and the clients file it names. */
export function loadAuthServerConfig(env: Record<string, string | undefined>): AuthServerConfig {
  const settings = validateConfig(AuthServerEnv, env, { source: 'environment' });
  const problems: string[] = [];
  const issuerProblem = issuerPathProblem(settings.AUTH_ISSUER);
  if (issuerProblem !== undefined) problems.push(issuerProblem);
  const readPem = (variable: keyof AuthServerEnv, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`${variable}: cannot read ${path} (${code})`);
      return undefined;
    }
  };
  const cert = readPem('AUTH_TLS_CERT_FILE', settings.AUTH_TLS_CERT_FILE);
  const key = readPem('AUTH_TLS_KEY_FILE', settings.AUTH_TLS_KEY_FILE);
  const clientCa = readPem('AUTH_CLIENT_CA_FILE', settings.AUTH_CLIENT_CA_FILE);
  if (problems.length > 0 || cert === undefined || key === undefined) {
    throw new ConfigurationError('environment', problems);
  }
  checkTlsMaterial(cert, key, clientCa);

  const clients = loadClientsFile(settings.AUTH_CLIENTS_FILE);
  const pkiClients = clients.all().filter((client) => client.authMethod === 'tls_client_auth');
  if (pkiClients.length > 0 && clientCa === undefined) {
    throw new ConfigurationError('environment', [
      `AUTH_CLIENT_CA_FILE: required because ${pkiClients[0].clientId} uses tls_client_auth`,
    ]);
  }

  const tokenTtlSeconds = settings.AUTH_TOKEN_TTL_SECONDS;
  return {
    port: settings.AUTH_PORT,
    host: settings.AUTH_HOST,
    issuer: settings.AUTH_ISSUER,
    tls: { cert, key, clientCa, minVersion: settings.AUTH_TLS_MIN_VERSION },
    clientsFile: settings.AUTH_CLIENTS_FILE,
    clients,
    keys: {
      dir: settings.AUTH_KEYS_DIR,
      algorithm: settings.AUTH_SIGNING_ALG,
      reloadSeconds: settings.AUTH_KEYS_RELOAD_SECONDS,
    },
    tokenTtlSeconds,
    maxTokenTtlSeconds: Math.max(
      tokenTtlSeconds,
      ...clients.all().map((client) => client.tokenTtlSeconds ?? 0),
    ),
    rateLimit: {
      maxFailures: settings.AUTH_RATE_LIMIT_MAX_FAILURES,
      windowSeconds: settings.AUTH_RATE_LIMIT_WINDOW_SECONDS,
    },
    logLevel: settings.AUTH_LOG_LEVEL,
    redisUrl: settings.REDIS_URL,
    redisClusterNodes:
      settings.REDIS_CLUSTER_NODES === undefined
        ? undefined
        : parseHostPortList(settings.REDIS_CLUSTER_NODES),
    keyPrefix: settings.QUEUE_PREFIX,
  };
}

// every endpoint is served at the root, and the metadata lists them under the issuer: an issuer
// with a path would advertise URLs nobody serves (and RFC 8414 §3 would move the metadata too)
function issuerPathProblem(issuer: string): string | undefined {
  const [, origin = issuer, path = ''] = /^(https:\/\/[^/]+)(\/.*)?$/.exec(issuer) ?? [];
  if (path === '' || path === '/') return undefined;
  return (
    `AUTH_ISSUER: must have no path (found ${path}); the auth-server serves its endpoints at ` +
    `the root of its origin, so use ${origin}`
  );
}

// fail at start-up with the variable's name rather than with a TLS stack trace later
function checkTlsMaterial(cert: string, key: string, clientCa: string | undefined): void {
  const problems: string[] = [];
  if (!parseCertificateChain(cert).ok) {
    problems.push('AUTH_TLS_CERT_FILE: holds no PEM certificate');
  }
  if (clientCa !== undefined && !parseCertificateChain(clientCa).ok) {
    problems.push('AUTH_CLIENT_CA_FILE: holds no PEM CA certificate');
  }
  if (problems.length === 0) {
    try {
      createSecureContext({ cert, key, ca: clientCa });
    } catch (error) {
      const why = error instanceof Error ? error.message : 'unusable';
      problems.push(`AUTH_TLS_CERT_FILE / AUTH_TLS_KEY_FILE: not a usable key pair (${why})`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigurationError('environment', problems);
  }
}
