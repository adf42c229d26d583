import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, type INestApplication } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { startRedisCluster, type RunningRedisCluster } from '../support/redis-cluster.js';
import { ConnectConsumer } from '../../apps/worker/src/consumer/connect-consumer.decorator.js';
import type {
  ConnectConsumerHandler,
  ConsumerEnvelope,
} from '../../apps/worker/src/consumer/connect-consumer-handler.js';
import {
  enqueueDelivery,
  envelopeFromFixture,
  startWorker,
  testConfig,
  uniquePrefix,
  waitFor,
} from './worker-harness.js';

const seen: { consumer: string; event: string }[] = [];

@ConnectConsumer({ name: 'cluster-all', events: ['*'] })
class AllConsumer implements ConnectConsumerHandler {
  handle({ event }: ConsumerEnvelope): Promise<void> {
    seen.push({ consumer: 'cluster-all', event: event.event });
    return Promise.resolve();
  }
}

@ConnectConsumer({ name: 'cluster-completed', events: ['envelope-completed'] })
class CompletedConsumer implements ConnectConsumerHandler {
  async handle(envelope: ConsumerEnvelope): Promise<void> {
    await envelope.loadPayload();
    seen.push({ consumer: 'cluster-completed', event: envelope.event.event });
  }
}

@Module({ providers: [AllConsumer, CompletedConsumer] })
class ClusterConsumersModule {}

describe('worker on a Redis Cluster', () => {
  let redisCluster: RunningRedisCluster | undefined;
  let dir: string;
  let ports: number[];
  let cluster: Cluster;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-worker-cluster-'));
    redisCluster = await startRedisCluster();
    ports = [...redisCluster.ports];
    cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
    cluster.on('error', () => undefined);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await cluster?.quit().catch(() => undefined);
    await redisCluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fans out through hash-tagged queues spread over the cluster', async () => {
    const prefix = uniquePrefix();
    ({ app } = await startWorker(
      testConfig(prefix, {
        WORKER_PAYLOAD_DIR: join(dir, 'payloads'),
        REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${port}`).join(','),
      }),
      [ClusterConsumersModule],
    ));

    const completed = await envelopeFromFixture('envelope-completed.json');
    const sent = await envelopeFromFixture('envelope-sent.json');
    await enqueueDelivery(cluster, prefix, completed);
    await enqueueDelivery(cluster, prefix, sent);

    await waitFor(() => seen.length === 3, 'three consumer jobs');
    expect(
      seen
        .filter((s) => s.consumer === 'cluster-all')
        .map((s) => s.event)
        .sort(),
    ).toEqual(['envelope-completed', 'envelope-sent']);
    expect(seen.filter((s) => s.consumer === 'cluster-completed')).toEqual([
      { consumer: 'cluster-completed', event: 'envelope-completed' },
    ]);

    // each queue's keys share one slot; different queues may live on different nodes
    const slotOf = async (key: string) => Number(await cluster.cluster('KEYSLOT', key));
    const deliveriesSlot = await slotOf(`${prefix}:{deliveries}:meta`);
    expect(await slotOf(`${prefix}:{deliveries}:wait`)).toBe(deliveriesSlot);
    expect(await slotOf(`${prefix}:{consumer-cluster-all}:completed`)).toBe(
      await slotOf(`${prefix}:{consumer-cluster-all}:meta`),
    );
  });
});
