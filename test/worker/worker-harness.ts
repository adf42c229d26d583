import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { deliveryKey, parseConnectDelivery } from '@countersign/connect';
import {
  DELIVERIES_QUEUE,
  JOB_NAMES,
  queuePrefix,
  type DeliveryEvidence,
  type PayloadRef,
  type VerifiedEnvelope,
} from '@countersign/queue';
import { Queue } from 'bullmq';
import { Redis, type Cluster } from 'ioredis';
import { loadWorkerConfig, type WorkerConfig } from '../../apps/worker/src/config/worker.config.js';
import { createWorkerApp } from '../../apps/worker/src/worker.app.js';

export const FIXTURES = join(process.cwd(), 'test/fixtures/connect');
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key root no other test run uses. */
export function uniquePrefix(): string {
  return `cs-test-${randomBytes(6).toString('hex')}`;
}

/** Deletes the keys under `prefix` (only those: never FLUSHDB). */
export async function deleteKeys(redis: Redis | Cluster, prefix: string): Promise<void> {
  const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) await node.del(key);
    } while (cursor !== '0');
  }
}

export const TEST_EVIDENCE: DeliveryEvidence = {
  checks: ['mtls', 'hmac'],
  certificate: {
    source: 'tls',
    subject: 'CN=connect.countersign.test,O=Countersign Dev,C=US',
    issuer: 'CN=Countersign Dev Intermediate',
    serialNumber: '01',
    thumbprint: 'A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0',
    notAfter: '2030-01-01T00:00:00.000Z',
  },
  hmac: { keyId: 'primary', header: 1 },
};

function contentTypeOf(file: string): string {
  return file.endsWith('.xml') ? 'text/xml; charset=utf-8' : 'application/json; charset=utf-8';
}

/** A verified envelope as the listener would enqueue it, from a fixture's bytes. */
export async function envelopeFromFixture(
  file: string,
  options: { profile?: string; payload?: PayloadRef } = {},
): Promise<VerifiedEnvelope> {
  const body = await readFile(join(FIXTURES, file));
  return envelopeFromBody(body, contentTypeOf(file), options);
}

/** A verified envelope for a body (which must parse as a Connect event). */
export function envelopeFromBody(
  body: Buffer,
  contentType: string,
  options: { profile?: string; payload?: PayloadRef } = {},
): VerifiedEnvelope {
  const parsed = parseConnectDelivery(body, contentType);
  if (!parsed.ok) throw new Error(`fixture does not parse: ${parsed.reason}`);
  return {
    version: 1,
    deliveryId: randomUUID(),
    deliveryKey: deliveryKey(parsed.event),
    profile: options.profile ?? 'docusign',
    receivedAt: new Date().toISOString(),
    event: parsed.event,
    evidence: TEST_EVIDENCE,
    payload: options.payload ?? {
      kind: 'inline',
      contentType,
      base64: body.toString('base64'),
      sha256: createHash('sha256').update(body).digest('base64url'),
      size: body.length,
    },
  };
}

/** Enqueues an envelope on the listener's queue, as the listener does. */
export async function enqueueDelivery(
  connection: Redis | Cluster,
  prefix: string,
  envelope: VerifiedEnvelope,
): Promise<void> {
  const queue = new Queue(DELIVERIES_QUEUE, {
    connection,
    prefix: queuePrefix(prefix, DELIVERIES_QUEUE),
  });
  try {
    await queue.add(JOB_NAMES.verifiedEnvelope, envelope, {
      jobId: `d-${createHash('sha256').update(envelope.deliveryKey).digest('hex')}`,
      attempts: 3,
      backoff: { type: 'fixed', delay: 100 },
    });
  } finally {
    await queue.close();
  }
}

/** A worker configuration for tests: fast stall detection, no HTTP port clash, quiet logs. */
export function testConfig(prefix: string, env: Record<string, string> = {}): WorkerConfig {
  return loadWorkerConfig({
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    WORKER_HTTP_PORT: '0',
    WORKER_HTTP_HOST: '127.0.0.1',
    WORKER_STALLED_INTERVAL_MS: '1000',
    WORKER_LOCK_DURATION_MS: '2000',
    WORKER_SHUTDOWN_GRACE_MS: '5000',
    WORKER_LOG_LEVEL: process.env.WORKER_TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
}

/** Starts an in-process worker listening on an ephemeral port. */
export async function startWorker(
  config: WorkerConfig,
  consumers: NonNullable<ModuleMetadata['imports']>,
): Promise<{ app: INestApplication; url: string }> {
  const app = await createWorkerApp(config, consumers);
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}` };
}

/** Waits until `check` returns true (polling), or fails with `what`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function redisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}
