import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigurationError, parseHostPortList, validateConfig } from '@countersign/common';
import {
  createProxyAllowlist,
  type ForwardedCertificateFormat,
  type ProxyAllowlist,
} from '@countersign/security';
import { compileProfiles } from '../profiles/profile-compiler.js';
import type { DeliveryProfile } from '../profiles/delivery-profile.js';
import { ListenerEnv } from './listener-env.js';

/** Key material of the listener's own TLS endpoint. */
export interface ListenerTlsMaterial {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly clientCa?: Buffer;
}

/** Where a TLS-terminating proxy puts the client certificate, and which peers may. */
export interface ForwardedCertificateSource {
  readonly format: ForwardedCertificateFormat;
  readonly headerName?: string;
  readonly allowlist: ProxyAllowlist;
}

/** Where the listener's Redis is: one server (REDIS_URL) or a cluster (REDIS_CLUSTER_NODES). */
export type ListenerRedisSettings =
  | { readonly mode: 'single'; readonly url: string }
  | { readonly mode: 'cluster'; readonly nodes: readonly { host: string; port: number }[] };

/** Everything the listener needs, validated and compiled before the app starts. */
export interface ListenerSettings {
  readonly env: ListenerEnv;
  readonly redis: ListenerRedisSettings;
  readonly profiles: ReadonlyMap<string, DeliveryProfile>;
  readonly tls?: ListenerTlsMaterial;
  readonly forwarded?: ForwardedCertificateSource;
}

function readFileSetting(name: string, path: string): Buffer {
  try {
    return readFileSync(resolve(path));
  } catch {
    throw new ConfigurationError('environment', [`${name}: ${path} cannot be read`]);
  }
}

/** The server's key pair and client CA must load as Node's TLS stack will load them at start. */
function checkTlsMaterial(tls: ListenerTlsMaterial): void {
  try {
    createSecureContext({ key: tls.key, cert: tls.cert, ca: tls.clientCa });
  } catch (error) {
    // OpenSSL's message names the problem (no PEM, key mismatch), never the key material itself
    const why =
      error instanceof Error ? error.message.replace(/^error:[0-9A-F]+:/, '') : 'unusable';
    throw new ConfigurationError('environment', [
      `LISTENER_TLS_CERT_FILE / LISTENER_TLS_KEY_FILE / LISTENER_CLIENT_CA_FILE: not a usable ` +
        `key pair and CA bundle (${why})`,
    ]);
  }
}

function redisSettingsOf(env: ListenerEnv): ListenerRedisSettings {
  if (env.REDIS_CLUSTER_NODES === undefined) return { mode: 'single', url: env.REDIS_URL };
  return {
    mode: 'cluster',
    nodes: parseHostPortList(env.REDIS_CLUSTER_NODES),
  };
}

/** Validates the environment, reads the TLS material and compiles every profile. */
export function loadListenerSettings(
  environment: Readonly<Record<string, string | undefined>>,
): ListenerSettings {
  const env = validateConfig(ListenerEnv, { ...environment }, { source: 'environment' });
  if (env.LISTENER_HEADERS_TIMEOUT_MS >= env.LISTENER_REQUEST_TIMEOUT_MS) {
    throw new ConfigurationError('environment', [
      'LISTENER_HEADERS_TIMEOUT_MS: must be less than LISTENER_REQUEST_TIMEOUT_MS',
    ]);
  }

  const clientCa =
    env.LISTENER_CLIENT_CA_FILE === undefined
      ? undefined
      : readFileSetting('LISTENER_CLIENT_CA_FILE', env.LISTENER_CLIENT_CA_FILE);

  let tls: ListenerTlsMaterial | undefined;
  if (env.LISTENER_MODE === 'tls') {
    tls = {
      key: readFileSetting('LISTENER_TLS_KEY_FILE', env.LISTENER_TLS_KEY_FILE as string),
      cert: readFileSetting('LISTENER_TLS_CERT_FILE', env.LISTENER_TLS_CERT_FILE as string),
      clientCa,
    };
    checkTlsMaterial(tls);
  }

  let forwarded: ForwardedCertificateSource | undefined;
  if (env.LISTENER_MODE === 'proxy' && env.LISTENER_FORWARDED_CERT_FORMAT !== undefined) {
    const allowlist = createProxyAllowlist(env.LISTENER_TRUSTED_PROXIES ?? []);
    if (!allowlist.ok) {
      throw new ConfigurationError('environment', [
        `LISTENER_TRUSTED_PROXIES: ${allowlist.detail ?? 'must hold IP addresses or CIDRs'}`,
      ]);
    }
    forwarded = {
      format: env.LISTENER_FORWARDED_CERT_FORMAT,
      headerName: env.LISTENER_FORWARDED_CERT_HEADER,
      allowlist: allowlist.evidence,
    };
  }

  const profiles = compileProfiles(env.LISTENER_PROFILES_FILE, {
    mode: env.LISTENER_MODE,
    clientCaPem: clientCa?.toString('utf8'),
    env: environment,
  });

  return { env, redis: redisSettingsOf(env), profiles, tls, forwarded };
}
