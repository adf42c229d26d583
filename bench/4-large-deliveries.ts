/**
 * Scenario 4: large deliveries (25 MB JSON with documents) while small deliveries keep coming.
 * Targets: each large delivery accepted (stored in the payload store, enqueued by reference), the
 * listener's memory growth under three times the body size, and no event-loop stall over 100 ms:
 * no small delivery sent during the large ones waits more than 100 ms for its answer.
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

import { isMain, profileArgs, runMain, scenarioProgram, type CommonOptions } from './lib/cli.js';
import { largeDelivery } from './lib/deliveries.js';
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
import { runFixedRate, sendOnce, type LoadResult } from './lib/load.js';
import {
  compare,
  describeLoad,
  progress,
  reportPasses,
  writeReport,
  type Check,
  type ScenarioReport,
} from './lib/report.js';

export interface LargeDeliveriesOptions extends CommonOptions {
  readonly sizeMb: number;
  readonly count: number;
  readonly smallRate: number;
}

interface LargeMeasurement {
  readonly accepted: number;
  readonly largeMs: number[];
  readonly rssBeforeBytes: number;
  readonly rssPeakBytes: number;
  readonly growthBytes: number;
  readonly small: LoadResult;
  readonly storedFiles: number;
  readonly enqueued: number;
}

async function measureSide(
  bench: ListenerBench,
  side: RunningSide,
  options: LargeDeliveriesOptions,
): Promise<LargeMeasurement> {
  await proveChecks(bench, side);
  const tls = {
    cert: readFileSync(bench.pki.clientCertFile),
    key: readFileSync(bench.pki.clientKeyFile),
    ca: readFileSync(bench.pki.caFile),
  };
  const large = Array.from({ length: options.count }, () =>
    largeDelivery(bench.hmacKey, options.sizeMb * 1024 * 1024),
  );
  // warm up the small path, then let the heap settle before the reference reading
  await runFixedRate({
    url: side.url,
    tls: bench.clientTls,
    connections: 4,
    seconds: 2,
    overallRate: options.smallRate,
    makeRequest: () => bench.request(),
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssBefore = side.process.rssBytes();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, side.process.rssBytes());
  }, 10);

  const largeMs: number[] = [];
  let accepted = 0;
  const sendLarge = async (): Promise<void> => {
    for (const delivery of large) {
      const answer = await sendOnce(side.url, tls, {
        headers: {
          'content-type': 'application/json; charset=utf-8',
          authorization: `Bearer ${bench.token}`,
          'x-docusign-signature-1': delivery.signature,
        },
        body: delivery.body,
      });
      largeMs.push(Math.round(answer.ms));
      if (answer.status === 200) accepted += 1;
      else progress(`${side.name}: large delivery answered ${answer.status} ${answer.body}`);
    }
  };
  const [small] = await Promise.all([
    runFixedRate({
      url: side.url,
      tls: bench.clientTls,
      connections: 4,
      seconds: Math.max(options.seconds, 3),
      overallRate: options.smallRate,
      makeRequest: () => bench.request(),
    }),
    sendLarge(),
  ]);
  clearInterval(sampler);

  const storedFiles = (await readdir(side.payloadDir)).filter((name) => name.endsWith('.bin'));
  const measurement = {
    accepted,
    largeMs,
    rssBeforeBytes: rssBefore,
    rssPeakBytes: rssPeak,
    growthBytes: rssPeak - rssBefore,
    small,
    storedFiles: storedFiles.length,
    enqueued: await countDeliveries(bench, side),
  };
  progress(
    `${side.name}: ${accepted}/${options.count} large accepted in ${largeMs.join(', ')} ms, ` +
      `RSS +${Math.round(measurement.growthBytes / 1048576)} MiB; small: ${describeLoad(small)}`,
  );
  return measurement;
}

/** Runs scenario 4 and writes bench/results/4-large-deliveries.json. */
export async function runLargeDeliveries(options: LargeDeliveriesOptions): Promise<ScenarioReport> {
  const bench = await prepareListenerBench({ algorithm: 'ecdsa-p256', redisUrl: options.redisUrl });
  try {
    const measure = async (start: () => Promise<RunningSide>): Promise<LargeMeasurement> => {
      const side = await start();
      try {
        return await measureSide(bench, side, options);
      } finally {
        await side.process.stop();
      }
    };
    const baseline = await measure(() =>
      startBaseline(bench, { nodeArgs: profileArgs(options.cpuProf, '4-baseline') }),
    );
    const countersign = await measure(() =>
      startCountersign(bench, { nodeArgs: profileArgs(options.cpuProf, '4-countersign') }),
    );

    const bodyBytes = options.sizeMb * 1024 * 1024;
    const checks: Check[] = [
      {
        metric: 'large deliveries accepted',
        value: countersign.accepted,
        unit: `of ${options.count}`,
        target: `= ${options.count}`,
        pass: countersign.accepted === options.count && countersign.storedFiles >= options.count,
      },
      {
        metric: 'listener RSS growth / body size',
        value: countersign.growthBytes / bodyBytes,
        unit: 'x',
        target: '< 3',
        pass: countersign.growthBytes < 3 * bodyBytes,
      },
      {
        metric: 'slowest small delivery during large ones',
        value: countersign.small.latency.max,
        unit: 'ms',
        target: '<= 100',
        pass: countersign.small.latency.max <= 100 && countersign.small.non2xx === 0,
      },
    ];
    const report: ScenarioReport = {
      scenario: '4-large-deliveries',
      title: `${options.sizeMb} MB deliveries with concurrent small ones`,
      command: `node dist/bench/4-large-deliveries.js --size-mb ${options.sizeMb} --count ${options.count} --small-rate ${options.smallRate}`,
      settings: {
        sizeMb: options.sizeMb,
        count: options.count,
        smallRate: options.smallRate,
        smallConnections: 4,
      },
      comparisons: [
        compare(
          'RSS growth',
          'MiB',
          countersign.growthBytes / 1048576,
          baseline.growthBytes / 1048576,
        ),
        compare(
          'slowest small delivery',
          'ms',
          countersign.small.latency.max,
          baseline.small.latency.max,
        ),
        compare(
          'mean large delivery time',
          'ms',
          mean(countersign.largeMs),
          mean(baseline.largeMs),
        ),
      ],
      checks,
      sides: { baseline, countersign },
      notes: [
        'small-delivery latency counts from when each request was due (open-loop), so it includes any stall of the listener event loop',
      ],
    };
    await writeReport(report);
    return report;
  } finally {
    await cleanupListenerBench(bench);
  }
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

if (isMain(import.meta.url)) {
  const program = scenarioProgram('4-large-deliveries', 'large deliveries and memory', 5)
    .option('--size-mb <n>', 'size of each large delivery in MiB', Number, 25)
    .option('--count <n>', 'large deliveries per side', Number, 3)
    .option('--small-rate <n>', 'small deliveries per second meanwhile', Number, 50)
    .parse();
  const options = program.opts<LargeDeliveriesOptions>();
  runMain(async () => {
    const report = await runLargeDeliveries(options);
    return reportPasses(report) || !options.strict;
  });
}
