import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';

/** A Redis key root used by one bench run only, so parallel runs and other helpers never collide. */
export function benchRoot(): string {
  return `cs-bench-${randomBytes(4).toString('hex')}`;
}

/** Deletes the keys under `root:` (and only those), by SCAN + UNLINK; returns how many. */
export async function deleteBenchKeys(redisUrl: string, root: string): Promise<number> {
  if (!/^cs-bench-[0-9a-f]{8}$/.test(root)) throw new Error(`refusing to delete keys of ${root}`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${root}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
