import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const SCHEME = 'scrypt';
const COST = 2 ** 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const MAX_COST = 2 ** 20;
const MAX_BLOCK_SIZE = 32;
const MAX_PARALLELISM = 16;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const DECIMAL = /^[1-9][0-9]{0,8}$/;

interface ScryptHash {
  cost: number;
  blockSize: number;
  parallelism: number;
  salt: Buffer;
  hash: Buffer;
}

// the hash of a random secret nobody kept, with the default parameters, so checking against it
// costs exactly what checking a real stored hash costs
const DUMMY_HASH =
  'scrypt$32768$8$1$giWFoICTJkEgnpwTvEajvg$V-k4PiQWBRxJfu6sg8NMVWOtOgPnY9aHgsod5De4dXQ';

/** Hashes a secret for storage: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>` (N=2^15, r=8, p=1). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(secret, salt, COST, BLOCK_SIZE, PARALLELISM, HASH_BYTES);
  return [
    SCHEME,
    COST,
    BLOCK_SIZE,
    PARALLELISM,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

/** Whether `secret` matches an encoded hash, compared in constant time; false on a malformed hash. */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (parsed === undefined || typeof secret !== 'string') {
    return false;
  }
  try {
    const candidate = await deriveKey(
      secret,
      parsed.salt,
      parsed.cost,
      parsed.blockSize,
      parsed.parallelism,
      parsed.hash.length,
    );
    return timingSafeEqual(candidate, parsed.hash);
  } catch {
    return false;
  }
}

/** Spends the time of one verification against a fixed dummy hash, then says no. */
export async function verifySecretAgainstNothing(secret: string): Promise<false> {
  await verifySecret(typeof secret === 'string' ? secret : '', DUMMY_HASH);
  return false;
}

/**
 * Whether `encoded` is a hash `verifySecret` can check (scheme, parameters within bounds, salt of
 * at least 16 bytes, hash of 16-64 bytes): configuration is validated with it at start-up, so a
 * malformed hash stops the app instead of refusing every credential later.
 */
export function isSecretHash(encoded: unknown): boolean {
  return typeof encoded === 'string' && parseHash(encoded) !== undefined;
}

function parseHash(encoded: string): ScryptHash | undefined {
  if (typeof encoded !== 'string') {
    return undefined;
  }
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== SCHEME) {
    return undefined;
  }
  const [, costText, blockSizeText, parallelismText, saltText, hashText] = parts;
  if (![costText, blockSizeText, parallelismText].every((part) => DECIMAL.test(part))) {
    return undefined;
  }
  if (!BASE64URL.test(saltText) || !BASE64URL.test(hashText)) {
    return undefined;
  }

  const cost = Number(costText);
  const blockSize = Number(blockSizeText);
  const parallelism = Number(parallelismText);
  const salt = Buffer.from(saltText, 'base64url');
  const hash = Buffer.from(hashText, 'base64url');
  // bounds keep a hostile or corrupted hash from costing unbounded memory or time
  const sane =
    cost >= 2 &&
    cost <= MAX_COST &&
    (cost & (cost - 1)) === 0 &&
    blockSize <= MAX_BLOCK_SIZE &&
    parallelism <= MAX_PARALLELISM &&
    salt.length >= SALT_BYTES &&
    hash.length >= 16 &&
    hash.length <= 64;
  return sane ? { cost, blockSize, parallelism, salt, hash } : undefined;
}

function deriveKey(
  secret: string,
  salt: Buffer,
  cost: number,
  blockSize: number,
  parallelism: number,
  length: number,
): Promise<Buffer> {
  const options: ScryptOptions = {
    N: cost,
    r: blockSize,
    p: parallelism,
    maxmem: 256 * cost * blockSize + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(secret, 'utf8'), salt, length, options, (error, key) => {
      if (error) {
        reject(error);
      } else {
        resolve(key);
      }
    });
  });
}
