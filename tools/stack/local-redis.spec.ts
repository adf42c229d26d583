import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from './free-port.js';
import { ensureRedis, redisAnswers, RedisUnavailableError } from './local-redis.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('the stack Redis', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-redis-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses REDIS_URL when it answers and starts nothing', async () => {
    const redis = await ensureRedis(REDIS_URL, join(dir, 'redis'));

    expect(redis).toMatchObject({ url: REDIS_URL, started: false });
    expect(existsSync(join(dir, 'redis'))).toBe(false);
    await redis.stop();
  });

  it('starts a local redis-server with an append-only file when REDIS_URL does not answer', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const redis = await ensureRedis(closed, join(dir, 'redis'));
    try {
      expect(redis.started).toBe(true);
      expect(redis.url).not.toBe(closed);
      expect(await redisAnswers(redis.url)).toBe(true);
      expect(existsSync(join(dir, 'redis', 'appendonlydir'))).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(await redisAnswers(redis.url, 300)).toBe(false);
  });

  it('says how to get Redis when none answers and redis-server is not installed', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const missing = join(dir, 'no-such-redis-server');

    const attempt = ensureRedis(closed, join(dir, 'redis'), missing);
    await expect(attempt).rejects.toThrow(RedisUnavailableError);
    await expect(attempt).rejects.toThrow(/apt-get install redis-server[\s\S]*docker run/);
    expect(existsSync(join(dir, 'redis'))).toBe(false);
  });
});
