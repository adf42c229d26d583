/**
 * Scenario 3: every delivery on a fresh mTLS connection (a sender that does not keep connections
 * alive), with ECDSA P-256 and with RSA-2048 certificates on both sides. Target: the listener at
 * least 0.8 of the bare server's rate; the faster algorithm is the dev PKI's better default.
 */
import type { KeyAlgorithm } from './lib/bench-pki.js';
import { isMain, profileArgs, runMain, scenarioProgram, type CommonOptions } from './lib/cli.js';
import {
  cleanupListenerBench,
  prepareListenerBench,
  proveChecks,
  startBaseline,
  startCountersign,
  type ListenerBench,
  type RunningSide,
} from './lib/listener-sides.js';
import { runFreshConnections, type LoadResult } from './lib/load.js';
import {
  compare,
  describeLoad,
  progress,
  reportPasses,
  writeReport,
  type Comparison,
  type ScenarioReport,
} from './lib/report.js';
import { deleteBenchKeys } from './lib/redis-keys.js';

export interface NewConnectionsOptions extends CommonOptions {
  readonly concurrency: number;
  readonly algorithms: KeyAlgorithm[];
}

async function measureSide(
  bench: ListenerBench,
  start: () => Promise<RunningSide>,
  options: NewConnectionsOptions,
): Promise<LoadResult & { cpuMsPerDelivery: number }> {
  const side = await start();
  try {
    await proveChecks(bench, side);
    const load = {
      url: side.url,
      tls: bench.clientTls,
      connections: options.concurrency,
      makeRequest: () => bench.request(),
    };
    await runFreshConnections({ ...load, seconds: 1 });
    const cpuBefore = side.process.cpuSeconds();
    const result = await runFreshConnections({ ...load, seconds: options.seconds });
    const cpuMsPerDelivery =
      ((side.process.cpuSeconds() - cpuBefore) * 1000) / Math.max(result.ok, 1);
    progress(
      `${side.name} ${bench.pki.algorithm} fresh connections: ${describeLoad(result)} ` +
        `cpu=${cpuMsPerDelivery.toFixed(3)}ms/delivery`,
    );
    await deleteBenchKeys(bench.redisUrl, side.root);
    return { ...result, cpuMsPerDelivery };
  } finally {
    await side.process.stop();
  }
}

/** Runs scenario 3 and writes bench/results/3-new-connections.json. */
export async function runNewConnections(options: NewConnectionsOptions): Promise<ScenarioReport> {
  const comparisons: Comparison[] = [];
  const sides: Record<string, unknown> = {};
  const rates: Partial<Record<KeyAlgorithm, number>> = {};
  const cpu: Partial<Record<KeyAlgorithm, number>> = {};
  for (const algorithm of options.algorithms) {
    const bench = await prepareListenerBench({ algorithm, redisUrl: options.redisUrl });
    try {
      const baseline = await measureSide(
        bench,
        () =>
          startBaseline(bench, {
            nodeArgs: profileArgs(options.cpuProf, `3-baseline-${algorithm}`),
          }),
        options,
      );
      const countersign = await measureSide(
        bench,
        () =>
          startCountersign(bench, {
            nodeArgs: profileArgs(options.cpuProf, `3-countersign-${algorithm}`),
          }),
        options,
      );
      comparisons.push(
        compare(`${algorithm} deliveries per second`, '/s', countersign.rate, baseline.rate, {
          atLeast: 0.8,
        }),
        compare(
          `${algorithm} server CPU per delivery`,
          'ms',
          countersign.cpuMsPerDelivery,
          baseline.cpuMsPerDelivery,
          { atMost: 1.25 },
        ),
        compare(`${algorithm} p99 latency`, 'ms', countersign.latency.p99, baseline.latency.p99),
      );
      sides[algorithm] = { baseline, countersign };
      rates[algorithm] = countersign.rate;
      cpu[algorithm] = countersign.cpuMsPerDelivery;
    } finally {
      await cleanupListenerBench(bench);
    }
  }

  const notes: string[] = [];
  if (rates['ecdsa-p256'] !== undefined && rates['rsa-2048'] !== undefined) {
    const faster = rates['ecdsa-p256'] >= rates['rsa-2048'] ? 'ecdsa-p256' : 'rsa-2048';
    const factor =
      Math.max(rates['ecdsa-p256'], rates['rsa-2048']) /
      Math.min(rates['ecdsa-p256'], rates['rsa-2048']);
    notes.push(
      `new connections per second: ${faster} is ${factor.toFixed(2)}x the other on the listener`,
    );
  }
  if (cpu['ecdsa-p256'] !== undefined && cpu['rsa-2048'] !== undefined) {
    const cheaper = cpu['ecdsa-p256'] <= cpu['rsa-2048'] ? 'ecdsa-p256' : 'rsa-2048';
    notes.push(
      `listener CPU per new-connection delivery: ecdsa-p256 ${cpu['ecdsa-p256'].toFixed(2)} ms, ` +
        `rsa-2048 ${cpu['rsa-2048'].toFixed(2)} ms; by server cost the dev PKI default should be ${cheaper}`,
    );
  }
  const report: ScenarioReport = {
    scenario: '3-new-connections',
    title: 'a fresh mTLS connection per delivery',
    command: `node dist/bench/3-new-connections.js --seconds ${options.seconds} --concurrency ${options.concurrency}`,
    settings: {
      seconds: options.seconds,
      concurrency: options.concurrency,
      algorithms: options.algorithms,
      sessionResumption: false,
    },
    comparisons,
    checks: [],
    sides,
    notes,
  };
  await writeReport(report);
  return report;
}

function algorithms(value: string): KeyAlgorithm[] {
  const list = value.split(',').map((item) => item.trim());
  for (const item of list) {
    if (item !== 'ecdsa-p256' && item !== 'rsa-2048') {
      throw new Error(`unknown algorithm ${item} (ecdsa-p256, rsa-2048)`);
    }
  }
  return list as KeyAlgorithm[];
}

if (isMain(import.meta.url)) {
  const program = scenarioProgram('3-new-connections', 'fresh mTLS connection per delivery')
    .option('--concurrency <n>', 'connections being opened at once', Number, 8)
    .option('--algorithms <list>', 'certificate key types', algorithms, [
      'ecdsa-p256',
      'rsa-2048',
    ] as KeyAlgorithm[])
    .parse();
  const options = program.opts<NewConnectionsOptions>();
  runMain(async () => {
    const report = await runNewConnections(options);
    return reportPasses(report) || !options.strict;
  });
}
