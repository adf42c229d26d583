/**
 * Runs every scenario in order (or those named with --only), then prints one table of ratios and
 * writes bench/results/summary.json. Each scenario also writes its own JSON.
 */
import 'reflect-metadata';

import { writeFile } from 'node:fs/promises';

import { runListenerKeepAlive } from './1-listener-keepalive.js';
import { runTokenVerification } from './2-token-verification.js';
import { runNewConnections } from './3-new-connections.js';
import { runLargeDeliveries } from './4-large-deliveries.js';
import { runWorkerFanout } from './5-worker-fanout.js';
import { runAuthServer } from './6-auth-server.js';
import { isMain, runMain, scenarioProgram, type CommonOptions } from './lib/cli.js';
import { fromRoot } from './lib/paths.js';
import { progress, reportPasses, type ScenarioReport } from './lib/report.js';

const SCENARIOS: Record<string, (common: CommonOptions) => Promise<ScenarioReport>> = {
  '1': (common) => runListenerKeepAlive({ ...common, connections: 20, warmupSeconds: 3 }),
  '2': (common) =>
    runTokenVerification({
      ...common,
      seconds: Math.min(common.seconds, 3),
      concurrency: 4,
      rounds: 2,
    }),
  '3': (common) =>
    runNewConnections({ ...common, concurrency: 8, algorithms: ['ecdsa-p256', 'rsa-2048'] }),
  '4': (common) =>
    runLargeDeliveries({
      ...common,
      seconds: Math.min(common.seconds, 5),
      sizeMb: 25,
      count: 3,
      smallRate: 50,
    }),
  '5': (common) =>
    runWorkerFanout({ ...common, envelopes: 10_000, baselineConcurrency: 10, timeoutSeconds: 300 }),
  '6': (common) =>
    runAuthServer({
      ...common,
      seconds: Math.min(common.seconds, 5),
      mtlsConnections: 10,
      secretConnections: 4,
    }),
};

function summaryTable(reports: ScenarioReport[]): string {
  const rows = [['scenario', 'metric', 'ratio', 'target', 'result']];
  for (const report of reports) {
    for (const c of report.comparisons) {
      rows.push([
        report.scenario,
        c.metric,
        c.ratio.toFixed(2),
        c.target ?? '-',
        c.pass === undefined ? '-' : c.pass ? 'PASS' : 'MISS',
      ]);
    }
    for (const c of report.checks) {
      rows.push([
        report.scenario,
        c.metric,
        `${c.value.toFixed(2)} ${c.unit}`,
        c.target,
        c.pass ? 'PASS' : 'MISS',
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n');
}

/** Runs the chosen scenarios; a scenario that fails to run is reported and the rest still run. */
export async function runAll(common: CommonOptions, only: string[]): Promise<boolean> {
  const reports: ScenarioReport[] = [];
  const failures: string[] = [];
  for (const [id, run] of Object.entries(SCENARIOS)) {
    if (only.length > 0 && !only.includes(id)) continue;
    progress(`scenario ${id}`);
    try {
      reports.push(await run(common));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`scenario ${id}: ${message}`);
      progress(`scenario ${id} could not run: ${message}`);
    }
  }
  const table = summaryTable(reports);
  process.stdout.write(`\n== summary (countersign / baseline)\n${table}\n`);
  for (const failure of failures) process.stdout.write(`not run: ${failure}\n`);
  await writeFile(
    fromRoot('bench/results/summary.json'),
    `${JSON.stringify({ at: new Date().toISOString(), reports, failures }, null, 2)}\n`,
  );
  return failures.length === 0 && (reports.every(reportPasses) || !common.strict);
}

if (isMain(import.meta.url)) {
  const program = scenarioProgram('run-all', 'every benchmark scenario, with ratios')
    .option('--only <ids>', 'comma list of scenario numbers, e.g. 1,3', (v) => v.split(','), [])
    .parse();
  const options = program.opts<CommonOptions & { only: string[] }>();
  runMain(() => runAll(options, options.only));
}
