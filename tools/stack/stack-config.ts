import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { hashSecret } from '@countersign/security';

import type { SimulatorSettingsFile } from '../simulator/simulator-settings.js';
import {
  CONNECT_CLIENT_ID,
  CONNECT_MTLS_CLIENT_ID,
  CONNECT_PROFILE,
  CONNECT_SCOPE,
  HMAC_KEY_ENV,
  type DevMaterial,
} from './dev-material.js';

/** Where the apps listen (all on loopback) and where this run keeps its data. */
export interface StackLayout {
  /** Address the apps bind to. */
  readonly bindHost: string;
  /** Host names in URLs (the server certificates carry 127.0.0.1, localhost and compose names). */
  readonly authHost: string;
  readonly listenerHost: string;
  readonly workerHost: string;
  readonly authPort: number;
  readonly listenerPort: number;
  readonly workerPort: number;
  readonly redisUrl: string;
  readonly queuePrefix: string;
  readonly payloadDir: string;
  readonly archiveDir: string;
  readonly auditLogFile: string;
  /** Bodies above this go through the payload store instead of inline in the job. */
  readonly inlinePayloadMaxBytes?: number;
}

/** The addresses a person or the simulator uses. */
export interface StackUrls {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly listener: string;
  readonly deliveryUrl: string;
  readonly audience: string;
  readonly worker: string;
}

/** The environment of each app and the files written for them. */
export interface StackConfig {
  readonly urls: StackUrls;
  readonly env: {
    readonly authServer: Record<string, string>;
    readonly listener: Record<string, string>;
    readonly worker: Record<string, string>;
  };
  readonly files: {
    readonly clients: string;
    readonly profiles: string;
    readonly simulator: string;
    readonly devEnv: string;
  };
}

/** URLs of a layout; the auth-server's endpoint paths follow its RFC 8414 metadata. */
export function stackUrls(layout: StackLayout): StackUrls {
  const issuer = `https://${layout.authHost}:${layout.authPort}`;
  const listener = `https://${layout.listenerHost}:${layout.listenerPort}`;
  const deliveryUrl = `${listener}/connect/${CONNECT_PROFILE}`;
  return {
    issuer,
    tokenEndpoint: `${issuer}/oauth2/token`,
    jwksUri: `${issuer}/oauth2/jwks`,
    listener,
    deliveryUrl,
    audience: deliveryUrl,
    worker: `http://${layout.workerHost}:${layout.workerPort}`,
  };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Writes the clients file, the profiles file, the simulator settings and `dev.env` for `layout`
 * into `outDir` (rewritten on every start, since ports may change) and returns each app's
 * environment. The demo writes its own into its run directory, leaving the stack's alone.
 */
export async function writeStackConfig(
  material: DevMaterial,
  layout: StackLayout,
  outDir: string = material.dir,
): Promise<StackConfig> {
  const urls = stackUrls(layout);
  const { pki } = material;
  const configDir = outDir === material.dir ? material.configDir : join(outDir, 'config');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const files = {
    clients: join(configDir, 'clients.json'),
    profiles: join(configDir, 'profiles.json'),
    simulator: join(outDir, 'simulator.json'),
    devEnv: join(outDir, 'dev.env'),
  };

  // relative to the profiles file, so the same files work wherever the directory is mounted
  const fromConfig = (path: string) => relative(configDir, path);
  const registered = {
    grant_types: ['client_credentials'],
    scope: CONNECT_SCOPE,
    audience: urls.audience,
    tls_client_certificate_bound_access_tokens: true,
  };
  await writeJson(files.clients, {
    clients: [
      {
        client_id: CONNECT_CLIENT_ID,
        token_endpoint_auth_method: 'client_secret_basic',
        client_secret_hash: await hashSecret(material.clientSecret),
        ...registered,
      },
      {
        client_id: CONNECT_MTLS_CLIENT_ID,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_dns: pki.connectClient.sanDns,
        ...registered,
      },
    ],
  });

  await writeJson(files.profiles, {
    profiles: {
      [CONNECT_PROFILE]: {
        checks: ['mtls', 'oauth', 'bound-token', 'hmac'],
        certificate: {
          trustedCaFile: fromConfig(pki.caBundle),
          subjects: [{ sanDns: pki.connectClient.sanDns }],
          pins: [pki.connectClient.thumbprint],
        },
        token: {
          issuer: urls.issuer,
          audience: urls.audience,
          requiredScope: CONNECT_SCOPE,
          jwksUri: urls.jwksUri,
          jwksCaFile: fromConfig(pki.caBundle),
        },
        hmac: {
          keys: HMAC_KEY_ENV.map((secretEnv, index) => ({
            id: `connect-key-${index + 1}`,
            secretEnv,
          })),
        },
      },
    },
  });

  const simulator: SimulatorSettingsFile = {
    listenerUrl: urls.listener,
    profile: CONNECT_PROFILE,
    tokenUrl: urls.tokenEndpoint,
    clientId: CONNECT_CLIENT_ID,
    authMethod: 'client_secret_basic',
    clientSecretFile: relative(outDir, material.clientSecretFile),
    scope: CONNECT_SCOPE,
    certFile: relative(outDir, pki.connectClient.cert),
    keyFile: relative(outDir, pki.connectClient.key),
    caFile: relative(outDir, pki.caBundle),
    hmacKeyFiles: material.hmacKeyFiles.map((file) => relative(outDir, file)),
    attackerCertFile: relative(outDir, pki.otherSubjectClient.cert),
    attackerKeyFile: relative(outDir, pki.otherSubjectClient.key),
  };
  await writeJson(files.simulator, simulator);

  const shared = { REDIS_URL: layout.redisUrl, QUEUE_PREFIX: layout.queuePrefix };
  const env = {
    authServer: {
      ...shared,
      AUTH_HOST: layout.bindHost,
      AUTH_PORT: String(layout.authPort),
      AUTH_ISSUER: urls.issuer,
      AUTH_TLS_CERT_FILE: pki.authServer.cert,
      AUTH_TLS_KEY_FILE: pki.authServer.key,
      AUTH_CLIENT_CA_FILE: pki.caBundle,
      AUTH_CLIENTS_FILE: files.clients,
      AUTH_KEYS_DIR: material.authKeysDir,
    },
    listener: {
      ...shared,
      LISTENER_HOST: layout.bindHost,
      LISTENER_PORT: String(layout.listenerPort),
      LISTENER_MODE: 'tls',
      LISTENER_TLS_CERT_FILE: pki.listener.cert,
      LISTENER_TLS_KEY_FILE: pki.listener.key,
      LISTENER_CLIENT_CA_FILE: pki.caBundle,
      LISTENER_PROFILES_FILE: files.profiles,
      LISTENER_PAYLOAD_DIR: layout.payloadDir,
      ...(layout.inlinePayloadMaxBytes === undefined
        ? {}
        : { LISTENER_INLINE_PAYLOAD_MAX_BYTES: String(layout.inlinePayloadMaxBytes) }),
    },
    worker: {
      ...shared,
      WORKER_HTTP_HOST: layout.bindHost,
      WORKER_HTTP_PORT: String(layout.workerPort),
      WORKER_ROLE: 'all',
      WORKER_PAYLOAD_DIR: layout.payloadDir,
      WORKER_ARCHIVE_DIR: layout.archiveDir,
      WORKER_AUDIT_LOG_FILE: layout.auditLogFile,
      WORKER_SHUTDOWN_GRACE_MS: '5000',
    },
  };

  await writeFile(files.devEnv, devEnvText(material, urls, env, files), { mode: 0o600 });
  return { urls, env, files };
}

function devEnvText(
  material: DevMaterial,
  urls: StackUrls,
  env: StackConfig['env'],
  files: StackConfig['files'],
): string {
  const lines = (values: Record<string, string>) =>
    Object.entries(values).map(([name, value]) => `${name}=${value}`);
  return [
    '# Countersign development stack, written by `npm run stack` (rewritten on every start).',
    '# Secrets are NOT in this file: they are in files with mode 0600 under',
    `#   ${join(material.dir, 'secrets')}/`,
    `#   connect-client-secret   the OAuth client secret of ${CONNECT_CLIENT_ID}`,
    '#   hmac-key-1, hmac-key-2  the Connect HMAC keys (the listener reads them from',
    `#                           ${HMAC_KEY_ENV.join(' and ')})`,
    '',
    '# Addresses',
    `AUTH_ISSUER=${urls.issuer}`,
    `TOKEN_ENDPOINT=${urls.tokenEndpoint}`,
    `JWKS_URI=${urls.jwksUri}`,
    `DELIVERY_URL=${urls.deliveryUrl}`,
    `WORKER_URL=${urls.worker}`,
    '',
    '# The Connect client (what you would type into DocuSign Connect OAuth settings)',
    `CONNECT_CLIENT_ID=${CONNECT_CLIENT_ID}`,
    `CONNECT_CLIENT_SECRET_FILE=${material.clientSecretFile}`,
    `CONNECT_MTLS_CLIENT_ID=${CONNECT_MTLS_CLIENT_ID}`,
    `CONNECT_SCOPE=${CONNECT_SCOPE}`,
    `CONNECT_CLIENT_CERT_FILE=${material.pki.connectClient.cert}`,
    `CONNECT_CLIENT_KEY_FILE=${material.pki.connectClient.key}`,
    `CONNECT_CLIENT_THUMBPRINT=${material.pki.connectClient.thumbprint}`,
    `CA_BUNDLE_FILE=${material.pki.caBundle}`,
    `SIMULATOR_SETTINGS_FILE=${files.simulator}`,
    '',
    '# auth-server environment',
    ...lines(env.authServer),
    '',
    '# listener environment (plus the HMAC key variables named above)',
    ...lines(env.listener),
    '',
    '# worker environment',
    ...lines(env.worker),
    '',
  ].join('\n');
}
