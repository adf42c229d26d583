import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ConfigurationError } from '@countersign/common';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

import { isSigningAlgorithm, type SigningAlgorithm } from '../config/auth-server.env.js';
import { selectKeys } from './key-selection.js';

/** One signing key as stored in the keys directory (a JSON file, mode 0600). */
export interface StoredSigningKey {
  /** RFC 7638 thumbprint of the public JWK. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly createdAt: string;
  /** When the key starts signing; it is published in the JWKS from `createdAt` on. */
  readonly activatesAt: string;
  readonly privateJwk: JWK;
  /** The file name in the keys directory (set when read back). */
  readonly file?: string;
}

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
};

/** The public members of a JWK (RFC 7517 §9.3: only these are ever published). */
export function publicJwkOf(jwk: JWK): JWK {
  const members = PUBLIC_MEMBERS[jwk.kty ?? ''] ?? [];
  const source = jwk as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const member of members) {
    if (source[member] !== undefined) result[member] = source[member];
  }
  return result;
}

/** Generates a key, writes it to `dir` (created 0700 if absent) and returns it. */
export async function createSigningKey(
  dir: string,
  alg: SigningAlgorithm,
  options: { activateAfterSeconds?: number; now?: Date } = {},
): Promise<StoredSigningKey> {
  const now = options.now ?? new Date();
  const { privateKey } = await generateKeyPair(
    alg,
    alg === 'RS256' ? { extractable: true, modulusLength: 2048 } : { extractable: true },
  );
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwkOf(privateJwk), 'sha256');
  const activatesAt = new Date(now.getTime() + (options.activateAfterSeconds ?? 0) * 1000);
  const key: StoredSigningKey = {
    kid,
    alg,
    createdAt: now.toISOString(),
    activatesAt: activatesAt.toISOString(),
    privateJwk,
  };

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  const path = join(dir, `${stamp}-${kid}.json`);
  const temporary = join(dir, `.${kid}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temporary, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
  return key;
}

/**
 * Reads every `*.json` key in `dir`, oldest activation first. A file that is not a well-formed
 * key (or whose `kid` is not its thumbprint) is a ConfigurationError naming the file: the
 * directory is never half-trusted.
 */
export async function readSigningKeys(dir: string): Promise<StoredSigningKey[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new ConfigurationError(dir, [`cannot read the keys directory (${code ?? 'unreadable'})`]);
  }

  const keys: StoredSigningKey[] = [];
  const problems: string[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
    const key = await parseKeyFile(join(dir, name));
    if (typeof key === 'string') {
      problems.push(`${name}: ${key}`);
    } else {
      keys.push({ ...key, file: name });
    }
  }
  if (problems.length > 0) {
    throw new ConfigurationError(dir, problems);
  }
  return keys.sort(
    (a, b) => Date.parse(a.activatesAt) - Date.parse(b.activatesAt) || a.kid.localeCompare(b.kid),
  );
}

// the key, or what is wrong with the file; never a word of its content (it holds a private key)
async function parseKeyFile(path: string): Promise<StoredSigningKey | string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return `cannot read the key file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`;
  }
  let raw: Partial<StoredSigningKey>;
  try {
    raw = JSON.parse(text) as Partial<StoredSigningKey>;
  } catch {
    return 'is not valid JSON (not a signing key file)';
  }
  const { kid, alg, createdAt, activatesAt, privateJwk } = raw ?? {};
  if (
    typeof kid !== 'string' ||
    !isSigningAlgorithm(alg) ||
    typeof createdAt !== 'string' ||
    Number.isNaN(Date.parse(createdAt)) ||
    typeof activatesAt !== 'string' ||
    Number.isNaN(Date.parse(activatesAt)) ||
    typeof privateJwk !== 'object' ||
    privateJwk === null ||
    typeof privateJwk.d !== 'string'
  ) {
    return 'not a signing key file (kid, alg ES256/RS256, createdAt, activatesAt, privateJwk)';
  }
  const expectedKty = alg === 'RS256' ? 'RSA' : 'EC';
  if (privateJwk.kty !== expectedKty) {
    return `a ${alg} key must be kty ${expectedKty}`;
  }
  let thumbprint: string;
  try {
    await importJWK(privateJwk, alg);
    thumbprint = await calculateJwkThumbprint(publicJwkOf(privateJwk), 'sha256');
  } catch {
    return `privateJwk is not a usable ${alg} private key`;
  }
  if (thumbprint !== kid) {
    return 'kid is not the thumbprint of the key';
  }
  return { kid, alg, createdAt, activatesAt, privateJwk };
}

/**
 * Deletes the files of keys that are no longer published: retired keys whose tokens have all
 * expired, given the longest token lifetime. Returns the kids it removed.
 */
export async function pruneSigningKeys(
  dir: string,
  maxTokenTtlSeconds: number,
  now: Date = new Date(),
): Promise<string[]> {
  const keys = await readSigningKeys(dir);
  const { published } = selectKeys(keys, now, maxTokenTtlSeconds);
  const keep = new Set(published.map((key) => key.kid));
  const removed: string[] = [];
  for (const key of keys) {
    if (keep.has(key.kid) || key.file === undefined) continue;
    await rm(join(dir, key.file));
    removed.push(key.kid);
  }
  return removed;
}
