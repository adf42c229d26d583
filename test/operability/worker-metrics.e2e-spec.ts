import type { INestApplication } from '@nestjs/common';
import {
  JOB_NAMES,
  QUARANTINE_QUEUE,
  queuePrefix,
  type QuarantinedDelivery,
} from '@countersign/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  deleteKeys,
  enqueueDelivery,
  envelopeFromFixture,
  REDIS_URL,
  startWorker,
  testConfig,
  TEST_EVIDENCE,
  uniquePrefix,
} from '../worker/worker-harness.js';

describe('worker queue metrics', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(REDIS_URL);
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    await enqueueDelivery(redis, prefix, await envelopeFromFixture('envelope-sent.json'));
    const quarantine = new Queue<QuarantinedDelivery>(QUARANTINE_QUEUE, {
      connection: redis,
      prefix: queuePrefix(prefix, QUARANTINE_QUEUE),
    });
    const body = Buffer.from('{"event": ');
    await quarantine.add(JOB_NAMES.quarantinedDelivery, {
      version: 1,
      deliveryId: 'quarantined-1',
      profile: 'docusign',
      receivedAt: new Date(Date.now() - 60_000).toISOString(),
      reason: 'body_malformed_json',
      detail: 'unexpected end of input',
      evidence: TEST_EVIDENCE,
      payload: {
        kind: 'inline',
        contentType: 'application/json',
        base64: body.toString('base64'),
        sha256: 'not-checked-here',
        size: body.length,
      },
    });
    await quarantine.close();
    // consumers only: the delivery stays waiting on the listener's queue
    ({ app, url } = await startWorker(
      testConfig(prefix, { WORKER_ROLE: 'consumers', WORKER_PAYLOAD_DIR: '/nonexistent' }),
      [],
    ));
  });

  afterAll(async () => {
    await app?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('reports the depth and oldest waiting age of the deliveries, quarantine and dead-letter queues', async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const value = (series: string) => {
      const line = metrics.split('\n').find((candidate) => candidate.startsWith(series));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };

    expect(value('countersign_queue_depth{queue="deliveries",state="wait"')).toBe(1);
    expect(value('countersign_queue_depth{queue="quarantine",state="wait"')).toBe(1);
    expect(value('countersign_queue_depth{queue="dead-letters",state="wait"')).toBe(0);
    expect(value('countersign_queue_oldest_job_age_seconds{queue="quarantine"')).toBeGreaterThan(0);
    expect(value('countersign_queue_oldest_job_age_seconds{queue="dead-letters"')).toBe(0);
  });
});
