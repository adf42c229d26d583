import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { deliveryKey, parseConnectDelivery } from '@countersign/connect';
import { DELIVERIES_QUEUE, queuePrefix, type VerifiedEnvelope } from '@countersign/queue';
import { runDeadLettersCli } from '../../apps/worker/src/dead-letters/dead-letters.cli.js';
import { generateDeliveries } from '../../tools/simulator/deliveries.js';
import { ConnectSimulator, type DeliveryOutcome } from '../../tools/simulator/simulator.js';
import { OwnRedis, statusOf, type ChildApp } from './support/child-processes.js';
import { HardeningStack } from './support/hardening-stack.js';
import {
  REDIS_URL,
  deleteKeys,
  send,
  startInProcessListener,
  startJwksServer,
  uniquePrefix,
  waitFor,
  type Answer,
  type InProcessListener,
} from './support/hardening-harness.js';
import { createHardeningPki, type HardeningPki } from './support/hardening-pki.js';
import { AUDIENCE, ISSUER, SCOPE, createSigningIssuer } from './support/hardening-tokens.js';
import {
  LedgerReader,
  connectSignature,
  ledgerDelivery,
  startLedgerWorker,
} from './support/ledger.js';

const HMAC_KEY = 'ZmF1bHRzLWhtYWMta2V5LWZvci10aGUtaGFyZGVuaW5nLXN1aXRl';

function keyOf(body: Buffer): string {
  const parsed = parseConnectDelivery(body, 'application/json');
  if (!parsed.ok) throw new Error(`test delivery does not parse: ${parsed.reason}`);
  return deliveryKey(parsed.event);
}

describe('faults: no acknowledged delivery lost, none processed twice', () => {
  let dir: string;
  let pki: HardeningPki;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-hardening-faults-'));
    pki = await createHardeningPki(join(dir, 'pki'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A listener with one HMAC profile, on the given Redis. */
  function hmacListener(name: string, redisUrl: string, prefix = uniquePrefix()) {
    return startInProcessListener({
      dir,
      name,
      prefix,
      env: {
        LISTENER_TLS_CERT_FILE: pki.listenerCertFile,
        LISTENER_TLS_KEY_FILE: pki.listenerKeyFile,
        REDIS_URL: redisUrl,
        CS_FAULTS_HMAC: HMAC_KEY,
      },
      profiles: {
        hmac: { checks: ['hmac'], hmac: { keys: [{ id: 'k', secretEnv: 'CS_FAULTS_HMAC' }] } },
      },
    });
  }

  function deliver(listener: InProcessListener, body = ledgerDelivery()): Promise<Answer> {
    return send({
      port: listener.port,
      path: '/connect/hmac',
      tls: { ca: pki.caBundlePem },
      headers: {
        'content-type': 'application/json',
        'x-docusign-signature-1': connectSignature(HMAC_KEY, body),
      },
      body,
    });
  }

  describe('Redis stopped', () => {
    let redis: OwnRedis;
    let listener: InProcessListener;

    beforeAll(async () => {
      redis = await OwnRedis.start(join(dir, 'redis-stopped'));
      listener = await hmacListener('redis-stopped', redis.url);
    });

    afterAll(async () => {
      await listener?.close();
      await redis?.kill();
    });

    it('answers 503 within 2 s and never 200 while Redis is down, and accepts again once it is back', async () => {
      expect((await deliver(listener)).status).toBe(200);
      await redis.kill();

      for (let i = 0; i < 5; i += 1) {
        const started = Date.now();
        const answer = await deliver(listener);
        expect({ status: answer.status, reason: answer.json.error }).toEqual({
          status: 503,
          reason: 'queue_unavailable',
        });
        expect(answer.headers['retry-after']).toBeDefined();
        expect(Date.now() - started).toBeLessThan(2000);
      }
      expect(
        await statusOf(`https://127.0.0.1:${listener.port}/health/ready`, pki.caBundlePem),
      ).toBe(503);

      await redis.restart();
      const statuses: number[] = [];
      let accepted: Answer | undefined;
      await waitFor(
        async () => {
          const answer = await deliver(listener);
          statuses.push(answer.status);
          if (answer.status === 200) accepted = answer;
          return answer.status === 200;
        },
        'a delivery accepted after Redis came back',
        20_000,
      );
      expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);

      // this Redis keeps nothing across a restart: only the delivery accepted since is queued
      const check = new Redis(redis.url);
      const queue = new Queue<VerifiedEnvelope>(DELIVERIES_QUEUE, {
        connection: check,
        prefix: queuePrefix(listener.prefix, DELIVERIES_QUEUE),
      });
      try {
        const jobs = await queue.getJobs(['waiting']);
        expect(jobs.map((job) => job.data.deliveryId)).toEqual([accepted?.json.deliveryId]);
      } finally {
        await queue.close();
        check.disconnect();
      }
    });
  });

  describe('Redis restarted from its append-only file', () => {
    let redis: OwnRedis;
    let listener: InProcessListener;

    beforeAll(async () => {
      redis = await OwnRedis.start(join(dir, 'redis-aof'), { appendOnly: true });
      listener = await hmacListener('redis-aof', redis.url);
    });

    afterAll(async () => {
      await listener?.close();
      await redis?.kill();
    });

    it('keeps every acknowledged job when Redis crashes in the middle of a burst', async () => {
      const acknowledged: string[] = [];
      const sending = (async () => {
        for (let batch = 0; batch < 12; batch += 1) {
          const answers = await Promise.all(
            Array.from({ length: 10 }, () => deliver(listener).catch(() => undefined)),
          );
          for (const answer of answers) {
            if (answer?.status === 200) acknowledged.push(answer.json.deliveryId as string);
          }
        }
      })();
      await waitFor(() => acknowledged.length >= 40, 'forty acknowledged deliveries');
      await redis.kill('SIGKILL');
      await sending;
      await redis.restart();

      const check = new Redis(redis.url);
      const queue = new Queue<VerifiedEnvelope>(DELIVERIES_QUEUE, {
        connection: check,
        prefix: queuePrefix(listener.prefix, DELIVERIES_QUEUE),
      });
      let stored: Set<string>;
      try {
        const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
        stored = new Set(jobs.map((job) => job.data.deliveryId));
      } finally {
        await queue.close();
        check.disconnect();
      }

      expect(acknowledged.length).toBeGreaterThanOrEqual(40);
      expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    });
  });

  describe('worker processes killed', () => {
    let prefix: string;
    let listener: InProcessListener;
    let ledger: LedgerReader;
    const workers: ChildApp[] = [];

    beforeEach(async () => {
      prefix = uniquePrefix();
      listener = await hmacListener(`workers-${prefix}`, REDIS_URL, prefix);
      ledger = new LedgerReader(prefix, REDIS_URL);
    });

    afterEach(async () => {
      for (const worker of workers.splice(0)) await worker.kill();
      await listener?.close();
      ledger?.close();
      await deleteKeys(prefix);
    });

    const worker = async (consumers: string, env: Record<string, string> = {}) => {
      const started = await startLedgerWorker({
        prefix,
        redisUrl: REDIS_URL,
        payloadDir: join(dir, `payloads-workers-${prefix}`),
        consumers,
        env,
      });
      workers.push(started);
      return started;
    };

    async function acceptMany(count: number): Promise<string[]> {
      const keys: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const body = ledgerDelivery();
        expect((await deliver(listener, body)).status).toBe(200);
        keys.push(keyOf(body));
      }
      return keys;
    }

    it('finishes every job exactly once after the worker is SIGKILLed mid-job', async () => {
      const first = await worker('ledger-a,ledger-b', { LEDGER_DELAY_MS: '1500' });
      const keys = await acceptMany(5);
      await waitFor(async () => (await ledger.started()).length > 0, 'a job in progress');
      await first.kill('SIGKILL');
      expect((await ledger.done()).size).toBe(0);

      await worker('ledger-a,ledger-b', { LEDGER_DELAY_MS: '100' });
      await waitFor(() => ledger.complete(['ledger-a', 'ledger-b'], keys), 'every job', 30_000);

      const done = await ledger.done();
      expect([...done.values()].every((count) => count === 1)).toBe(true);
      expect(done.size).toBe(10);
      // the job killed mid-way was started twice: once by each worker
      expect((await ledger.started()).length).toBeGreaterThan(10);
    });

    it('hands every delivery to every consumer once while the dispatcher is SIGKILLed during fan-out', async () => {
      await worker('ledger-a,ledger-b', { WORKER_ROLE: 'consumers' });
      const dispatcherEnv = { WORKER_ROLE: 'dispatcher', WORKER_DISPATCHER_CONCURRENCY: '1' };
      let dispatcher = await worker('ledger-a,ledger-b', dispatcherEnv);
      const check = new Redis(REDIS_URL);
      const deliveries = new Queue(DELIVERIES_QUEUE, {
        connection: check,
        prefix: queuePrefix(prefix, DELIVERIES_QUEUE),
      });

      const keys: string[] = [];
      let killedWhileActive = 0;
      for (let round = 0; round < 3; round += 1) {
        keys.push(...(await acceptMany(15)));
        if ((await deliveries.getActiveCount()) > 0) killedWhileActive += 1;
        await dispatcher.kill('SIGKILL');
        dispatcher = await worker('ledger-a,ledger-b', dispatcherEnv);
      }
      await waitFor(() => ledger.complete(['ledger-a', 'ledger-b'], keys), 'every job', 40_000);
      await deliveries.close();
      check.disconnect();

      const done = await ledger.done();
      expect(done.size).toBe(keys.length * 2);
      expect([...done.values()].filter((count) => count !== 1)).toEqual([]);
      expect((await ledger.started()).length).toBe(keys.length * 2);
      // reported, not asserted: whether a kill landed while a fan-out was running
      process.stderr.write(`dispatcher kills while a fan-out was active: ${killedWhileActive}/3\n`);
    });

    it('retries a consumer that throws for a while until it recovers, once per delivery', async () => {
      await worker('flaky,ledger-a', { LEDGER_FLAKY_FAILURES: '3' });
      const keys = await acceptMany(2);
      await waitFor(() => ledger.complete(['flaky', 'ledger-a'], keys), 'every job', 30_000);

      const done = await ledger.done();
      expect([...done.values()]).toEqual([1, 1, 1, 1]);
      const flakyCalls = (await ledger.started()).filter((entry) => entry.startsWith('flaky '));
      expect(flakyCalls).toHaveLength(2 + 3);
    });

    it('dead-letters a consumer that always throws, without holding the others, and replays it once fixed', async () => {
      await worker('broken,ledger-a');
      const [key] = await acceptMany(1);
      const cli = async (...argv: string[]) => {
        let out = '';
        const code = await runDeadLettersCli(argv, {
          env: { REDIS_URL, QUEUE_PREFIX: prefix },
          out: (text) => (out += text),
          err: () => undefined,
        });
        return { code, out };
      };
      const letters = async () =>
        (await cli('list', '--json')).out
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { id: string; consumer: string });

      await waitFor(async () => (await letters()).length === 1, 'the dead letter', 20_000);
      await waitFor(() => ledger.complete(['ledger-a'], [key]), 'the healthy consumer');
      const [letter] = await letters();
      expect(letter.consumer).toBe('broken');
      expect((await ledger.done()).has(`broken ${key}`)).toBe(false);

      await ledger.fixBroken();
      expect((await cli('replay', String(letter.id))).code).toBe(0);
      await waitFor(() => ledger.complete(['broken'], [key]), 'the replayed job');
      expect(Object.fromEntries(await ledger.done())).toEqual({
        [`broken ${key}`]: 1,
        [`ledger-a ${key}`]: 1,
      });
      expect(await letters()).toEqual([]);
    });
  });

  describe('listener SIGKILLed mid-request (whole stack from dist/)', () => {
    let stack: HardeningStack;

    beforeAll(async () => {
      stack = await HardeningStack.start(join(dir, 'listener-kill'));
    }, 60_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('loses no acknowledged delivery, and a delivery that got no 200 is retried and processed once', async () => {
      const deliveries = await generateDeliveries({
        fixturesDir: join(process.cwd(), 'test/fixtures/connect'),
        count: 60,
        format: 'json',
      });
      const connect = new ConnectSimulator({
        ...stack.simulator,
        retryDelaysMs: [300],
        maxAttempts: 40,
      });
      const outcomes: DeliveryOutcome[] = [];
      let next = 0;
      const lane = async () => {
        while (next < deliveries.length) {
          const delivery = deliveries[next];
          next += 1;
          outcomes.push(await connect.deliver(delivery));
        }
      };
      const ledger = new LedgerReader(stack.prefix, REDIS_URL);
      try {
        const sending = Promise.all(Array.from({ length: 6 }, lane));
        await waitFor(() => outcomes.length >= 15, 'fifteen deliveries answered');
        await stack.killListener();
        await stack.restartListener();
        await sending;

        expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
        expect(outcomes.some((outcome) => outcome.attempts > 1)).toBe(true);
        const keys = deliveries.map((delivery) => keyOf(delivery.body));
        await waitFor(() => ledger.complete(['ledger-a', 'ledger-b'], keys), 'every job', 30_000);
        const done = await ledger.done();
        expect(done.size).toBe(keys.length * 2);
        expect([...done.values()].filter((count) => count !== 1)).toEqual([]);
        process.stderr.write(
          `listener kill: ${outcomes.filter((o) => o.attempts > 1).length} deliveries retried, ` +
            `${outcomes.filter((o) => o.answer === 'duplicate').length} answered duplicate\n`,
        );
      } finally {
        connect.close();
        ledger.close();
      }
    }, 90_000);
  });

  describe('authorization server down', () => {
    it('keeps accepting tokens it can verify from cached keys, and refreshes the JWKS when it returns', async () => {
      const issuer = await createSigningIssuer('fault-key-1');
      const rotated = await createSigningIssuer('fault-key-2');
      let jwks = await startJwksServer({
        certPem: pki.authServerCertPem,
        keyPem: pki.authServerKeyPem,
        jwks: { keys: [issuer.jwk] },
      });
      const jwksPort = new URL(jwks.url).port;
      const prefix = uniquePrefix();
      const listener = await startInProcessListener({
        dir,
        name: 'jwks-down',
        prefix,
        env: {
          LISTENER_TLS_CERT_FILE: pki.listenerCertFile,
          LISTENER_TLS_KEY_FILE: pki.listenerKeyFile,
          LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
        },
        profiles: {
          oauth: {
            checks: ['oauth'],
            token: {
              issuer: ISSUER,
              audience: AUDIENCE,
              requiredScope: SCOPE,
              jwksUri: jwks.url,
              jwksCaFile: pki.caBundleFile,
            },
          },
        },
      });
      const withToken = (token: string) =>
        send({
          port: listener.port,
          path: '/connect/oauth',
          tls: { ca: pki.caBundlePem },
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: ledgerDelivery(),
        });

      try {
        expect((await withToken(await issuer.mint())).status).toBe(200);
        await jwks.close();

        // new tokens (not in the verified-token cache) signed with the cached key
        for (let i = 0; i < 3; i += 1) {
          expect((await withToken(await issuer.mint())).status).toBe(200);
        }
        const unknownWhileDown = await withToken(await rotated.mint());
        // within jose's 30 s cooldown no fetch is tried: an unknown key, not an outage
        expect({ status: unknownWhileDown.status, reason: unknownWhileDown.json.error }).toEqual({
          status: 401,
          reason: 'token_unknown_kid',
        });

        // it comes back on the same address with a rotated key
        jwks = await startJwksServer({
          certPem: pki.authServerCertPem,
          keyPem: pki.authServerKeyPem,
          jwks: { keys: [issuer.jwk, rotated.jwk] },
          port: Number(jwksPort),
        });
        await waitFor(
          async () => (await withToken(await rotated.mint())).status === 200,
          'a token of the rotated key accepted once the JWKS is back',
          45_000,
        );
        expect(jwks.fetches()).toBeGreaterThanOrEqual(1);
      } finally {
        await listener.close();
        await jwks.close();
        await deleteKeys(prefix);
      }
    }, 60_000);
  });
});
