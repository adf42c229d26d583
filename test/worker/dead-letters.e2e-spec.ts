import { Module, type INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ConnectConsumer } from '../../apps/worker/src/consumer/connect-consumer.decorator.js';
import {
  EnvelopeRejectedError,
  type ConnectConsumerHandler,
  type ConsumerEnvelope,
} from '../../apps/worker/src/consumer/connect-consumer-handler.js';
import { runDeadLettersCli } from '../../apps/worker/src/dead-letters/dead-letters.cli.js';
import {
  deleteKeys,
  enqueueDelivery,
  envelopeFromFixture,
  REDIS_URL,
  redisClient,
  startWorker,
  testConfig,
  uniquePrefix,
  waitFor,
} from './worker-harness.js';

const state = { flakyFails: true, flakyAttempts: [] as number[], flakyDone: [] as string[] };
const steady: string[] = [];
const rejected: number[] = [];

@ConnectConsumer({
  name: 'flaky',
  events: ['envelope-*'],
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 50 },
})
class FlakyConsumer implements ConnectConsumerHandler {
  handle(envelope: ConsumerEnvelope): Promise<void> {
    state.flakyAttempts.push(envelope.attempt);
    if (state.flakyFails) return Promise.reject(new Error('downstream system unavailable'));
    state.flakyDone.push(envelope.deliveryId);
    return Promise.resolve();
  }
}

@ConnectConsumer({ name: 'steady', events: ['envelope-*'] })
class SteadyConsumer implements ConnectConsumerHandler {
  handle(envelope: ConsumerEnvelope): Promise<void> {
    steady.push(envelope.deliveryId);
    return Promise.resolve();
  }
}

@ConnectConsumer({ name: 'picky', events: ['envelope-voided'], attempts: 5 })
class PickyConsumer implements ConnectConsumerHandler {
  handle(envelope: ConsumerEnvelope): Promise<void> {
    rejected.push(envelope.attempt);
    return Promise.reject(new EnvelopeRejectedError('voided envelopes are not for us'));
  }
}

@Module({ providers: [FlakyConsumer, SteadyConsumer, PickyConsumer] })
class TestConsumersModule {}

describe('dead letters', () => {
  let prefix: string;
  let redis: Redis;
  let app: INestApplication;
  let url: string;

  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runDeadLettersCli(argv, {
      env: { REDIS_URL, QUEUE_PREFIX: prefix },
      out: (text) => (out += text),
      err: (text) => (err += text),
    });
    return { code, out, err };
  }

  async function listed(): Promise<Record<string, unknown>[]> {
    const { out } = await cli('list', '--json');
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  beforeAll(async () => {
    prefix = uniquePrefix();
    redis = redisClient();
    ({ app, url } = await startWorker(testConfig(prefix, { WORKER_PAYLOAD_DIR: '/nonexistent' }), [
      TestConsumersModule,
    ]));
  });

  afterAll(async () => {
    await app?.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('gives up on an unreachable Redis within seconds, with exit 2 and a message naming REDIS_URL and no stack trace', async () => {
    let err = '';
    const started = Date.now();
    const code = await runDeadLettersCli(['list'], {
      env: { REDIS_URL: 'redis://:not-for-logs@127.0.0.1:1', QUEUE_PREFIX: prefix },
      out: () => undefined,
      err: (text) => (err += text),
    });
    expect(code).toBe(2);
    expect(Date.now() - started).toBeLessThan(9000);
    expect(err).toMatch(/REDIS_URL: Redis did not answer within 5 s/);
    expect(err).not.toContain('not-for-logs');
    expect(err).not.toMatch(/\n\s+at /);
  }, 15_000);

  it('refuses a REDIS_URL that is not a usable URL without repeating it', async () => {
    let err = '';
    const code = await runDeadLettersCli(['list'], {
      env: { REDIS_URL: 'redis://:not-for-logs@127.0.0.1:99999', QUEUE_PREFIX: prefix },
      out: () => undefined,
      err: (text) => (err += text),
    });
    expect(code).toBe(2);
    expect(err).toMatch(/REDIS_URL/);
    expect(err).not.toContain('not-for-logs');
  });

  it('retries a failing consumer, dead-letters it after the last attempt, and replays it to success while the others proceed', async () => {
    const envelope = await envelopeFromFixture('envelope-completed.json');
    await enqueueDelivery(redis, prefix, envelope);

    await waitFor(() => steady.includes(envelope.deliveryId), 'the steady consumer');
    await waitFor(async () => (await listed()).length === 1, 'the dead letter');
    expect(state.flakyAttempts).toEqual([1, 2, 3]);
    expect(steady).toEqual([envelope.deliveryId]);

    const [letter] = await listed();
    expect(letter).toMatchObject({
      consumer: 'flaky',
      event: 'envelope-completed',
      deliveryId: envelope.deliveryId,
      attemptsMade: 3,
      error: 'Error: downstream system unavailable',
    });

    const shown = await cli('show', String(letter.id));
    expect(shown.code).toBe(0);
    const detail = JSON.parse(shown.out);
    expect(detail.deliveryKey).toBe(envelope.deliveryKey);
    expect(detail.payload).toEqual({
      kind: 'inline',
      contentType: envelope.payload.contentType,
      sha256: envelope.payload.sha256,
      size: envelope.payload.size,
    });
    expect(shown.out).not.toContain((envelope.payload as { base64: string }).base64.slice(0, 40));

    // the delivery key's dedupe marker still exists; the replay must run anyway
    state.flakyFails = false;
    const replay = await cli('replay', String(letter.id));
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('1 dead letter(s) replayed');
    await waitFor(() => state.flakyDone.includes(envelope.deliveryId), 'the replayed job');
    expect(await listed()).toEqual([]);
    expect(steady).toEqual([envelope.deliveryId]);

    const again = await cli('replay', String(letter.id));
    expect(again.code).toBe(1);
    expect(again.err).toContain('no dead letter with id');
  });

  it('dead-letters at once an envelope the consumer rejects as unusable', async () => {
    const envelope = await envelopeFromFixture('envelope-voided.json');
    await enqueueDelivery(redis, prefix, envelope);
    await waitFor(
      async () => (await listed()).some((l) => l.consumer === 'picky'),
      'the rejected envelope',
    );
    expect(rejected).toEqual([1]);
  });

  it('replays every dead letter with --all', async () => {
    state.flakyFails = true;
    const sent = await envelopeFromFixture('envelope-sent.json');
    const declined = await envelopeFromFixture('envelope-declined.json');
    await enqueueDelivery(redis, prefix, sent);
    await enqueueDelivery(redis, prefix, declined);
    await waitFor(
      async () => (await listed()).filter((l) => l.consumer === 'flaky').length === 2,
      'two dead letters',
    );

    state.flakyFails = false;
    const replay = await cli('replay', '--all', '--consumer', 'flaky');
    expect(replay.code).toBe(0);
    await waitFor(
      () =>
        state.flakyDone.includes(sent.deliveryId) && state.flakyDone.includes(declined.deliveryId),
      'both replays',
    );
    expect((await listed()).map((l) => l.consumer)).toEqual(['picky']);
  });

  it('counts attempts, durations and dead letters per consumer in /metrics', async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /countersign_dead_letters_total\{consumer="flaky",app="worker"\} [3-9]/,
    );
    expect(metrics).toMatch(/countersign_dead_letters_total\{consumer="picky",app="worker"\} 1/);
    expect(metrics).toMatch(
      /countersign_consumer_attempts_total\{consumer="flaky",outcome="retry",app="worker"\} [6-9]/,
    );
    expect(metrics).toMatch(
      /countersign_consumer_attempts_total\{consumer="steady",outcome="completed",app="worker"\} \d/,
    );
    expect(metrics).toContain('countersign_consumer_duration_seconds_bucket{');
    expect(metrics).toMatch(
      /countersign_queue_depth\{queue="dead-letters",state="wait",app="worker"\} 1/,
    );
  });

  it('refuses replay without an id or --all', async () => {
    const result = await cli('replay');
    expect(result.code).toBe(1);
    expect(result.err).toContain('replay needs an id or --all');
  });

  it('lists at most --limit dead letters, the oldest first', async () => {
    state.flakyFails = true;
    const sent = await envelopeFromFixture('envelope-sent.json');
    const again = { ...sent, deliveryKey: `${sent.deliveryKey}-limit` };
    await enqueueDelivery(redis, prefix, again);
    await waitFor(async () => (await listed()).length === 2, 'a second dead letter');

    const { out, code } = await cli('list', '--limit', '1', '--json');
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toMatchObject({ consumer: 'picky' });
    expect((await cli('list', '--limit', '5')).out).toContain('2 dead letter(s)');

    const refused = await cli('list', '--limit', '0');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('must be a whole number of at least 1');
  });

  it('replays a dead letter with --consumer only when it belongs to that consumer', async () => {
    const letters = await listed();
    const picky = letters.find((letter) => letter.consumer === 'picky');
    const flaky = letters.find((letter) => letter.consumer === 'flaky');

    const refused = await cli('replay', String(picky?.id), '--consumer', 'flaky');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(
      `dead letter ${String(picky?.id)} belongs to consumer picky, not flaky: not replayed`,
    );
    expect((await listed()).map((letter) => letter.id)).toEqual(letters.map((l) => l.id));

    state.flakyFails = false;
    const replayed = await cli('replay', String(flaky?.id), '--consumer', 'flaky');
    expect(replayed.code).toBe(0);
    expect(replayed.out).toContain(`replayed ${String(flaky?.id)} to flaky`);
    await waitFor(() => state.flakyDone.includes(String(flaky?.deliveryId)), 'the replayed job');
    expect((await listed()).map((letter) => letter.consumer)).toEqual(['picky']);
  });

  it('refuses an option it does not know instead of ignoring it', async () => {
    const [letter] = await listed();
    const result = await cli('replay', String(letter.id), '--consumers', 'picky');

    expect(result.code).toBe(1);
    expect(result.err).toContain("unknown option '--consumers'");
    expect(await listed()).toEqual([letter]);
  });
});
