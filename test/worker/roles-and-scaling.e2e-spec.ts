import { Module, type INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ConnectConsumer } from '../../apps/worker/src/consumer/connect-consumer.decorator.js';
import type {
  ConnectConsumerHandler,
  ConsumerEnvelope,
} from '../../apps/worker/src/consumer/connect-consumer-handler.js';
import {
  deleteKeys,
  enqueueDelivery,
  envelopeFromFixture,
  redisClient,
  startWorker,
  testConfig,
  uniquePrefix,
  waitFor,
} from './worker-harness.js';

const handled: { consumer: string; by: object; deliveryId: string }[] = [];

@ConnectConsumer({ name: 'counting', events: ['*'], concurrency: 3 })
class CountingConsumer implements ConnectConsumerHandler {
  async handle(envelope: ConsumerEnvelope): Promise<void> {
    handled.push({ consumer: 'counting', by: this, deliveryId: envelope.deliveryId });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

@ConnectConsumer({ name: 'other', events: ['*'] })
class OtherConsumer implements ConnectConsumerHandler {
  handle(envelope: ConsumerEnvelope): Promise<void> {
    handled.push({ consumer: 'other', by: this, deliveryId: envelope.deliveryId });
    return Promise.resolve();
  }
}

@Module({ providers: [CountingConsumer, OtherConsumer] })
class TestConsumersModule {}

describe('worker roles and scaling', () => {
  let prefix: string;
  let redis: Redis;
  const apps: INestApplication[] = [];

  async function start(env: Record<string, string>): Promise<INestApplication> {
    const { app } = await startWorker(
      testConfig(prefix, { WORKER_PAYLOAD_DIR: '/nonexistent', ...env }),
      [TestConsumersModule],
    );
    apps.push(app);
    return app;
  }

  beforeAll(() => {
    prefix = uniquePrefix();
    redis = redisClient();
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('splits work by role and consumer list; two processes of one consumer handle each job once', async () => {
    const dispatcher = await start({ WORKER_ROLE: 'dispatcher' });
    const countingA = await start({ WORKER_ROLE: 'consumers', WORKER_CONSUMERS: 'counting' });
    const countingB = await start({ WORKER_ROLE: 'consumers', WORKER_CONSUMERS: 'counting' });
    const otherOnly = await start({ WORKER_ROLE: 'consumers', WORKER_CONSUMERS: 'other' });

    const template = await envelopeFromFixture('envelope-sent.json');
    const deliveries = Array.from({ length: 40 }, (_, i) => ({
      ...template,
      deliveryId: `${template.deliveryId}-${i}`,
      deliveryKey: `${template.deliveryKey}-${i}`,
    }));
    for (const envelope of deliveries) await enqueueDelivery(redis, prefix, envelope);

    const of = (consumer: string) => handled.filter((h) => h.consumer === consumer);
    await waitFor(() => of('counting').length >= 40 && of('other').length >= 40, 'every job');
    await new Promise((resolve) => setTimeout(resolve, 500));

    const counted = of('counting').map((h) => h.deliveryId);
    expect(counted).toHaveLength(40);
    expect(new Set(counted).size).toBe(40);
    expect(of('other')).toHaveLength(40);

    const countingInstances: object[] = [countingA, countingB].map((app) =>
      app.get(CountingConsumer),
    );
    expect(of('counting').every((h) => countingInstances.includes(h.by))).toBe(true);
    expect(of('other').every((h) => h.by === otherOnly.get(OtherConsumer))).toBe(true);
    expect(handled.some((h) => h.by === dispatcher.get(CountingConsumer))).toBe(false);
    // both processes took a share of the queue
    expect(of('counting').filter((h) => h.by === countingInstances[0]).length).toBeGreaterThan(0);
    expect(of('counting').filter((h) => h.by === countingInstances[1]).length).toBeGreaterThan(0);
  });

  it('refuses to start a process that names a consumer nobody registered', async () => {
    await expect(
      start({ WORKER_ROLE: 'consumers', WORKER_CONSUMERS: 'counting,missing' }),
    ).rejects.toThrow(/unknown consumers: missing/);
  });
});
