import { Module, type INestApplication } from '@nestjs/common';
import { hashSecret } from '@countersign/security';
import { Redis } from 'ioredis';
import { ConnectConsumer } from '../../apps/worker/src/consumer/connect-consumer.decorator.js';
import type { ConnectConsumerHandler } from '../../apps/worker/src/consumer/connect-consumer-handler.js';
import {
  deleteKeys,
  enqueueDelivery,
  envelopeFromFixture,
  REDIS_URL,
  startWorker,
  testConfig,
  uniquePrefix,
} from '../worker/worker-harness.js';

@ConnectConsumer({ name: 'board-probe', events: ['envelope-sent'] })
class BoardProbeConsumer implements ConnectConsumerHandler {
  handle(): Promise<void> {
    return Promise.resolve();
  }
}

@Module({ providers: [BoardProbeConsumer] })
class BoardProbeModule {}

const USER = 'operator';
const PASSWORD = 'board pass: w0rd é';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

interface BoardQueue {
  name: string;
  description?: string;
  readOnlyMode: boolean;
  counts: Record<string, number>;
}

describe('worker queue board (Bull Board behind Basic authentication)', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(REDIS_URL);
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    // the dispatcher is not running: the enqueued delivery stays waiting where the board shows it
    await enqueueDelivery(redis, prefix, await envelopeFromFixture('envelope-sent.json'));
    const config = testConfig(prefix, {
      WORKER_ROLE: 'consumers',
      WORKER_PAYLOAD_DIR: '/nonexistent-payloads',
      WORKER_BOARD_USERNAME: USER,
      WORKER_BOARD_PASSWORD_HASH: await hashSecret(PASSWORD),
    });
    ({ app, url } = await startWorker(config, [BoardProbeModule]));
  });

  afterAll(async () => {
    await app?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  const get = (path: string, authorization?: string) =>
    fetch(`${url}${path}`, { headers: authorization ? { authorization } : {} });

  it('answers 401 with a Basic challenge without credentials, on the page and the API', async () => {
    for (const path of ['/board', '/board/api/queues']) {
      const answer = await get(path);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(((await answer.json()) as { error: string }).error).toBe('basic_missing');
    }
  });

  it('answers 401 to a wrong password, a wrong user and a malformed header alike', async () => {
    const refusals = [
      basic(USER, 'not the password'),
      basic('someone-else', PASSWORD),
      'Basic !!!not-base64',
      `Bearer ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
    ];
    for (const authorization of refusals) {
      const answer = await get('/board/api/queues', authorization);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic /);
      const text = await answer.text();
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('not the password');
    }
  });

  it('serves the board page to the configured user', async () => {
    const page = await get('/board', basic(USER, PASSWORD));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('Countersign queues');

    // the UI's own assets sit behind the same credentials
    expect((await get('/board/static/favicon-32x32.png')).status).toBe(401);
    const asset = await get('/board/static/favicon-32x32.png', basic(USER, PASSWORD));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('image/png');
  });

  it('lists every Countersign queue with its hash-tagged prefix, read-only, through the API', async () => {
    const answer = await get('/board/api/queues', basic(USER, PASSWORD));
    expect(answer.status).toBe(200);
    const { queues } = (await answer.json()) as { queues: BoardQueue[] };

    expect(queues.map((queue) => queue.name)).toEqual([
      'deliveries',
      'quarantine',
      'consumer-board-probe',
      'dead-letters',
    ]);
    for (const queue of queues) {
      expect(queue.description).toBe(`Redis keys ${prefix}:{${queue.name}}:${queue.name}:*`);
      expect(queue.readOnlyMode).toBe(true);
    }
    const deliveries = queues.find((queue) => queue.name === 'deliveries');
    expect(deliveries?.counts.waiting).toBe(1);
  });

  it('refuses to change a queue even for the configured user (read-only board)', async () => {
    const answer = await fetch(`${url}/board/api/queues/deliveries/pause`, {
      method: 'PUT',
      headers: { authorization: basic(USER, PASSWORD) },
    });
    expect(answer.status).toBe(405);
    expect(await answer.json()).toEqual({ error: { key: 'ERRORS.QUEUE_READ_ONLY' } });
    const queues = (await (await get('/board/api/queues', basic(USER, PASSWORD))).json()) as {
      queues: (BoardQueue & { isPaused: boolean })[];
    };
    expect(queues.queues.find((queue) => queue.name === 'deliveries')?.isPaused).toBe(false);
  });
});

describe('worker without board credentials', () => {
  it('serves no board at all', async () => {
    const prefix = uniquePrefix();
    const { app, url } = await startWorker(
      testConfig(prefix, { WORKER_ROLE: 'consumers', WORKER_PAYLOAD_DIR: '/nonexistent' }),
      [],
    );
    try {
      expect((await fetch(`${url}/board`)).status).toBe(404);
      expect((await fetch(`${url}/board/api/queues`)).status).toBe(404);
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
