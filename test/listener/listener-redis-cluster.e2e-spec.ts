import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { TokenRevocationList } from '@countersign/common';
import { deliveryKey, parseConnectDelivery } from '@countersign/connect';
import {
  DELIVERIES_QUEUE,
  QUARANTINE_QUEUE,
  queuePrefix,
  type QuarantinedDelivery,
  type VerifiedEnvelope,
} from '@countersign/queue';
import {
  connectSignature,
  send,
  startListener,
  type RunningListener,
  type TestResponse,
} from './support/listener-harness.js';
import { startRedisCluster, type RunningRedisCluster } from '../support/redis-cluster.js';
import {
  createTokenIssuer,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SCOPE,
  type TokenIssuer,
} from './support/test-tokens.js';

const FIXTURES = join(process.cwd(), 'test/fixtures/connect');
const HMAC_KEY = 'Y2x1c3Rlci10ZXN0LWtleS1mb3ItdGhlLWxpc3RlbmVy';

/** A port nothing listens on: REDIS_URL points there, so only the cluster can answer. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('listener on a Redis Cluster', () => {
  let dir: string;
  let redisCluster: RunningRedisCluster;
  let cluster: Cluster;
  let issuer: TokenIssuer;
  let listener: RunningListener;
  let deliveries: Queue<VerifiedEnvelope>;
  let quarantine: Queue<QuarantinedDelivery>;

  function post(
    profile: string,
    body: Buffer,
    headers: Record<string, string> = {},
  ): Promise<TestResponse> {
    return send({
      port: listener.port,
      path: `/connect/${profile}`,
      headers: {
        'content-type': 'application/json',
        'X-DocuSign-Signature-1': connectSignature(HMAC_KEY, body),
        ...headers,
      },
      body,
    });
  }

  /**
   * The readiness answer, once it is 200 or after 10 s: the connection fails fast (no offline
   * queue), so the listener is not ready until it has learnt the cluster's slots.
   */
  async function readiness(): Promise<TestResponse> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ready = await send({ port: listener.port, path: '/health/ready', method: 'GET' });
      if (ready.status === 200 || Date.now() > deadline) return ready;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const slotOf = async (key: string) => Number(await cluster.cluster('KEYSLOT', key));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-redis-cluster-'));
    redisCluster = await startRedisCluster();
    cluster = new Cluster(redisCluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    cluster.on('error', () => undefined);
    issuer = await createTokenIssuer();
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));

    listener = await startListener({
      dir,
      env: {
        LISTENER_MODE: 'proxy',
        LISTENER_TRUSTED_PROXIES: '127.0.0.1/32',
        LISTENER_FORWARDED_CERT_FORMAT: 'nginx',
        REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
        REDIS_CLUSTER_NODES: redisCluster.nodes,
        CS_TEST_CLUSTER_HMAC: HMAC_KEY,
      },
      profiles: {
        signed: {
          checks: ['hmac'],
          hmac: { keys: [{ id: 'cluster', secretEnv: 'CS_TEST_CLUSTER_HMAC' }] },
        },
        oauth: {
          checks: ['oauth'],
          token: {
            issuer: TEST_ISSUER,
            audience: TEST_AUDIENCE,
            requiredScope: TEST_SCOPE,
            jwksFile: 'jwks.json',
          },
        },
      },
    });
    deliveries = new Queue(DELIVERIES_QUEUE, {
      connection: cluster,
      prefix: queuePrefix(listener.prefix, DELIVERIES_QUEUE),
    });
    quarantine = new Queue(QUARANTINE_QUEUE, {
      connection: cluster,
      prefix: queuePrefix(listener.prefix, QUARANTINE_QUEUE),
    });
    await readiness();
  }, 90_000);

  afterAll(async () => {
    await deliveries?.close();
    await quarantine?.close();
    await listener?.close();
    await cluster?.quit().catch(() => undefined);
    await redisCluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports ready once it has connected to the cluster', async () => {
    const ready = await readiness();
    expect(ready.status).toBe(200);
    expect(ready.json.checks).toEqual({ redis: 'ok' });
  });

  it('enqueues a delivery on the cluster and answers its redelivery "duplicate"', async () => {
    const first = await readFile(join(FIXTURES, 'envelope-completed.json'));
    const retry = await readFile(join(FIXTURES, 'envelope-completed-retry.json'));
    const parsed = parseConnectDelivery(first, 'application/json');
    if (!parsed.ok) throw new Error('the fixture does not parse');
    const key = deliveryKey(parsed.event);

    const accepted = await post('signed', first);
    expect(accepted.status).toBe(200);
    expect(accepted.json.status).toBe('enqueued');
    const job = await deliveries.getJob(`${key}.${accepted.json.deliveryId as string}`);
    expect(job?.data.event.event).toBe('envelope-completed');
    expect(job?.data.evidence.checks).toEqual(['hmac']);

    const again = await post('signed', retry);
    expect(again.status).toBe(200);
    expect(again.json.status).toBe('duplicate');

    // the dedupe mark lives in the slot of its queue's hash tag, beside the jobs
    const prefix = queuePrefix(listener.prefix, DELIVERIES_QUEUE);
    const dedupeKey = `${prefix}:${DELIVERIES_QUEUE}:de:${key}`;
    expect(await cluster.exists(dedupeKey)).toBe(1);
    expect(await slotOf(dedupeKey)).toBe(await slotOf(`${prefix}:${DELIVERIES_QUEUE}:meta`));
  });

  it('keeps an authenticated but unreadable body in quarantine on the cluster', async () => {
    const body = Buffer.from(`{"event":"envelope-sent","data":{"envelopeId":"${randomUUID()}"`);
    const response = await post('signed', body);
    expect(response.status).toBe(400);
    expect(response.json.error).toBe('body_malformed_json');

    const kept = (await quarantine.getJobs(['waiting'])).find(
      (job) =>
        job.data.payload.kind === 'inline' &&
        Buffer.from(job.data.payload.base64, 'base64').equals(body),
    );
    expect(kept?.data.reason).toBe('body_malformed_json');
  });

  it('reads revocation marks from the cluster', async () => {
    const body = await readFile(join(FIXTURES, 'envelope-sent.json'));
    const jti = randomUUID();
    const revoked = await issuer.mint({ claims: { jti } });
    await new TokenRevocationList(cluster, listener.prefix).revoke(
      TEST_ISSUER,
      jti,
      Math.floor(Date.now() / 1000) + 300,
    );

    const refused = await post('oauth', body, { authorization: `Bearer ${revoked}` });
    expect(refused.status).toBe(401);
    expect(refused.json.error).toBe('token_revoked');

    const accepted = await post('oauth', body, {
      authorization: `Bearer ${await issuer.mint()}`,
    });
    expect(accepted.status).toBe(200);
  });
});
