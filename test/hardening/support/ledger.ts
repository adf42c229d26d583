import { createHmac, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../../tools/stack/free-port.js';
import { ChildApp } from './child-processes.js';

export const LEDGER_WORKER_SCRIPT = join(process.cwd(), 'test/hardening/support/ledger-worker.mjs');

/** A JSON SIM delivery of its own envelope, and the key the listener derives for it. */
export function ledgerDelivery(): Buffer {
  return Buffer.from(
    JSON.stringify({
      event: 'envelope-sent',
      apiVersion: 'v2.1',
      uri: `/restapi/v2.1/accounts/a1/envelopes/${randomUUID()}`,
      retryCount: 0,
      configurationId: 4242,
      generatedDateTime: new Date().toISOString(),
      data: { accountId: randomUUID(), userId: randomUUID(), envelopeId: randomUUID() },
    }),
  );
}

export function connectSignature(key: string, body: Buffer): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(body).digest('base64');
}

/** Starts the ledger worker (test/hardening/support/ledger-worker.mjs) as a child process. */
export async function startLedgerWorker(options: {
  prefix: string;
  redisUrl: string;
  payloadDir: string;
  consumers: string;
  env?: Record<string, string>;
}): Promise<ChildApp> {
  const port = await freePort(0);
  return ChildApp.start({
    name: 'ledger-worker',
    script: LEDGER_WORKER_SCRIPT,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: options.prefix,
      WORKER_HTTP_PORT: String(port),
      WORKER_HTTP_HOST: '127.0.0.1',
      WORKER_PAYLOAD_DIR: options.payloadDir,
      WORKER_STALLED_INTERVAL_MS: '500',
      WORKER_LOCK_DURATION_MS: '1000',
      WORKER_SHUTDOWN_GRACE_MS: '2000',
      WORKER_LOG_LEVEL: 'warn',
      LEDGER_CONSUMERS: options.consumers,
      ...options.env,
    },
    readyUrl: `http://127.0.0.1:${port}/health/ready`,
  });
}

/** What the ledger consumers recorded: calls started, and completions per consumer and key. */
export class LedgerReader {
  private readonly redis: Redis;

  constructor(
    private readonly prefix: string,
    redisUrl: string,
  ) {
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  }

  /** `consumer deliveryKey` -> how many times handle() completed. */
  async done(): Promise<Map<string, number>> {
    const hash = await this.redis.hgetall(`${this.prefix}:ledger:done`);
    return new Map(Object.entries(hash).map(([entry, count]) => [entry, Number(count)]));
  }

  /** Every handle() call, as `consumer deliveryKey attempt pid`. */
  async started(): Promise<string[]> {
    return this.redis.lrange(`${this.prefix}:ledger:started`, 0, -1);
  }

  async fixBroken(): Promise<void> {
    await this.redis.set(`${this.prefix}:ledger:broken-fixed`, '1');
  }

  /** Whether every consumer completed every key (at least once). */
  async complete(consumers: readonly string[], keys: readonly string[]): Promise<boolean> {
    const done = await this.done();
    return consumers.every((consumer) => keys.every((key) => done.has(`${consumer} ${key}`)));
  }

  close(): void {
    this.redis.disconnect();
  }
}
