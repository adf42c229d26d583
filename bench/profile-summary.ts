/**
 * Summarises a V8 .cpuprofile (from `--cpu-prof`): the functions with the most self time, and the
 * functions whose call trees hold the most total time, each with file:line, so a hot path can be
 * named precisely. Usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top 25]
 * [--filter apps/]
 */
import { readFileSync } from 'node:fs';

import { Command } from 'commander';

import { isMain } from './lib/cli.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the profile. */
export interface HotFunction {
  readonly name: string;
  readonly location: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

function location(node: ProfileNode): string {
  const url = node.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/work\/main\//, '');
  return url === '' ? '(native)' : `${url}:${node.callFrame.lineNumber + 1}`;
}

/** Self and total time per function (merged over all call sites), longest first. */
export function summarizeProfile(profile: CpuProfile): HotFunction[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });

  const functions = new Map<
    string,
    { name: string; location: string; self: number; total: number }
  >();
  const keyOf = (node: ProfileNode): string =>
    `${node.callFrame.functionName || '(anonymous)'} ${location(node)}`;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const seen = new Set<string>();
    let current: ProfileNode | undefined = node;
    let isSelf = true;
    while (current !== undefined) {
      const key = keyOf(current);
      const entry = functions.get(key) ?? {
        name: current.callFrame.functionName || '(anonymous)',
        location: location(current),
        self: 0,
        total: 0,
      };
      if (isSelf) entry.self += ms;
      if (!seen.has(key)) entry.total += ms;
      seen.add(key);
      functions.set(key, entry);
      isSelf = false;
      const parentId = parent.get(current.id);
      current = parentId === undefined ? undefined : byId.get(parentId);
    }
  }
  return [...functions.values()].map((entry) => ({
    name: entry.name,
    location: entry.location,
    selfMs: Math.round(entry.self),
    totalMs: Math.round(entry.total),
  }));
}

/** Where the self time of `functionName` comes from: its nearest callers with a source location. */
export function callersOf(profile: CpuProfile, functionName: string, depth = 4): HotFunction[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    if (node === undefined || node.callFrame.functionName !== functionName) return;
    const chain: string[] = [];
    let current = parent.get(node.id);
    while (current !== undefined && chain.length < depth) {
      const frame = byId.get(current);
      if (frame === undefined) break;
      if (frame.callFrame.url !== '') {
        chain.push(`${frame.callFrame.functionName || '(anonymous)'} ${location(frame)}`);
      }
      current = parent.get(current);
    }
    const key = chain.join(' <- ');
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return [...totals.entries()]
    .map(([key, ms]) => ({ name: functionName, location: key, selfMs: Math.round(ms), totalMs: 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

if (isMain(import.meta.url)) {
  const program = new Command('profile-summary')
    .argument('<profile>', '.cpuprofile file')
    .option('--top <n>', 'rows per table', Number, 25)
    .option('--filter <text>', 'only functions whose location contains this text')
    .option('--callers <function>', 'show where the self time of this function comes from')
    .parse();
  const options = program.opts<{ top: number; filter?: string; callers?: string }>();
  const profile = JSON.parse(readFileSync(program.args[0] ?? '', 'utf8')) as CpuProfile;
  if (options.callers !== undefined) {
    for (const entry of callersOf(profile, options.callers).slice(0, options.top)) {
      process.stdout.write(`${String(entry.selfMs).padStart(7)} ms  ${entry.location}\n`);
    }
    process.exit(0);
  }
  const all = summarizeProfile(profile);
  const wall = profile.timeDeltas.reduce((sum, delta) => sum + delta, 0) / 1000;
  const rows = all.filter((entry) => !options.filter || entry.location.includes(options.filter));
  const print = (title: string, sorted: HotFunction[]): void => {
    process.stdout.write(`\n${title} (profile ${Math.round(wall)} ms)\n`);
    for (const entry of sorted.slice(0, options.top)) {
      process.stdout.write(
        `${String(entry.selfMs).padStart(7)} self ${String(entry.totalMs).padStart(7)} total  ` +
          `${entry.name}  ${entry.location}\n`,
      );
    }
  };
  print(
    'by self time',
    [...rows].sort((a, b) => b.selfMs - a.selfMs),
  );
  print(
    'by total time',
    [...rows].sort((a, b) => b.totalMs - a.totalMs),
  );
}
