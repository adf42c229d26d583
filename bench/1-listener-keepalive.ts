/**
 * Scenario 1: the listener's full chain over kept-alive connections (mTLS + bound token + HMAC +
 * durable enqueue, 2.6 KB JSON deliveries, 20 connections), against the bare node:https baseline.
 * Targets: throughput >= 0.8 of the baseline's; p99 at half the baseline's maximum rate <= 1.5
 * times the baseline's p99 at that same rate.
 */
import { profileArgs, isMain, runMain, scenarioProgram, type CommonOptions } from './lib/cli.js';
import {
  cleanupListenerBench,
  countDeliveries,
  prepareListenerBench,
  proveChecks,
  startBaseline,
  startCountersign,
  type ListenerBench,
  type RunningSide,
} from './lib/listener-sides.js';
import { runFixedRate, runKeptAlive, type LoadResult } from './lib/load.js';
import {
  compare,
  describeLoad,
  progress,
  reportPasses,
  writeReport,
  type ScenarioReport,
} from './lib/report.js';
import { deleteBenchKeys } from './lib/redis-keys.js';

export interface KeepAliveOptions extends CommonOptions {
  readonly connections: number;
  readonly warmupSeconds: number;
}

interface SideMeasurement {
  readonly max: LoadResult;
  /** Server CPU milliseconds per accepted delivery during the max-rate run. */
  readonly cpuMsPerDelivery: number;
  readonly halfRate: LoadResult;
  readonly enqueued: number;
}

async function measure(
  bench: ListenerBench,
  side: RunningSide,
  options: KeepAliveOptions,
  halfRate: (ownMax: LoadResult) => number,
): Promise<SideMeasurement> {
  await proveChecks(bench, side);
  const load = { url: side.url, tls: bench.clientTls, makeRequest: () => bench.request() };
  await runKeptAlive({ ...load, connections: options.connections, seconds: options.warmupSeconds });

  const cpuBefore = side.process.cpuSeconds();
  const max = await runKeptAlive({
    ...load,
    connections: options.connections,
    seconds: options.seconds,
  });
  const cpuMsPerDelivery = ((side.process.cpuSeconds() - cpuBefore) * 1000) / Math.max(max.ok, 1);
  progress(
    `${side.name} max rate: ${describeLoad(max)} cpu=${cpuMsPerDelivery.toFixed(3)}ms/delivery`,
  );
  const enqueued = await countDeliveries(bench, side);
  // keep Redis small between runs: tens of thousands of 2.6 KB envelopes per second add up
  await deleteBenchKeys(bench.redisUrl, side.root);

  const half = await runFixedRate({
    ...load,
    connections: options.connections,
    seconds: options.seconds,
    overallRate: Math.max(1, Math.round(halfRate(max))),
  });
  progress(`${side.name} half rate: ${describeLoad(half)}`);
  await deleteBenchKeys(bench.redisUrl, side.root);
  return { max, cpuMsPerDelivery, halfRate: half, enqueued };
}

/** Runs scenario 1 and writes bench/results/1-listener-keepalive.json. */
export async function runListenerKeepAlive(options: KeepAliveOptions): Promise<ScenarioReport> {
  const bench = await prepareListenerBench({ algorithm: 'ecdsa-p256', redisUrl: options.redisUrl });
  const notes: string[] = [];
  try {
    const baselineSide = await startBaseline(bench, {
      nodeArgs: profileArgs(options.cpuProf, '1-baseline'),
    });
    let baseline: SideMeasurement;
    try {
      baseline = await measure(bench, baselineSide, options, (ownMax) => ownMax.rate / 2);
    } finally {
      await baselineSide.process.stop();
    }
    const halfRate = baseline.max.rate / 2;

    const countersignSide = await startCountersign(bench, {
      nodeArgs: profileArgs(options.cpuProf, '1-countersign'),
    });
    let countersign: SideMeasurement;
    try {
      countersign = await measure(bench, countersignSide, options, () => halfRate);
    } finally {
      await countersignSide.process.stop();
    }

    for (const [name, side] of [
      ['baseline', baseline],
      ['countersign', countersign],
    ] as const) {
      if (side.max.non2xx > 0 || side.max.errors > 0) {
        notes.push(
          `${name}: ${side.max.non2xx} non-2xx and ${side.max.errors} errors at max rate ` +
            `(${JSON.stringify(side.max.statusCodes)})`,
        );
      }
      if (side.enqueued < side.max.ok) {
        notes.push(`${name}: only ${side.enqueued} jobs in Redis for ${side.max.ok} 2xx answers`);
      }
    }

    const report: ScenarioReport = {
      scenario: '1-listener-keepalive',
      title: 'listener full chain, kept-alive connections',
      command: `node dist/bench/1-listener-keepalive.js --seconds ${options.seconds} --connections ${options.connections}`,
      settings: {
        connections: options.connections,
        seconds: options.seconds,
        bodyBytes: bench.request().body.length,
        certificates: 'ecdsa-p256',
        halfRate: Math.round(halfRate),
      },
      comparisons: [
        compare('deliveries per second', '/s', countersign.max.rate, baseline.max.rate, {
          atLeast: 0.8,
        }),
        compare(
          'p99 latency at half the baseline max rate',
          'ms',
          countersign.halfRate.latency.p99,
          baseline.halfRate.latency.p99,
          { atMost: 1.5 },
        ),
        compare(
          'server CPU per delivery',
          'ms',
          countersign.cpuMsPerDelivery,
          baseline.cpuMsPerDelivery,
          { atMost: 1.25 },
        ),
        compare(
          'p99 latency at max rate',
          'ms',
          countersign.max.latency.p99,
          baseline.max.latency.p99,
        ),
      ],
      checks: [],
      sides: {
        baseline,
        countersign,
      },
      notes,
    };
    await writeReport(report);
    return report;
  } finally {
    await cleanupListenerBench(bench);
  }
}

if (isMain(import.meta.url)) {
  const program = scenarioProgram('1-listener-keepalive', 'listener vs bare server, kept-alive')
    .option('--connections <n>', 'concurrent connections', Number, 20)
    .option('--warmup-seconds <n>', 'warm-up before each side is measured', Number, 3)
    .parse();
  const options = program.opts<KeepAliveOptions>();
  runMain(async () => {
    const report = await runListenerKeepAlive(options);
    return reportPasses(report) || !options.strict;
  });
}
