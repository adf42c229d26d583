import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { fromRoot } from './paths.js';

/** One number measured on both sides; `ratio` is countersign / baseline. */
export interface Comparison {
  readonly metric: string;
  readonly unit: string;
  readonly countersign: number;
  readonly baseline: number;
  readonly ratio: number;
  /** e.g. ">= 0.8" or "<= 1.5"; absent for numbers reported without a target. */
  readonly target?: string;
  readonly pass?: boolean;
}

/** A number with a target but no baseline (e.g. memory growth relative to body size). */
export interface Check {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string;
  readonly pass: boolean;
}

/** What a scenario writes to bench/results/<scenario>.json. */
export interface ScenarioReport {
  readonly scenario: string;
  readonly title: string;
  readonly command: string;
  readonly settings: Record<string, unknown>;
  readonly comparisons: Comparison[];
  readonly checks: Check[];
  readonly sides: Record<string, unknown>;
  readonly notes: string[];
}

/** A comparison with its ratio and, when a target is given, whether it is met. */
export function compare(
  metric: string,
  unit: string,
  countersign: number,
  baseline: number,
  target?: { atLeast?: number; atMost?: number },
): Comparison {
  const ratio = baseline === 0 ? 0 : countersign / baseline;
  if (target === undefined) return { metric, unit, countersign, baseline, ratio };
  const pass =
    (target.atLeast === undefined || ratio >= target.atLeast) &&
    (target.atMost === undefined || ratio <= target.atMost);
  const text = target.atLeast !== undefined ? `>= ${target.atLeast}` : `<= ${target.atMost}`;
  return { metric, unit, countersign, baseline, ratio, target: text, pass };
}

function format(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  '))
    .join('\n');
}

/** The comparisons and checks as a plain-text table. */
export function renderReport(report: ScenarioReport): string {
  const lines = [`\n== ${report.scenario}: ${report.title}`];
  if (report.comparisons.length > 0) {
    const rows = [['metric', 'countersign', 'baseline', 'ratio', 'target', 'result']];
    for (const c of report.comparisons) {
      rows.push([
        `${c.metric} (${c.unit})`,
        format(c.countersign),
        format(c.baseline),
        c.ratio.toFixed(2),
        c.target ?? '-',
        c.pass === undefined ? '-' : c.pass ? 'PASS' : 'MISS',
      ]);
    }
    lines.push(table(rows));
  }
  if (report.checks.length > 0) {
    const rows = [['check', 'value', 'target', 'result']];
    for (const c of report.checks) {
      rows.push([c.metric, `${format(c.value)} ${c.unit}`, c.target, c.pass ? 'PASS' : 'MISS']);
    }
    lines.push(table(rows));
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/** Writes the report as JSON under bench/results/ and prints its table; returns the file. */
export async function writeReport(report: ScenarioReport): Promise<string> {
  const dir = fromRoot('bench/results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${report.scenario}.json`);
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryBytes: totalmem(),
    node: process.version,
    at: new Date().toISOString(),
  };
  await writeFile(file, `${JSON.stringify({ ...report, machine }, null, 2)}\n`);
  process.stdout.write(`${renderReport(report)}\nresults: ${file}\n`);
  return file;
}

/** Whether every target in the report was met. */
export function reportPasses(report: ScenarioReport): boolean {
  return report.comparisons.every((c) => c.pass !== false) && report.checks.every((c) => c.pass);
}

/** One progress line on stderr, so stdout stays the result table. */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** A short text for one load run. */
export function describeLoad(result: {
  rate: number;
  ok: number;
  non2xx: number;
  errors: number;
  latency: { p50: number; p99: number; max: number };
}): string {
  return (
    `${Math.round(result.rate)}/s ok=${result.ok} non2xx=${result.non2xx} errors=${result.errors} ` +
    `p50=${result.latency.p50}ms p99=${result.latency.p99}ms max=${result.latency.max}ms`
  );
}
