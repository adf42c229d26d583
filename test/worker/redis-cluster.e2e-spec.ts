import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, type INestApplication } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
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

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Three free ports whose cluster-bus ports (port + 10000) are free too. */
async function freeClusterPorts(): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (ports.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10000))) ports.push(port);
  }
  return ports;
}

describe('worker on a Redis Cluster', () => {
  const servers: ChildProcess[] = [];
  let dir: string;
  let ports: number[];
  let cluster: Cluster;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-redis-cluster-'));
    ports = await freeClusterPorts();
    for (const port of ports) {
      const server = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: 'ignore' },
      );
      servers.push(server);
    }
    for (const port of ports) {
      const probe = new Redis({
        port,
        host: '127.0.0.1',
        lazyConnect: true,
        maxRetriesPerRequest: 0,
      });
      probe.on('error', () => undefined);
      await waitFor(async () => {
        try {
          await probe.connect().catch(() => undefined);
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        }
      }, `redis-server on ${port}`);
      probe.disconnect();
    }

    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (created.status !== 0)
      throw new Error(`cluster create failed: ${created.stdout}${created.stderr}`);
    await waitFor(
      () =>
        ports.every((port) =>
          spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], {
            encoding: 'utf8',
          }).stdout.includes('cluster_state:ok'),
        ),
      'the cluster to agree',
      30_000,
    );

    cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
    cluster.on('error', () => undefined);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await cluster?.quit().catch(() => undefined);
    for (const server of servers) server.kill('SIGTERM');
    await Promise.all(
      servers.map(
        (server) =>
          new Promise((resolve) =>
            server.exitCode !== null ? resolve(undefined) : server.once('exit', resolve),
          ),
      ),
    );
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
