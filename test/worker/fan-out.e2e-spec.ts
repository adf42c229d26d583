import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Module, type INestApplication } from '@nestjs/common';
import {
  consumerQueueName,
  JOB_NAMES,
  queuePrefix,
  type VerifiedEnvelope,
} from '@countersign/queue';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConnectConsumer } from '../../apps/worker/src/consumer/connect-consumer.decorator.js';
import type {
  ConnectConsumerHandler,
  ConsumerEnvelope,
} from '../../apps/worker/src/consumer/connect-consumer-handler.js';
import { consumerJobId, dispatchJobOptions } from '../../apps/worker/src/consumer/consumer-jobs.js';
import { ConsumerRegistry } from '../../apps/worker/src/consumer/consumer-registry.js';
import { Dispatcher } from '../../apps/worker/src/dispatcher/dispatcher.service.js';
import {
  enqueueDelivery,
  envelopeFromFixture,
  FIXTURES,
  deleteKeys,
  redisClient,
  startWorker,
  testConfig,
  uniquePrefix,
  waitFor,
} from './worker-harness.js';

const seen: Record<string, ConsumerEnvelope[]> = {};
const bodies: Record<string, Buffer[]> = {};

function record(name: string, envelope: ConsumerEnvelope) {
  (seen[name] ??= []).push(envelope);
}

@ConnectConsumer({ name: 'everything', events: ['*'] })
class EverythingConsumer implements ConnectConsumerHandler {
  async handle(envelope: ConsumerEnvelope): Promise<void> {
    record('everything', envelope);
    (bodies.everything ??= []).push(await envelope.loadPayload());
  }
}

@ConnectConsumer({
  name: 'envelopes',
  events: ['envelope-*'],
  retention: { completed: { count: 1, ageSeconds: 3600 } },
})
class EnvelopesConsumer implements ConnectConsumerHandler {
  handle(envelope: ConsumerEnvelope): Promise<void> {
    record('envelopes', envelope);
    return Promise.resolve();
  }
}

@ConnectConsumer({ name: 'recipients', events: ['recipient-completed'] })
class RecipientsConsumer implements ConnectConsumerHandler {
  handle(envelope: ConsumerEnvelope): Promise<void> {
    record('recipients', envelope);
    return Promise.resolve();
  }
}

@ConnectConsumer({ name: 'other-profile', events: ['*'], profiles: ['other'] })
class OtherProfileConsumer implements ConnectConsumerHandler {
  handle(envelope: ConsumerEnvelope): Promise<void> {
    record('other-profile', envelope);
    return Promise.resolve();
  }
}

@Module({
  providers: [EverythingConsumer, EnvelopesConsumer, RecipientsConsumer, OtherProfileConsumer],
})
class TestConsumersModule {}

describe('worker fan-out', () => {
  let prefix: string;
  let redis: Redis;
  let app: INestApplication;

  beforeAll(async () => {
    prefix = uniquePrefix();
    redis = redisClient();
    ({ app } = await startWorker(testConfig(prefix, { WORKER_PAYLOAD_DIR: '/nonexistent' }), [
      TestConsumersModule,
    ]));
  });

  afterAll(async () => {
    await app?.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  beforeEach(() => {
    for (const name of Object.keys(seen)) delete seen[name];
    for (const name of Object.keys(bodies)) delete bodies[name];
  });

  const names = (name: string) => (seen[name] ?? []).map((e) => e.event.event).sort();

  it('hands each envelope to every consumer whose subscription matches its event and profile', async () => {
    const sent = await envelopeFromFixture('envelope-sent.json');
    const recipient = await envelopeFromFixture('recipient-completed.json');
    const template = await envelopeFromFixture('template-modified.json');
    const otherProfile = await envelopeFromFixture('envelope-voided.json', { profile: 'other' });
    for (const envelope of [sent, recipient, template, otherProfile]) {
      await enqueueDelivery(redis, prefix, envelope);
    }

    await waitFor(() => (seen.everything?.length ?? 0) === 4, 'the catch-all consumer');
    await waitFor(() => (seen.envelopes?.length ?? 0) === 2, 'the envelope-* consumer');
    await waitFor(() => (seen['other-profile']?.length ?? 0) === 1, 'the profile consumer');
    await waitFor(() => (seen.recipients?.length ?? 0) === 1, 'the recipient consumer');
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(names('everything')).toEqual([
      'envelope-sent',
      'envelope-voided',
      'recipient-completed',
      'template-modified',
    ]);
    expect(names('envelopes')).toEqual(['envelope-sent', 'envelope-voided']);
    expect(names('recipients')).toEqual(['recipient-completed']);
    expect(names('other-profile')).toEqual(['envelope-voided']);
    expect(seen['other-profile'][0].profile).toBe('other');
  });

  it('gives the consumer the evidence, the ids and the exact body bytes', async () => {
    const envelope = await envelopeFromFixture('recipient-completed-pretty-crlf.json');
    await enqueueDelivery(redis, prefix, envelope);
    await waitFor(() => (bodies.everything?.length ?? 0) === 1, 'the payload');

    const received = seen.everything[0];
    expect(received.deliveryId).toBe(envelope.deliveryId);
    expect(received.deliveryKey).toBe(envelope.deliveryKey);
    expect(received.evidence).toEqual(envelope.evidence);
    expect(received.attempt).toBe(1);
    const fixture = await readFile(join(FIXTURES, 'recipient-completed-pretty-crlf.json'));
    expect(bodies.everything[0].equals(fixture)).toBe(true);
  });

  it('adds only the missing consumer jobs when a dispatcher runs the same delivery again', async () => {
    const envelope: VerifiedEnvelope = await envelopeFromFixture('envelope-declined.json');
    const envelopes = app
      .get(ConsumerRegistry)
      .all()
      .find((c) => c.options.name === 'envelopes')!;
    const queue = new Queue(consumerQueueName('envelopes'), {
      connection: redis,
      prefix: queuePrefix(prefix, consumerQueueName('envelopes')),
    });
    try {
      // a first run that died after adding the job of one consumer out of two
      await queue.add(
        JOB_NAMES.consumerDelivery,
        { consumer: 'envelopes', envelope },
        dispatchJobOptions(envelopes.options, envelope.deliveryKey),
      );
      await waitFor(() => (seen.envelopes?.length ?? 0) === 1, 'the first run');

      const dispatched = await app.get(Dispatcher).dispatch(envelope);
      expect(dispatched.sort()).toEqual(['envelopes', 'everything']);
      await app.get(Dispatcher).dispatch(envelope);
      await waitFor(() => (seen.everything?.length ?? 0) === 1, 'the missing consumer');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seen.envelopes).toHaveLength(1);
      expect(seen.everything).toHaveLength(1);
    } finally {
      await queue.close();
    }
  });

  it('does not hand an envelope over again after retention removed its finished job', async () => {
    const first = await envelopeFromFixture('envelope-completed.json');
    const second = await envelopeFromFixture('envelope-sent.xml');
    const dispatcher = app.get(Dispatcher);
    const queue = new Queue(consumerQueueName('envelopes'), {
      connection: redis,
      prefix: queuePrefix(prefix, consumerQueueName('envelopes')),
    });
    try {
      await dispatcher.dispatch(first);
      await waitFor(() => (seen.envelopes?.length ?? 0) === 1, 'the first envelope');
      await dispatcher.dispatch(second);
      await waitFor(() => (seen.envelopes?.length ?? 0) === 2, 'the second envelope');

      // retention keeps one completed job: the first one's job is gone from Redis
      await waitFor(
        async () => (await queue.getJob(consumerJobId(first.deliveryKey))) === undefined,
        'retention to remove the first job',
      );

      await dispatcher.dispatch(first);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seen.envelopes.map((e) => e.deliveryKey)).toEqual([
        first.deliveryKey,
        second.deliveryKey,
      ]);
    } finally {
      await queue.close();
    }
  });
});
