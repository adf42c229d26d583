import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerQueueName, queuePrefix } from '@countersign/queue';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { consumerJobId } from '../../apps/worker/src/consumer/consumer-jobs.js';
import {
  deleteKeys,
  enqueueDelivery,
  envelopeFromFixture,
  REDIS_URL,
  redisClient,
  uniquePrefix,
  waitFor,
} from './worker-harness.js';

/*
 * These tests run real worker processes: the built worker (dist/, made by `npm run build`, which
 * `npm test` runs first) with a slow test consumer, test/worker/support/slow-consumer-worker.mjs.
 */
const HARNESS = join(process.cwd(), 'test/worker/support/slow-consumer-worker.mjs');
const BUILT = join(process.cwd(), 'dist/apps/worker/src/index.js');

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly port: () => Promise<number>;
}

function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [HARNESS], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = async () => {
    let found: number | undefined;
    await waitFor(() => {
      const match = /"msg":"worker listening".*?"port":(\d+)/.exec(output);
      found = match ? Number(match[1]) : undefined;
      return found !== undefined;
    }, 'the worker to listen');
    return found!;
  };
  return { child, output: () => output, exited, port };
}

describe('worker process', () => {
  let prefix: string;
  let redis: Redis;
  let dir: string;
  let journal: string;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  const journalLines = async () =>
    (await readFile(journal, 'utf8').catch(() => '')).split('\n').filter(Boolean);

  function start(extra: Record<string, string> = {}): WorkerProcess {
    const worker = spawnWorker({ ...env, ...extra });
    children.push(worker.child);
    return worker;
  }

  beforeAll(() => {
    if (!existsSync(BUILT)) {
      throw new Error('dist/ has no worker build: run `npm run build` before these tests');
    }
  });

  beforeEach(async () => {
    prefix = uniquePrefix();
    redis = redisClient();
    dir = await mkdtemp(join(tmpdir(), 'cs-worker-proc-'));
    journal = join(dir, 'journal.log');
    env = {
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      WORKER_HTTP_PORT: '0',
      WORKER_HTTP_HOST: '127.0.0.1',
      WORKER_PAYLOAD_DIR: join(dir, 'payloads'),
      WORKER_STALLED_INTERVAL_MS: '500',
      WORKER_LOCK_DURATION_MS: '1500',
      WORKER_SHUTDOWN_GRACE_MS: '10000',
      WORKER_LOG_LEVEL: 'info',
      TEST_JOURNAL: journal,
      TEST_JOB_MS: '1500',
    };
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await deleteKeys(redis, prefix);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a job killed with SIGKILL mid-job again after stall detection, completing it once', async () => {
    const first = start();
    await first.port();
    const envelope = await envelopeFromFixture('envelope-sent.json');
    await enqueueDelivery(redis, prefix, envelope);

    await waitFor(
      async () =>
        (await journalLines()).includes(`start ${envelope.deliveryId} ${first.child.pid}`),
      'the job to start',
    );
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = start();
    await waitFor(
      async () => (await journalLines()).some((l) => l.startsWith(`done ${envelope.deliveryId}`)),
      'the job to complete after a restart',
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const lines = await journalLines();
    expect(lines.filter((l) => l.startsWith(`done ${envelope.deliveryId}`))).toEqual([
      `done ${envelope.deliveryId} ${second.child.pid}`,
    ]);
    const queue = new Queue(consumerQueueName('slow'), {
      connection: redis,
      prefix: queuePrefix(prefix, consumerQueueName('slow')),
    });
    try {
      const job = await queue.getJob(consumerJobId(envelope.deliveryKey));
      expect(await job!.getState()).toBe('completed');
    } finally {
      await queue.close();
    }

    // every log line about the job names its delivery
    const jobLines = second
      .output()
      .split('\n')
      .filter((l) => l.includes('"consumer job'));
    expect(jobLines.length).toBeGreaterThan(0);
    for (const line of jobLines) expect(line).toContain(envelope.deliveryId);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('drains on SIGTERM: finishes the running job, takes no new one, exits 0', async () => {
    const worker = start();
    await worker.port();
    const running = await envelopeFromFixture('envelope-completed.json');
    const waiting = await envelopeFromFixture('envelope-voided.json');
    await enqueueDelivery(redis, prefix, running);
    await waitFor(
      async () => (await journalLines()).some((l) => l.startsWith(`start ${running.deliveryId}`)),
      'the first job to start',
    );
    await enqueueDelivery(redis, prefix, waiting);
    await new Promise((resolve) => setTimeout(resolve, 200));

    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });

    const lines = await journalLines();
    expect(lines).toContain(`done ${running.deliveryId} ${worker.child.pid}`);
    expect(lines.some((l) => l.includes(waiting.deliveryId))).toBe(false);

    // the waiting delivery is still there for the next process
    const next = start();
    await waitFor(
      async () => (await journalLines()).some((l) => l.startsWith(`done ${waiting.deliveryId}`)),
      'the next process to take the waiting job',
    );
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  });

  it('ignores a second SIGTERM (or a SIGINT) during the drain: finishes the running job, exits 0', async () => {
    const worker = start();
    await worker.port();
    const running = await envelopeFromFixture('envelope-completed.json');
    await enqueueDelivery(redis, prefix, running);
    await waitFor(
      async () => (await journalLines()).some((l) => l.startsWith(`start ${running.deliveryId}`)),
      'the job to start',
    );

    worker.child.kill('SIGTERM');
    await waitFor(() => worker.output().includes('SIGTERM received, draining'), 'the drain');
    worker.child.kill('SIGTERM');
    worker.child.kill('SIGINT');
    const exit = await worker.exited;

    expect(exit).toEqual({ code: 0, signal: null });
    expect(await journalLines()).toContain(`done ${running.deliveryId} ${worker.child.pid}`);
    expect(worker.output()).toContain('SIGTERM received while already draining; the drain goes on');
    expect(worker.output()).toContain('SIGINT received while already draining; the drain goes on');
  });

  it('serves health and metrics on its HTTP port', async () => {
    const worker = start();
    const port = await worker.port();
    const live = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', redis: 'up' });

    const scrape = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const metrics = await scrape.text();
    expect(metrics).toContain('countersign_queue_depth{');
    expect(metrics).toContain('queue="consumer-slow"');
    expect(metrics).toContain('countersign_queue_oldest_job_age_seconds');
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('reports not ready while Redis is unreachable', async () => {
    const worker = start({ WORKER_ROLE: 'dispatcher', REDIS_URL: 'redis://127.0.0.1:1' });
    const port = await worker.port();
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { redis: string }).redis).toBe('down');
    worker.child.kill('SIGTERM');
    await worker.exited;
  });

  it('refuses to start on an invalid configuration, naming the variable', async () => {
    const worker = start({ WORKER_ROLE: 'everything' });
    expect((await worker.exited).code).toBe(1);
    expect(worker.output()).toContain('WORKER_ROLE');
    expect(worker.output()).not.toMatch(/\n\s+at /);
  });
});
