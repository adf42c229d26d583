import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Module, type INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  ConnectConsumer,
  createWorkerApp,
  REDIS_CONNECTION,
  ShippedConsumersModule,
  WORKER_CONFIG,
  type ConnectConsumerHandler,
  type ConsumerEnvelope,
  type RedisConnection,
  type WorkerConfig,
} from '../../apps/worker/src/index.js';
import {
  deleteKeys,
  enqueueDelivery,
  envelopeFromFixture,
  redisClient,
  testConfig,
  uniquePrefix,
  waitFor,
} from './worker-harness.js';

const seen: string[] = [];

/** A team's consumer, written against the worker's public surface only. */
@ConnectConsumer({ name: 'team-ledger', events: ['envelope-*'] })
class TeamLedgerConsumer implements ConnectConsumerHandler {
  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(REDIS_CONNECTION) private readonly redis: RedisConnection,
  ) {}

  async handle(envelope: ConsumerEnvelope): Promise<void> {
    await this.redis.set(`${this.config.queuePrefix}:team-ledger:${envelope.deliveryId}`, '1');
    seen.push(envelope.deliveryId);
  }
}

@Module({ providers: [TeamLedgerConsumer] })
class TeamConsumersModule {}

describe("the worker's public surface (apps/worker/src/index.ts)", () => {
  let prefix: string;
  let redis: Redis;
  let dir: string;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    prefix = uniquePrefix();
    redis = redisClient();
    dir = await mkdtemp(join(tmpdir(), 'cs-worker-api-'));
    const config = testConfig(prefix, {
      WORKER_PAYLOAD_DIR: join(dir, 'payloads'),
      WORKER_ARCHIVE_DIR: join(dir, 'archive'),
      WORKER_AUDIT_LOG_FILE: join(dir, 'audit.jsonl'),
    });
    app = await createWorkerApp(config, [ShippedConsumersModule, TeamConsumersModule]);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs a team's own consumer next to the shipped ones, from the index's exports alone", async () => {
    const envelope = await envelopeFromFixture('envelope-completed.json');
    const envelopeId = envelope.event.envelopeId ?? '';
    await enqueueDelivery(redis, prefix, envelope);

    await waitFor(() => seen.includes(envelope.deliveryId), 'the team consumer');
    await waitFor(
      async () => (await fetch(`${url}/envelopes/${envelopeId}/status`)).status === 200,
      'the envelope-status consumer',
    );
    await waitFor(
      async () =>
        (await readFile(join(dir, 'audit.jsonl'), 'utf8').catch(() => '')).includes(
          envelope.deliveryId,
        ),
      'the audit-log consumer',
    );
    expect(await redis.get(`${prefix}:team-ledger:${envelope.deliveryId}`)).toBe('1');
  });
});
