import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { TokenRevocationList, revokedTokenKey } from './revocation-list.js';

describe('TokenRevocationList', () => {
  const root = `cs-test-${randomUUID()}`;
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: false });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${root}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('reports a revoked token until it would have expired', async () => {
    const list = new TokenRevocationList(redis, root);
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(await list.isRevoked('https://as.test', 'jti-1')).toBe(false);
    await list.revoke('https://as.test', 'jti-1', exp);
    expect(await list.isRevoked('https://as.test', 'jti-1')).toBe(true);
    const ttl = await redis.ttl(revokedTokenKey(root, 'https://as.test', 'jti-1'));
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('keeps revocations of one issuer apart from another', async () => {
    const list = new TokenRevocationList(redis, root);
    await list.revoke('https://a.test', 'same-jti', Math.floor(Date.now() / 1000) + 60);
    expect(await list.isRevoked('https://b.test', 'same-jti')).toBe(false);
  });

  it('stores nothing for a token that has already expired', async () => {
    const list = new TokenRevocationList(redis, root);
    await list.revoke('https://as.test', 'old', Math.floor(Date.now() / 1000) - 5);
    expect(await list.isRevoked('https://as.test', 'old')).toBe(false);
  });
});
