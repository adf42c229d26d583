import { performance } from 'node:perf_hooks';

import {
  hashSecret,
  isSecretHash,
  verifySecret,
  verifySecretAgainstNothing,
} from './secret-hash.js';

describe('secret hashing', () => {
  let encoded: string;

  beforeAll(async () => {
    encoded = await hashSecret('correct horse battery staple');
  });

  it('encodes scrypt with N=2^15, r=8, p=1, a 16-byte salt and base64url fields', () => {
    const [scheme, cost, blockSize, parallelism, salt, hash] = encoded.split('$');
    expect([scheme, cost, blockSize, parallelism]).toEqual(['scrypt', '32768', '8', '1']);
    expect(Buffer.from(salt, 'base64url')).toHaveLength(16);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('salts every hash, so the same secret hashes differently', async () => {
    expect(await hashSecret('correct horse battery staple')).not.toBe(encoded);
  });

  it('verifies the right secret', async () => {
    await expect(verifySecret('correct horse battery staple', encoded)).resolves.toBe(true);
  });

  it('rejects a wrong secret, including a prefix of the right one', async () => {
    await expect(verifySecret('correct horse battery', encoded)).resolves.toBe(false);
    await expect(verifySecret('', encoded)).resolves.toBe(false);
  });

  it.each([
    ['an empty string', ''],
    ['another scheme', 'bcrypt$2b$10$abc'],
    ['too few fields', 'scrypt$32768$8$1$salt'],
    [
      'a cost that is not a power of two',
      'scrypt$30000$8$1$giWFoICTJkEgnpwTvEajvg$AAAAAAAAAAAAAAAAAAAAAA',
    ],
    ['a huge cost', 'scrypt$1073741824$8$1$giWFoICTJkEgnpwTvEajvg$AAAAAAAAAAAAAAAAAAAAAA'],
    ['a short salt', 'scrypt$32768$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA'],
    ['a non-base64url hash', 'scrypt$32768$8$1$giWFoICTJkEgnpwTvEajvg$!!!!'],
  ])('returns false rather than throwing for a hash that is %s', async (_label, bad) => {
    await expect(verifySecret('anything', bad)).resolves.toBe(false);
  });

  it('answers false against nothing, spending about as long as a real check', async () => {
    const time = async (work: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const start = performance.now();
        await work();
        samples.push(performance.now() - start);
      }
      return samples.sort((a, b) => a - b)[1];
    };
    const real = await time(() => verifySecret('wrong', encoded));
    const nothing = await time(() => verifySecretAgainstNothing('wrong'));
    await expect(verifySecretAgainstNothing('correct horse battery staple')).resolves.toBe(false);
    expect(nothing).toBeGreaterThan(real / 4);
    expect(nothing).toBeLessThan(real * 4);
  });

  it('recognises a hash it made as well formed, and refuses malformed or unbounded ones', () => {
    expect(isSecretHash(encoded)).toBe(true);
    const [, , , , salt, hash] = encoded.split('$');
    const malformed = [
      undefined,
      '',
      'scrypt$',
      'plain-password',
      encoded.replace('scrypt$', 'bcrypt$'),
      `scrypt$32768$8$1$${salt}`,
      `scrypt$32768$8$1$AAAA$${hash}`,
      `scrypt$32767$8$1$${salt}$${hash}`,
      `scrypt$${2 ** 21}$8$1$${salt}$${hash}`,
      `scrypt$32768$8$1$${salt}$${hash}!`,
    ];
    for (const candidate of malformed) {
      expect(isSecretHash(candidate)).toBe(false);
    }
  });
});
