/**
 * Scenario 5: worker fan-out. N verified envelopes (envelope-completed, so all three shipped
 * consumers subscribe) are pre-loaded on the deliveries queue while it is paused; the worker
 * (dispatcher + audit-log, envelope-status, document-archive) runs from dist/; the clock runs from
 * resume until every queue is drained. Baseline: a bare BullMQ Worker draining the same number of
 * consumer jobs (3N) from one paused-then-resumed queue on the same Redis.
 * Target: consumer jobs per second at least 0.6 of the bare worker's.
 */
import 'reflect-metadata';

import { readFile } from 'node:fs/promises';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { Queue, type JobType } from 'bullmq';

import {
  consumerQueueName,
  DELIVERIES_QUEUE,
  JOB_NAMES,
  queuePrefix,
  type ConsumerJob,
  type VerifiedEnvelope,
} from '@countersign/queue';

import { freePort, startServer, type ServerProcess } from './lib/child-process.js';
import { isMain, profileArgs, runMain, scenarioProgram, type CommonOptions } from './lib/cli.js';
import { verifiedEnvelopes } from './lib/envelopes.js';
import { benchRoot, deleteBenchKeys } from './lib/redis-keys.js';
import {
  compare,
  progress,
  reportPasses,
  writeReport,
  type Check,
  type ScenarioReport,
} from './lib/report.js';

/** The shipped consumers that all subscribe to envelope-completed. */
const CONSUMERS = ['audit-log', 'envelope-status', 'document-archive'] as const;
const BASELINE_QUEUE = 'bench-bare-consumer';
const PENDING_STATES: JobType[] = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
];

export interface WorkerFanoutOptions extends CommonOptions {
  readonly envelopes: number;
  readonly baselineConcurrency: number;
  readonly timeoutSeconds: number;
}

interface Drain {
  readonly jobs: number;
  /** Worker process CPU milliseconds per consumer job (set by the caller). */
  readonly cpuMsPerJob?: number;
  readonly seconds: number;
  readonly rate: number;
  readonly failed: number;
}

function queue(redisUrl: string, root: string, name: string): Queue {
  return new Queue(name, { connection: { url: redisUrl }, prefix: queuePrefix(root, name) });
}

async function addInBatches<T>(target: Queue, name: string, items: T[], options: object) {
  for (let start = 0; start < items.length; start += 1000) {
    await target.addBulk(
      items.slice(start, start + 1000).map((data) => ({ name, data, opts: options })),
    );
  }
}

/** Resumes `start` and waits until no job is pending in any of `queues`. */
async function drain(
  start: Queue,
  queues: Queue[],
  jobs: number,
  timeoutSeconds: number,
): Promise<Drain> {
  const started = performance.now();
  await start.resume();
  const deadline = started + timeoutSeconds * 1000;
  for (;;) {
    await sleep(100);
    const counts = await Promise.all(queues.map((q) => q.getJobCounts(...PENDING_STATES)));
    const pending = counts.reduce(
      (sum, count) => sum + Object.values(count).reduce((a, b) => a + b, 0),
      0,
    );
    if (pending === 0) break;
    if (performance.now() > deadline) {
      throw new Error(`queues not drained within ${timeoutSeconds} s (${pending} jobs pending)`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const failed = (await Promise.all(queues.map((q) => q.getJobCounts('failed')))).reduce(
    (sum, count) => sum + (count.failed ?? 0),
    0,
  );
  return { jobs, seconds, rate: jobs / seconds, failed };
}

async function runCountersign(
  options: WorkerFanoutOptions,
  envelopes: VerifiedEnvelope[],
  dir: string,
): Promise<Drain & { auditLines: number }> {
  const root = benchRoot();
  const deliveries = queue(options.redisUrl, root, DELIVERIES_QUEUE);
  const consumers = CONSUMERS.map((name) => queue(options.redisUrl, root, consumerQueueName(name)));
  let worker: ServerProcess | undefined;
  try {
    await deliveries.pause();
    await addInBatches(deliveries, JOB_NAMES.verifiedEnvelope, envelopes, {
      removeOnComplete: { count: 10_000 },
    });
    const port = await freePort();
    const auditLog = join(dir, 'audit.jsonl');
    for (const sub of ['payloads', 'archive']) await mkdir(join(dir, sub), { recursive: true });
    worker = await startServer({
      name: 'countersign-worker',
      script: 'dist/apps/worker/src/main.js',
      env: {
        NODE_ENV: 'production',
        REDIS_URL: options.redisUrl,
        QUEUE_PREFIX: root,
        WORKER_ROLE: 'all',
        WORKER_HTTP_PORT: String(port),
        WORKER_HTTP_HOST: '127.0.0.1',
        WORKER_PAYLOAD_DIR: join(dir, 'payloads'),
        WORKER_ARCHIVE_DIR: join(dir, 'archive'),
        WORKER_AUDIT_LOG_FILE: auditLog,
        WORKER_LOG_LEVEL: 'info',
      },
      port,
      readyUrl: `http://127.0.0.1:${port}/health/ready`,
      nodeArgs: profileArgs(options.cpuProf, '5-countersign'),
    });
    const cpuBefore = worker.cpuSeconds();
    const drained = await drain(
      deliveries,
      [deliveries, ...consumers],
      envelopes.length * CONSUMERS.length,
      options.timeoutSeconds,
    );
    const result = {
      ...drained,
      cpuMsPerJob: ((worker.cpuSeconds() - cpuBefore) * 1000) / drained.jobs,
    };
    const auditLines = (await readFile(auditLog, 'utf8')).split('\n').filter(Boolean).length;
    return { ...result, auditLines };
  } finally {
    await worker?.stop();
    await Promise.all([deliveries, ...consumers].map((q) => q.close()));
    await deleteBenchKeys(options.redisUrl, root);
  }
}

async function runBaseline(
  options: WorkerFanoutOptions,
  envelopes: VerifiedEnvelope[],
): Promise<Drain> {
  const root = benchRoot();
  const bare = queue(options.redisUrl, root, BASELINE_QUEUE);
  let worker: ServerProcess | undefined;
  try {
    await bare.pause();
    const jobs: ConsumerJob[] = CONSUMERS.flatMap((consumer) =>
      envelopes.map((envelope) => ({ consumer, envelope })),
    );
    await addInBatches(bare, JOB_NAMES.consumerDelivery, jobs, {
      removeOnComplete: { count: 1000 },
    });
    worker = await startServer({
      name: 'baseline-worker',
      script: 'dist/bench/baseline/bare-worker.js',
      env: {
        BARE_WORKER_CONFIG: JSON.stringify({
          redisUrl: options.redisUrl,
          root,
          queue: BASELINE_QUEUE,
          concurrency: options.baselineConcurrency,
        }),
      },
      port: 0,
      readyLine: /"ready":true/,
      nodeArgs: profileArgs(options.cpuProf, '5-baseline'),
    });
    const cpuBefore = worker.cpuSeconds();
    const drained = await drain(bare, [bare], jobs.length, options.timeoutSeconds);
    return { ...drained, cpuMsPerJob: ((worker.cpuSeconds() - cpuBefore) * 1000) / drained.jobs };
  } finally {
    await worker?.stop();
    await bare.close();
    await deleteBenchKeys(options.redisUrl, root);
  }
}

/** Runs scenario 5 and writes bench/results/5-worker-fanout.json. */
export async function runWorkerFanout(options: WorkerFanoutOptions): Promise<ScenarioReport> {
  const dir = await mkdtemp(join(tmpdir(), 'cs-bench-worker-'));
  try {
    const envelopes = verifiedEnvelopes(options.envelopes, 'bench');
    const baseline = await runBaseline(options, envelopes);
    progress(
      `bare worker: ${baseline.jobs} jobs in ${baseline.seconds.toFixed(1)} s = ${Math.round(baseline.rate)}/s`,
    );
    const countersign = await runCountersign(options, envelopes, dir);
    progress(
      `countersign worker: ${countersign.jobs} consumer jobs in ${countersign.seconds.toFixed(1)} s = ${Math.round(countersign.rate)}/s, ${countersign.failed} failed, ${countersign.auditLines} audit lines`,
    );

    const checks: Check[] = [
      {
        metric: 'every envelope audited once, no failed job',
        value: countersign.auditLines,
        unit: 'audit lines',
        target: `= ${options.envelopes}, 0 failed`,
        pass: countersign.auditLines === options.envelopes && countersign.failed === 0,
      },
    ];
    const report: ScenarioReport = {
      scenario: '5-worker-fanout',
      title: `${options.envelopes} verified envelopes to three consumers`,
      command: `node dist/bench/5-worker-fanout.js --envelopes ${options.envelopes} --baseline-concurrency ${options.baselineConcurrency}`,
      settings: {
        envelopes: options.envelopes,
        consumerJobs: options.envelopes * CONSUMERS.length,
        consumers: CONSUMERS,
        baselineConcurrency: options.baselineConcurrency,
      },
      comparisons: [
        compare('consumer jobs per second', '/s', countersign.rate, baseline.rate, {
          atLeast: 0.6,
        }),
        compare(
          'worker CPU per consumer job',
          'ms',
          countersign.cpuMsPerJob ?? 0,
          baseline.cpuMsPerJob ?? 0,
        ),
      ],
      checks,
      sides: { baseline, countersign },
      notes: [
        'countersign includes the dispatcher stage (N envelopes fanned out to 3N consumer jobs); the bare worker drains 3N pre-made jobs',
      ],
    };
    await writeReport(report);
    return report;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const program = scenarioProgram('5-worker-fanout', 'worker fan-out vs a bare BullMQ worker')
    .option('--envelopes <n>', 'verified envelopes to fan out', Number, 10_000)
    .option('--baseline-concurrency <n>', 'concurrency of the bare worker', Number, 10)
    .option('--timeout-seconds <n>', 'give up after', Number, 300)
    .parse();
  const options = program.opts<WorkerFanoutOptions>();
  runMain(async () => {
    const report = await runWorkerFanout(options);
    return reportPasses(report) || !options.strict;
  });
}
