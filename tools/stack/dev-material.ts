import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { ensureDevPki, type DevPkiPaths, type DevPkiProvider } from './dev-pki-paths.js';

/** The OAuth client id Connect uses against the dev auth-server (client_secret_basic). */
export const CONNECT_CLIENT_ID = 'docusign-connect';
/** The same certificate registered for tls_client_auth, for trying that method. */
export const CONNECT_MTLS_CLIENT_ID = 'docusign-connect-mtls';
export const CONNECT_SCOPE = 'connect.deliver';
export const CONNECT_PROFILE = 'docusign';
/** Environment variables the listener reads the HMAC keys from (the profiles file names them). */
export const HMAC_KEY_ENV = ['CONNECT_HMAC_KEY_1', 'CONNECT_HMAC_KEY_2'] as const;

/** Everything `npm run stack` keeps between runs in `.countersign/`. */
export interface DevMaterial {
  readonly dir: string;
  readonly pki: DevPkiPaths;
  readonly clientSecretFile: string;
  readonly clientSecret: string;
  readonly hmacKeyFiles: readonly string[];
  readonly hmacKeys: readonly string[];
  readonly authKeysDir: string;
  readonly payloadDir: string;
  readonly archiveDir: string;
  readonly auditLogFile: string;
  readonly logsDir: string;
  readonly redisDir: string;
  readonly configDir: string;
}

/** A Connect-style HMAC key: 32 random bytes as base64, so it ends in `=` like DocuSign's. */
export function newHmacKey(): string {
  return randomBytes(32).toString('base64');
}

async function secretFile(path: string, create: () => string, created: string[]): Promise<string> {
  if (!existsSync(path)) {
    await writeFile(path, `${create()}\n`, { mode: 0o600, flag: 'wx' });
    created.push(path);
  }
  await chmod(path, 0o600);
  return (await readFile(path, 'utf8')).trim();
}

/**
 * Creates what is missing under `dir` (the dev PKI, the HMAC keys, the Connect client's secret,
 * the data directories) and reads back what exists. Secrets live in files with mode 0600.
 */
export async function ensureDevMaterial(
  dir: string,
  pkiProvider: DevPkiProvider = ensureDevPki,
): Promise<{ material: DevMaterial; created: string[] }> {
  const root = resolve(dir);
  const created: string[] = [];
  await mkdir(root, { recursive: true, mode: 0o700 });
  const secretsDir = join(root, 'secrets');
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });

  const pki = await pkiProvider(join(root, 'pki'), created);
  const clientSecretFile = join(secretsDir, 'connect-client-secret');
  const clientSecret = await secretFile(
    clientSecretFile,
    () => randomBytes(32).toString('base64url'),
    created,
  );
  const hmacKeyFiles = HMAC_KEY_ENV.map((_, index) => join(secretsDir, `hmac-key-${index + 1}`));
  const hmacKeys: string[] = [];
  for (const file of hmacKeyFiles) {
    hmacKeys.push(await secretFile(file, newHmacKey, created));
  }

  const material: DevMaterial = {
    dir: root,
    pki,
    clientSecretFile,
    clientSecret,
    hmacKeyFiles,
    hmacKeys,
    authKeysDir: join(root, 'auth-server', 'keys'),
    payloadDir: join(root, 'payloads'),
    archiveDir: join(root, 'archive'),
    auditLogFile: join(root, 'audit', 'audit.jsonl'),
    logsDir: join(root, 'logs'),
    redisDir: join(root, 'redis'),
    configDir: join(root, 'config'),
  };
  for (const path of [
    material.authKeysDir,
    material.payloadDir,
    material.archiveDir,
    join(root, 'audit'),
    material.logsDir,
    material.configDir,
  ]) {
    await mkdir(path, { recursive: true, mode: 0o700 });
  }
  return { material, created };
}
