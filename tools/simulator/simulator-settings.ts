import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import type { SimulatorOptions } from './simulator.js';

/**
 * The simulator's settings as a JSON file (`npm run stack` writes `.countersign/simulator.json`):
 * addresses, the client id, and PATHS to the secrets, never the secrets themselves. Relative
 * paths are read from the file's own directory.
 */
export interface SimulatorSettingsFile {
  readonly listenerUrl: string;
  readonly profile: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly authMethod: 'client_secret_basic' | 'tls_client_auth';
  readonly clientSecretFile?: string;
  readonly scope?: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly hmacKeyFiles: readonly string[];
  readonly attackerCertFile?: string;
  readonly attackerKeyFile?: string;
}

/** Reads a settings file and the files it points to into simulator options. */
export async function loadSimulatorSettings(
  file: string,
): Promise<Omit<SimulatorOptions, 'onOutcome'>> {
  const base = dirname(resolve(file));
  const settings = JSON.parse(await readFile(file, 'utf8')) as SimulatorSettingsFile;
  const read = (path: string) => readFile(resolve(base, path), 'utf8');

  const required = ['listenerUrl', 'profile', 'tokenUrl', 'clientId', 'authMethod'] as const;
  for (const key of required) {
    if (typeof settings[key] !== 'string' || settings[key].length === 0) {
      throw new Error(`${file}: "${key}" must be a non-empty string`);
    }
  }
  if (settings.authMethod === 'client_secret_basic' && !settings.clientSecretFile) {
    throw new Error(`${file}: client_secret_basic needs "clientSecretFile"`);
  }

  return {
    listenerUrl: settings.listenerUrl,
    profile: settings.profile,
    tokenUrl: settings.tokenUrl,
    scope: settings.scope,
    auth:
      settings.authMethod === 'client_secret_basic'
        ? {
            method: 'client_secret_basic',
            clientId: settings.clientId,
            secret: (await read(settings.clientSecretFile as string)).trim(),
          }
        : { method: 'tls_client_auth', clientId: settings.clientId },
    tls: {
      cert: await read(settings.certFile),
      key: await read(settings.keyFile),
      ca: await read(settings.caFile),
    },
    hmacKeys: await Promise.all(
      (settings.hmacKeyFiles ?? []).map(async (path) => (await read(path)).trim()),
    ),
    attacker:
      settings.attackerCertFile && settings.attackerKeyFile
        ? { cert: await read(settings.attackerCertFile), key: await read(settings.attackerKeyFile) }
        : undefined,
  };
}
